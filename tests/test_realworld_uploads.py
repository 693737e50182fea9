"""What people pick by mistake: a video among POST /predict's frames, a pipe (tests/test_realworld.py: the rest)."""

import io
import os
import subprocess
import sys

import pytest
from PIL import Image
from torture import encode, scene

from actcap.data.video import VideoError, open_clip


def test_a_video_sent_as_a_frame_says_to_send_it_as_video(tmp_path, client):
    still = io.BytesIO()
    Image.fromarray(scene(1, 48, 64)[0]).save(still, "PNG")
    mp4 = encode(tmp_path / "clip.mp4", scene(4, 48, 64), "libx264").read_bytes()
    webm = encode(tmp_path / "clip.webm", scene(4, 48, 64), "libvpx", container="webm").read_bytes()
    avi = encode(tmp_path / "clip.avi", scene(4, 48, 64), "mjpeg", pix_fmt="yuvj420p").read_bytes()
    r = client.post("/predict", files=[("frames[]", ("a.png", still.getvalue())), ("frames[]", ("b.mp4", mp4)),
                                       ("frames[]", ("c.webm", webm)), ("frames[]", ("d.avi", avi))])
    assert (r.status_code, r.json()) == (422, {"detail": (
        "3 of 4 files could not be used: b.mp4: is an MP4 video, not an image; send it alone in field 'video'; "
        "c.webm: is a WebM video, not an image; send it alone in field 'video'; d.avi: is an AVI video, not an "
        "image; send it alone in field 'video'")})


def test_a_named_pipe_is_refused_not_waited_on(tmp_path):
    """A file of no video name is read by its content only when it is a regular file: a pipe would block."""
    fifo = tmp_path / "camera_feed"
    os.mkfifo(fifo)
    code = f"from actcap.data.video import open_clip\ntry:\n    open_clip({str(fifo)!r})\nexcept Exception as e:\n" \
           f"    print(e.reason)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.stdout.startswith("not a video file or frame folder; expected a folder of images or a file ending in ")


MISSING_INDEX = ("is an MP4 whose index ('moov' box) is missing or cut short: a recording or a copy that did not "
                 "finish, as when a phone or camera stops mid-recording; its frames can't be found without the index "
                 "(a repair tool such as untrunc, given an intact file from the same camera, can rebuild it)")


@pytest.fixture(scope="module")
def intact_mp4(tmp_path_factory):
    return encode(tmp_path_factory.mktemp("mp4") / "intact.mp4", scene(16, 48, 64), "libx264").read_bytes()


@pytest.mark.parametrize("kept", [0.0, 0.02, 0.15, 0.35, 0.5, 0.65])
def test_an_mp4_cut_inside_its_index_is_refused_naming_the_cause(kept, intact_mp4, tmp_path, client):
    """A copy stopped inside the 'moov' box at the end. It read as 'has no video stream (no streams)', '(only
    data)', 'decoded 0 frames', 'OpenCV could not open the file' or an AttributeError (an 'actcap bug?' line),
    depending on where the cut fell."""
    moov = intact_mp4.rindex(b"moov") - 4
    path = tmp_path / "copy.mp4"
    path.write_bytes(intact_mp4[: moov + int(kept * (len(intact_mp4) - moov))])
    with pytest.raises(VideoError) as e:
        open_clip(path)
    assert e.value.reason == MISSING_INDEX
    r = client.post("/predict", files={"video": ("copy.mp4", path.read_bytes())})
    assert (r.status_code, r.json()) == (422, {"detail": f"copy.mp4: {MISSING_INDEX}"})


def test_the_cli_says_it_in_one_line_without_opencvs_own_log(intact_mp4, tmp_path, tiny_model_dir):
    """The real console in a fresh process: OpenCV printed two '[ERROR:0@…] … Failed to initialize VideoCapture'
    lines of its own before actcap's error (the cut that left a stream without a codec)."""
    moov = intact_mp4.rindex(b"moov") - 4
    path = tmp_path / "copy.mp4"
    path.write_bytes(intact_mp4[: moov + int(0.35 * (len(intact_mp4) - moov))])
    run = subprocess.run([sys.executable, "-m", "actcap", "predict", str(path), "--model", str(tiny_model_dir)],
                         capture_output=True, text=True, timeout=300)
    assert (run.returncode, run.stdout, run.stderr) == (2, "", f"error: {path}: {MISSING_INDEX}\n")
