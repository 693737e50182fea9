"""Reading clips: frame folders, lossless videos, image lists, broken files and uploaded images."""

import io
import re
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from actcap.data.video import (
    FrameFolderClip,
    ImageDecodeError,
    ImageListClip,
    VideoError,
    VideoFileClip,
    decode_image_bytes,
    natural_key,
    open_clip,
)


@pytest.fixture
def frames(make_frames):
    return make_frames(12, 24, 32, seed=3)


def test_natural_key_orders_numbers_by_value():
    names = ["frame_10.png", "frame_2.png", "frame_1.png", "Frame_3.png"]
    assert sorted(names, key=natural_key) == ["frame_1.png", "frame_2.png", "Frame_3.png", "frame_10.png"]


def test_frame_folder_natural_order_and_ignores_other_files(tmp_path, frames, write_frame_folder):
    folder = write_frame_folder(tmp_path / "clip", frames)
    (folder / "notes.txt").write_text("not a frame")
    (folder / ".DS_Store").write_bytes(b"\0")
    clip = open_clip(folder)
    assert isinstance(clip, FrameFolderClip) and len(clip) == 12 and clip.fps is None and clip.path == folder
    out = clip.read_all()
    assert out.dtype == np.uint8 and out.shape == (12, 24, 32, 3)
    np.testing.assert_array_equal(out, frames)


def test_read_keeps_requested_order_and_repeats(tmp_path, frames, write_frame_folder, write_video):
    folder = write_frame_folder(tmp_path / "clip", frames)
    video = write_video(tmp_path / "clip.avi", frames)
    for clip in (open_clip(folder), open_clip(video)):
        np.testing.assert_array_equal(clip.read([5, 0, 5, 11]), frames[[5, 0, 5, 11]])


def test_lossless_video_and_png_folder_give_identical_frames(tmp_path, frames, write_frame_folder, write_video):
    a = open_clip(write_frame_folder(tmp_path / "clip", frames))
    b = open_clip(write_video(tmp_path / "clip.avi", frames, fps=15))
    assert isinstance(b, VideoFileClip) and len(b) == 12 and b.fps == 15.0
    np.testing.assert_array_equal(a.read_all(), b.read_all())
    np.testing.assert_array_equal(b.read_all(), frames)


def test_frame_folder_decodes_only_requested_files(tmp_path, frames, write_frame_folder):
    folder = write_frame_folder(tmp_path / "clip", frames)
    (folder / "frame_7.png").write_bytes(b"garbage")
    clip = open_clip(folder)
    np.testing.assert_array_equal(clip.read([0, 11]), frames[[0, 11]])
    with pytest.raises(VideoError) as e:
        clip.read([6])
    assert e.value.path == folder / "frame_7.png"
    assert str(e.value).startswith(f"{folder / 'frame_7.png'}: could not decode image")


def test_out_of_range_index(tmp_path, frames, write_frame_folder):
    clip = open_clip(write_frame_folder(tmp_path / "clip", frames))
    with pytest.raises(IndexError, match=r"frame indices \[12, -1\] out of range for a clip of 12 frames"):
        clip.read([0, 12, -1])


def test_mixed_sizes_are_resized_to_the_first_frame(tmp_path, make_frames, write_frame_folder):
    folder = write_frame_folder(tmp_path / "clip", make_frames(1, 16, 24))
    big = make_frames(1, 32, 48, seed=9)[0]
    cv2.imwrite(str(folder / "frame_2.png"), cv2.cvtColor(big, cv2.COLOR_RGB2BGR))
    out = open_clip(folder).read([1])
    assert out.shape == (1, 16, 24, 3)
    np.testing.assert_array_equal(out[0], cv2.resize(big, (24, 16), interpolation=cv2.INTER_AREA))


def test_grey_rgba_and_16bit_frames_become_rgb8(tmp_path):
    folder = tmp_path / "clip"
    folder.mkdir()
    Image.new("L", (8, 6), 100).save(folder / "f1.png")
    Image.new("RGBA", (8, 6), (10, 20, 30, 128)).save(folder / "f2.png")
    Image.fromarray(np.full((6, 8), 257 * 200, dtype=np.uint16)).save(folder / "f3.png")
    Image.new("P", (8, 6), 0).save(folder / "f4.bmp")
    out = open_clip(folder).read_all()
    assert out.dtype == np.uint8 and out.shape == (4, 6, 8, 3)
    assert out[0, 0, 0].tolist() == [100, 100, 100]
    assert out[1, 0, 0].tolist() == [10, 20, 30]
    assert out[2, 0, 0].tolist() == [200, 200, 200]


