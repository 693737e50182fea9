"""What people pick by mistake: a video among POST /predict's frames, a pipe (tests/test_realworld.py: the rest)."""

import io
import os
import subprocess
import sys

from PIL import Image
from torture import encode, scene


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
