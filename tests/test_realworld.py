"""Real-world inputs the earlier rounds missed: phone photos in a folder, other containers, animated images."""

import io
import json
import os
import sys
from fractions import Fraction
from pathlib import Path
from typing import Callable

import av
import numpy as np
import pytest
from PIL import Image
from torture import encode, scene

from actcap.cli import main
from actcap.data.video import ImageListClip, VideoError, decode_image_bytes, open_clip


def _photo(frame: np.ndarray, orientation: int, fmt: str = "PNG") -> bytes:
    """`frame` stored as a phone stores an upright shot: pixels turned, an EXIF orientation saying how to undo it."""
    turns = {1: 0, 3: 2, 6: 1, 8: 3}[orientation]  # the stored image, turned back by the orientation, is `frame`
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(np.rot90(frame, turns))).save(buf, fmt, exif=exif)
    return buf.getvalue()


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_exif_rotated_photos_in_a_folder_are_upright_like_uploads(tmp_path, make_frames, orientation):
    frames = make_frames(3, 40, 30, seed=orientation)  # portrait, as shot
    folder = tmp_path / "phone"
    folder.mkdir()
    for i, f in enumerate(frames):
        (folder / f"IMG_{i}.png").write_bytes(_photo(f, orientation))
    clip = open_clip(folder)
    assert clip.frame_size() == (30, 40)
    np.testing.assert_array_equal(clip.read_all(), frames)
    data = (folder / "IMG_0.png").read_bytes()
    np.testing.assert_array_equal(ImageListClip([folder / "IMG_0.png"]).read([0])[0],
                                  decode_image_bytes(data, "IMG_0.png", max_pixels=10_000))


# --- containers by other names, animated images: the reader, `actcap predict` and POST /predict agree ----------

def _animated(fmt: str, delay: int = 60, t: int = 12, **save) -> Callable[[Path], Path]:
    def build(p: Path) -> Path:
        ims = [Image.fromarray(f) for f in scene(t, 48, 64)]
        ims[0].save(p, fmt, save_all=True, append_images=ims[1:], duration=delay, loop=0, **save)
        return p
    return build


def _video(codec: str, container: str, **kw) -> Callable[[Path], Path]:
    return lambda p: encode(p, scene(12, 48, 64), codec, container=container, **kw)


OTHER_NAMES = [  # (file name, how to write it, frames, fps)
    ("phone.m4v", _video("libx264", "mp4"), 12, 15.0),
    ("old_phone.3gp", _video("libx264", "3gp"), 12, 15.0),
    ("camcorder.MTS", _video("libx264", "mpegts"), 12, 15.0),
    ("broadcast.ts", _video("mpeg2video", "mpegts"), 12, 15.0),
    ("dvd.mpeg", _video("mpeg2video", "mpeg", fps=25), 12, 25.0),
    ("web.flv", _video("flv", "flv"), 12, 15.0),
    ("office.wmv", _video("wmv2", "asf"), 12, 15.0),
    ("dvr_export.dav", _video("libx264", "mpegts"), 12, 15.0),  # a recorder's own extension: read by content
    ("meme.gif", _animated("GIF"), 12, 1000 / 60),
    ("sticker.webp", _animated("WEBP", lossless=True), 12, 1000 / 60),
    ("apng.png", _animated("PNG"), 12, 1000 / 60),
    ("fast.gif", _animated("GIF", delay=0), 12, 10.0),  # no delay: shown at 10 frames/s, as browsers do
]