def test_image_list_clip_keeps_given_order(tmp_path, frames, write_frame_folder):
    folder = write_frame_folder(tmp_path / "clip", frames[:3])
    clip = ImageListClip([folder / "frame_3.png", folder / "frame_1.png"])
    assert len(clip) == 2 and clip.fps is None
    np.testing.assert_array_equal(clip.read_all(), frames[[2, 0]])
    with pytest.raises(VideoError, match="image file does not exist"):
        ImageListClip([folder / "frame_9.png"])


def test_empty_frame_folder(tmp_path):
    (tmp_path / "clip").mkdir()
    (tmp_path / "clip" / "readme.txt").write_text("x")
    with pytest.raises(VideoError) as e:
        open_clip(tmp_path / "clip")
    assert str(e.value) == (f"{tmp_path / 'clip'}: no image files (.jpg, .jpeg, .png, .bmp, .webp, .tif, "
                            ".tiff, .gif) in folder")


def test_zero_byte_video(tmp_path):
    (tmp_path / "a.avi").write_bytes(b"")
    with pytest.raises(VideoError) as e:
        open_clip(tmp_path / "a.avi")
    assert str(e.value) == f"{tmp_path / 'a.avi'}: file is empty (0 bytes)"
    assert e.value.reason == "file is empty (0 bytes)"


def test_corrupt_video(tmp_path):
    (tmp_path / "a.avi").write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError) as e:
        open_clip(tmp_path / "a.avi")
    assert str(e.value) == f"{tmp_path / 'a.avi'}: OpenCV could not open the file (not a video or unsupported codec)"


def test_truncated_video(tmp_path, make_frames, write_video):
    path = write_video(tmp_path / "a.avi", make_frames(12, 48, 64))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError) as e:
        open_clip(path)
    assert e.value.path == path
    assert re.fullmatch(r"frame [1-9]\d* could not be decoded \(file truncated\?\); the container reports 12 frames",
                        e.value.reason), e.value.reason


def test_long_video_cut_short_is_answered_from_what_decodes_with_a_warning(tmp_path, make_frames, write_video):
    """Under 75% of the declared frames decode, but enough for a model's slots (a real cinepak AVI decodes 68 of
    444): the clip is those frames and the warning says how few; fewer than MIN_DECODED_FRAMES is refused."""
    from actcap.data.video_file import MIN_DECODED_FRAMES

    path = write_video(tmp_path / "a.avi", make_frames(60, 48, 64))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 5])
    clip = open_clip(path)
    n = len(clip)
    assert MIN_DECODED_FRAMES <= n < 45
    assert clip.warnings == [f"{path}: only {n} of the 60 frames the header reports decode (file cut short? frame "
                             f"{n} is the first that does not); using the {n} that do"]
    np.testing.assert_array_equal(clip.read_all(), make_frames(60, 48, 64)[:n])  # lossless: the very frames

    path.write_bytes(data[: len(data) // 6])  # about 10 frames: too few to answer from
    with pytest.raises(VideoError, match=r"could not be decoded \(file truncated\?\); the container reports 60"):
        open_clip(path)


def test_video_cut_inside_its_first_frame_decodes_nothing(tmp_path, make_frames, write_video):
    path = write_video(tmp_path / "a.avi", make_frames(3, 48, 64))
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"00dc", data.index(b"movi")) + 200])  # header intact, frame 0 cut short
    with pytest.raises(VideoError) as e:
        open_clip(path)
    assert str(e.value) == f"{path}: decoded 0 frames"


def test_unsupported_extension_and_missing_path(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(VideoError) as e:
        open_clip(tmp_path / "a.txt")
    assert str(e.value) == (f"{tmp_path / 'a.txt'}: not a video file or frame folder; expected a folder of images "
                            f"or a file ending in .avi, .mp4, .mkv, .webm, .mov, .m4v, .3gp, .mpg, .mpeg, .ts, .mts, "
                            ".m2ts, .flv, .wmv, .ogv, .gif")
    with pytest.raises(VideoError, match="no such file or folder"):
        open_clip(tmp_path / "nope.avi")


def test_real_utd_clip(utd_root):
    path = utd_root / "clap" / "a4_s1_t1_color.avi"
    clip = open_clip(path)
    assert 34 <= len(clip) <= 62 and clip.fps == 15.0
    frames = clip.read_all()
    assert frames.shape == (len(clip), 480, 640, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(clip.read([len(clip) - 1, 0]), frames[[len(clip) - 1, 0]])


# --- uploaded images --------------------------------------------------------------------------------------

def _encode(im: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def _png_header_only(w: int, h: int) -> bytes:
    """A PNG whose header claims w x h pixels but holds no pixel data (a decompression-bomb stand-in)."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.mark.parametrize("im, rgb", [
    (Image.new("RGB", (5, 4), (1, 2, 3)), [1, 2, 3]),
    (Image.new("L", (5, 4), 77), [77, 77, 77]),
    (Image.new("LA", (5, 4), (77, 10)), [77, 77, 77]),
    (Image.new("RGBA", (5, 4), (9, 8, 7, 0)), [9, 8, 7]),
    (Image.new("P", (5, 4), 0), [0, 0, 0]),
    (Image.fromarray(np.full((4, 5), 257 * 40, dtype=np.uint16)), [40, 40, 40]),
])
def test_decode_image_bytes_modes(im, rgb):
    out = decode_image_bytes(_encode(im), "x.png", max_pixels=100)
    assert out.dtype == np.uint8 and out.shape == (4, 5, 3) and out[0, 0].tolist() == rgb


def test_decode_image_bytes_cmyk_jpeg():
    out = decode_image_bytes(_encode(Image.new("CMYK", (8, 8), (0, 0, 0, 0)), "JPEG"), "c.jpg", max_pixels=100)
    assert out.shape == (8, 8, 3) and out.min() >= 250


@pytest.mark.parametrize("data, limit, reason", [
    (b"", 100, "file is empty (0 bytes)"),
    (b"hello, not an image at all", 100, "not an image (Pillow could not identify the format)"),
    (_png_header_only(20000, 20000), 40_000_000, "image is 20000x20000 = 400000000 pixels; the limit is 40000000"),
    (_encode(Image.new("RGB", (300, 200))), 50_000, "image is 300x200 = 60000 pixels; the limit is 50000"),
])
def test_decode_image_bytes_errors(data, limit, reason):
    with pytest.raises(ImageDecodeError) as e:
        decode_image_bytes(data, "up.png", max_pixels=limit)
    assert str(e.value) == f"up.png: {reason}" and e.value.reason == reason and isinstance(e.value, ValueError)


def test_decode_image_bytes_truncated():
    data = _encode(Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)))
    with pytest.raises(ImageDecodeError, match=r"^t.png: image data is truncated or corrupt \("):
        decode_image_bytes(data[: len(data) // 2], "t.png", max_pixels=10_000)


def _pillow_reference(data: bytes) -> np.ndarray:
    from PIL import ImageOps

    return np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))


@pytest.mark.parametrize("mode, subsampling", [("RGB", 0), ("RGB", 1), ("RGB", 2), ("L", -1)])
def test_jpeg_fast_path_gives_pillows_pixels(mode, subsampling, monkeypatch):
    """Complete JPEGs are decoded by OpenCV (5x faster); the pixels must be Pillow's, bit for bit."""
    calls = []
    real = cv2.imdecode
    monkeypatch.setattr(cv2, "imdecode", lambda *a: calls.append(1) or real(*a))
    rng = np.random.default_rng(subsampling + 1)
    smooth = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), (64, 48), interpolation=cv2.INTER_CUBIC)
    im = Image.fromarray(smooth).convert(mode)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85, **({"subsampling": subsampling} if subsampling >= 0 else {}))
    out = decode_image_bytes(buf.getvalue(), "f.jpg", max_pixels=10_000)
    assert calls == [1]  # the fast path was taken
    assert out.shape == (48, 64, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, _pillow_reference(buf.getvalue()))


@pytest.mark.parametrize("orientation, shape", [(1, (48, 64, 3)), (3, (48, 64, 3)), (6, (64, 48, 3)),
                                                (8, (64, 48, 3))])
def test_jpeg_exif_orientation_is_applied(orientation, shape):
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:8, :8] = 255  # a white corner shows where the top-left went
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, "JPEG", quality=95, exif=exif)
    out = decode_image_bytes(buf.getvalue(), "phone.jpg", max_pixels=10_000)
    assert out.shape == shape
    np.testing.assert_array_equal(out, _pillow_reference(buf.getvalue()))


def test_truncated_jpeg_is_an_error_not_a_grey_frame():
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    with pytest.raises(ImageDecodeError, match=r"^cut.jpg: image data is truncated or corrupt \("):
        decode_image_bytes(buf.getvalue()[: len(buf.getvalue()) // 2], "cut.jpg", max_pixels=10_000)