@pytest.fixture(scope="module")
def other_names(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("other_names")
    return {name: build(root / name) for name, build, _, _ in OTHER_NAMES}


@pytest.mark.parametrize("name, frames, fps", [(n, t, f) for n, _, t, f in OTHER_NAMES], ids=lambda x: str(x))
def test_reader_cli_and_service_take_other_containers_and_animated_images(name, frames, fps, other_names,
                                                                          tiny_model_dir, client, capsys):
    path = other_names[name]
    clip = open_clip(path)
    assert len(clip) == frames and clip.fps == pytest.approx(fps, rel=1e-3)
    every = clip.read_all()
    assert every.shape == (frames, 48, 64, 3)
    np.testing.assert_array_equal(clip.read([11, 0, 6]), every[[11, 0, 6]])  # random access: the same frames
    np.testing.assert_array_equal(np.stack(list(clip.iter_frames())), every)  # and the timeline's reader
    assert main(["predict", str(path), "--model", str(tiny_model_dir)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert (answer["frames_received"], answer["warnings"]) == (frames, [])
    r = client.post("/predict", files={"video": (name, path.read_bytes())})
    assert r.status_code == 200, r.text
    assert r.json()["frames_received"] == frames
    assert r.json()["prediction"] == answer["prediction"]


@pytest.mark.parametrize("name", ["sticker.webp", "apng.png"])
def test_lossless_animated_images_read_their_exact_frames(name, other_names):
    np.testing.assert_array_equal(open_clip(other_names[name]).read([11, 0, 5]), scene(12, 48, 64)[[11, 0, 5]])


@pytest.mark.parametrize("name", ["meme.gif", "sticker.webp", "apng.png"])
def test_one_animated_image_sent_as_frames_is_a_clip(name, other_names, client):
    r = client.post("/predict", files=[("frames[]", (name, other_names[name].read_bytes()))])
    assert r.status_code == 200, r.text
    assert (r.json()["frames_received"], r.json()["warnings"]) == (12, [])


def test_an_animated_image_among_frames_is_named_in_a_warning(other_names, client):
    still = io.BytesIO()
    Image.fromarray(scene(1, 48, 64)[0]).save(still, "PNG")
    r = client.post("/predict", files=[("frames[]", ("a.png", still.getvalue())),
                                       ("frames[]", ("b.gif", other_names["meme.gif"].read_bytes()))])
    assert r.status_code == 200, r.text
    assert r.json()["warnings"] == [
        "b.gif is animated (12 frames) and only its first frame was used; send it alone, or in field 'video', "
        "to use all its frames", "2 frames given; 8 expected; frames were repeated"]


def test_animated_image_over_the_pixel_limit_is_refused_before_decoding(other_names, make_client):
    client = make_client(max_pixels=1000)
    r = client.post("/predict", files={"video": ("meme.gif", other_names["meme.gif"].read_bytes())})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("meme.gif: video frames are 64x48 = 3072 pixels; the limit is 1000 (")


# --- refusals that say what the file is and what to do ----------------------------------------------------------

def _audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        for i in range(8):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, i * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_audio_only_file_is_refused_as_having_no_video_stream(tmp_path, tiny_model_dir, client, capsys):
    path = _audio_only(tmp_path / "voice memo.m4a.mp4")
    assert main(["predict", str(path), "--model", str(tiny_model_dir)]) == 2
    assert capsys.readouterr().err == f"error: {path}: has no video stream (only audio); expected a video\n"
    r = client.post("/predict", files={"video": (path.name, path.read_bytes())})
    assert (r.status_code, r.json()) == (422, {"detail": f"{path.name}: has no video stream (only audio); "
                                                         "expected a video"})


def test_text_with_an_unknown_extension_is_refused_naming_the_video_files_accepted(tmp_path):
    (tmp_path / "notes.txt").write_text("not a video\n" * 40)
    with pytest.raises(VideoError) as e:
        open_clip(tmp_path / "notes.txt")
    assert e.value.reason == ("not a video file or frame folder; expected a folder of images or a file ending in .avi, "
                              ".mp4, .mkv, .webm, .mov, .m4v, .3gp, .mpg, .mpeg, .ts, .mts, .m2ts, .flv, .wmv, .ogv, "
                              ".gif")


def test_folder_of_videos_says_to_pass_one_of_them(tmp_path, other_names):
    folder = tmp_path / "holiday"
    folder.mkdir()
    for name in ("clip10.mp4", "clip2.MOV", "clip1.avi", "clip3.mkv"):
        (folder / name).write_bytes(b"x")
    with pytest.raises(VideoError) as e:
        open_clip(folder)
    assert e.value.reason == ("no image files (.jpg, .jpeg, .png, .bmp, .webp, .tif, .tiff, .gif) in folder; it holds "
                              "4 video files (clip1.avi, clip2.MOV, clip3.mkv, …): pass one of them")


def test_tiff_frames_are_a_frame_folder(tmp_path, make_frames):
    frames = make_frames(3, 24, 32)
    folder = tmp_path / "microscope"
    folder.mkdir()
    for i, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"t{i}.TIF")
    np.testing.assert_array_equal(open_clip(folder).read_all(), frames)


def test_one_still_image_is_named_in_the_warning_not_its_folder(tmp_path, tiny_model_dir, capsys):
    path = tmp_path / "photos" / "still.jpg"
    path.parent.mkdir()
    Image.fromarray(scene(1, 48, 64)[0]).save(path)
    assert main(["predict", str(path), "--model", str(tiny_model_dir)]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == [f"1 frame in {path}; 8 expected; frames were repeated"]


# --- file names that are not UTF-8 (an old camera's card, a Windows archive's Latin-1 names) --------------------

def _latin1_name(folder: Path, data: bytes) -> Path:
    path = Path(os.fsdecode(bytes(folder) + b"/caf\xe9 clip.mp4"))  # 'café' in Latin-1: \xe9 is no UTF-8
    try:
        path.write_bytes(data)
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system only takes UTF-8 names")
    return path


def test_a_video_whose_name_is_not_utf8_is_read_not_a_crash(tmp_path, tiny_model_dir, monkeypatch):
    good = encode(tmp_path / "good.mp4", scene(3, 48, 64), "libx264")
    path = _latin1_name(tmp_path, good.read_bytes())
    np.testing.assert_array_equal(open_clip(path).read_all(), open_clip(good).read_all())
    out = io.BytesIO()  # a UTF-8 terminal that refuses what is not UTF-8 (LANG=en_US.UTF-8)
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out, encoding="utf-8", errors="strict"))
    assert main(["predict", str(path), "--model", str(tiny_model_dir)]) == 0  # was: SIGSEGV inside OpenCV
    sys.stdout.flush()
    answer = json.loads(out.getvalue())  # printed with JSON's \u escapes, read back as the same name
    assert answer["warnings"] == [f"3 frames in {path}; 8 expected; frames were repeated"]


# --- a browser's recording: no frame rate stated, a 1/1000 s clock --------------------------------------------

RECORDED_MS = [0, *np.cumsum(np.random.default_rng(0).integers(28, 40, size=89)).tolist()]  # ~30 fps, jittery


def mediarecorder_webm(path: Path) -> Path:
    """A WebM as Chrome's MediaRecorder writes it: millisecond timestamps that jitter (RECORDED_MS) and no
    DefaultDuration element, so FFmpeg and OpenCV report the clock (1000 fps) as the frame rate."""
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libvpx")
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for ms, rgb in zip(RECORDED_MS, scene(len(RECORDED_MS), 48, 64)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = ms, Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = bytearray(path.read_bytes())
    at = data.index(b"\x23\xe3\x83")  # DefaultDuration: 3-byte ID, 1-byte size, value
    size = 4 + (data[at + 3] & 0x7F)
    data[at:at + size] = bytes([0xEC, 0x80 | (size - 2)]) + bytes(size - 2)  # the same bytes as a Void element
    path.write_bytes(bytes(data))
    return path


def test_a_browser_recording_runs_at_its_frames_rate_not_its_clock(tmp_path, tiny_model_dir, capsys):
    path = mediarecorder_webm(tmp_path / "recording.webm")
    clip = open_clip(path)
    fps = 89 / (RECORDED_MS[-1] / 1000)  # 89 intervals in 3.006 s: 29.61 frames/s
    assert len(clip) == 90 and clip.fps == pytest.approx(fps)  # was 1000.0
    assert main(["predict", "--timeline", str(path), "--model", str(tiny_model_dir)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["segments"][-1]["end"] == pytest.approx(90 / fps, abs=0.01)  # 3.04 s; was 0.09 s


# --- iPhone photos (HEIC): Pillow can't decode them; say so and how to convert ------------------------------------

HEIC = bytes.fromhex("00000018") + b"ftypheic" + b"\0\0\0\0mif1heic" + bytes(200)  # a HEIF file's first box
HEIC_REASON = ("is a HEIC photo (an iPhone's default format), which actcap can't decode; convert it to JPEG or PNG "
               "(on an iPhone: Settings > Camera > Formats > Most Compatible)")


def test_heic_photos_are_named_as_such_by_the_service_and_the_cli(tmp_path, client):
    r = client.post("/predict", files=[("frames[]", ("IMG_0001.HEIC", HEIC))])
    assert (r.status_code, r.json()) == (422, {"detail": "1 of 1 file could not be used: IMG_0001.HEIC: "
                                                         f"{HEIC_REASON}"})
    (tmp_path / "IMG_0001.HEIC").write_bytes(HEIC)
    with pytest.raises(VideoError) as e:
        open_clip(tmp_path / "IMG_0001.HEIC")
    assert e.value.reason == HEIC_REASON
    for i in (2, 3, 10, 11):
        (tmp_path / f"IMG_{i:04d}.heic").write_bytes(HEIC)
    with pytest.raises(VideoError) as e:
        open_clip(tmp_path)
    assert e.value.reason == ("no image files (.jpg, .jpeg, .png, .bmp, .webp, .tif, .tiff, .gif) in folder; it holds "
                              "5 HEIC photos (IMG_0001.HEIC, IMG_0002.heic, IMG_0003.heic, …), which actcap can't "
                              "decode: convert them to JPEG or PNG")
