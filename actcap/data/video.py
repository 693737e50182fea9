"""Open a clip — a video file, a folder of frames or a list of images — and read frames by index.

The path type decides (pytorchvideo `VideoPathHandler` idea): a directory is a frame folder, a file with a
video extension is checked with OpenCV and decoded with PyAV (`actcap.data.decode`). Every clip returns
frames in one layout, numpy uint8 (T, H, W, 3) RGB:

    clip = open_clip("data/clap/a4_s1_t1_color.avi")
    frames = clip.read(uniform_indices(len(clip), 16))   # (16, 480, 640, 3)

Every frame is reduced to the working size (`actcap.data.frames.shrink_to_working`) as soon as it is decoded.
Uploaded images are decoded by `actcap.data.images.decode_image_bytes`; what a clip is lives in `clip.py`,
video files in `video_file.py`, and the names readers need are re-exported here.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from actcap.data.clip import IMAGE_EXTENSIONS as IMAGE_EXTENSIONS  # re-exported: the one place readers import
from actcap.data.clip import VIDEO_EXTENSIONS as VIDEO_EXTENSIONS
from actcap.data.clip import Clip as Clip
from actcap.data.clip import VideoError as VideoError
from actcap.data.clip import is_image_file as is_image_file
from actcap.data.clip import natural_key as natural_key
from actcap.data.decode import stream_kinds
from actcap.data.frames import shrink_to_working, working_size
from actcap.data.images import HEIC_REASON, PIL_LOAD_ERRORS, animated_frame_count, is_heic, pil_to_rgb
from actcap.data.images import ImageDecodeError as ImageDecodeError  # re-exported: uploads and data import it here
from actcap.data.images import decode_image_bytes as decode_image_bytes
from actcap.data.video_file import VideoFileClip as VideoFileClip

log = logging.getLogger(__name__)


EXIF_ORIENTATION = 0x0112


class ImageListClip(Clip):
    """Frames from an explicit list of image files, in the order given; `path` is the first file's folder.

    Only the files that `read` names are decoded, each reduced to working size as it is. Frames of another
    size than frame 0 are resized to frame 0's size with cv2.INTER_AREA, so one clip always stacks into one
    array.
    """

    def __init__(self, paths: Sequence[str | os.PathLike]):
        self.files = [Path(p) for p in paths]
        if not self.files:
            raise VideoError("<image list>", "no image files given")
        missing = [str(p) for p in self.files if not p.is_file()]
        if missing:
            raise VideoError(missing[0], f"image file does not exist ({len(missing)} of {len(self.files)} missing)")
        self.path = self.files[0].parent
        # warnings name the one image given ("1 frame in still.jpg"), not the folder it lies in
        self.display_name = str(self.files[0]) if len(self.files) == 1 else None
        self._size: tuple[int, int] | None = None

    def __len__(self) -> int:
        return len(self.files)

    def frame_size(self) -> tuple[int, int]:
        """(width, height) of frame 0 upright and at working size, read from the file header without decoding
        pixels (an EXIF orientation of 5-8, a phone photo taken upright, swaps the stored width and height)."""
        if self._size is None:
            try:
                with Image.open(self.files[0]) as im:
                    w, h = im.size
                    if im.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8):
                        w, h = h, w
                    h, w = working_size(h, w)
                    self._size = (w, h)
            except (UnidentifiedImageError, *PIL_LOAD_ERRORS) as e:
                raise VideoError(self.files[0], f"could not read image ({e})") from e
        return self._size

    def read(self, indices: Sequence[int]) -> np.ndarray:
        idx = self._check_indices(indices)
        size = self.frame_size()
        loaded = {i: _fit(shrink_to_working(load_image_file(self.files[i])), size) for i in sorted(set(idx))}
        return np.stack([loaded[i] for i in idx])  # (T, H, W, 3)


class FrameFolderClip(ImageListClip):
    """A folder of frame images, naturally sorted (frame_2 before frame_10); other files are ignored."""

    def __init__(self, path: str | os.PathLike):
        folder = Path(path)
        if not folder.is_dir():
            raise VideoError(folder, "folder does not exist")
        files = sorted((p for p in folder.iterdir() if is_image_file(p)), key=lambda p: natural_key(p.name))
        if not files:
            raise VideoError(folder, f"no image files ({', '.join(IMAGE_EXTENSIONS)}) in folder{_hint(folder)}")
        super().__init__(files)
        self.path, self.display_name = folder, None


def _hint(folder: Path) -> str:
    """What a folder without frames holds instead, when that says what to do: videos, or iPhone photos."""
    def named(suffixes: tuple[str, ...]) -> list[str]:
        return sorted((p.name for p in folder.iterdir() if p.suffix.lower() in suffixes and p.is_file()),
                      key=natural_key)

    def listed(names: list[str], what: str) -> str:
        more = ", …" if len(names) > 3 else ""
        return f"; it holds {len(names)} {what}{'s' if len(names) > 1 else ''} ({', '.join(names[:3])}{more})"

    if videos := named(VIDEO_EXTENSIONS):
        return listed(videos, "video file") + ": pass one of them"
    if photos := named((".heic", ".heif")):
        return listed(photos, "HEIC photo") + ", which actcap can't decode: convert them to JPEG or PNG"
    return ""


GIF_MIN_DELAY_MS = 20
"""Browsers show a GIF frame delay under 20 ms (often written as 0 or 10) as 100 ms; so does AnimatedImageClip."""


class AnimatedImageClip(Clip):
    """An animated GIF, WebP or PNG (APNG): its frames are the clip, composited as a browser shows them.

    `fps` comes from the first frame's delay. Frames are decoded in order (these formats can only be decoded
    from the start) up to the last one asked for, each reduced to working size before the next is decoded.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            with Image.open(self.path) as im:
                self._len = getattr(im, "n_frames", 1)
                if "duration" not in im.info:
                    im.load()  # WebP states a frame's delay only once the frame is read
                delay = im.info.get("duration") or 0
        except (UnidentifiedImageError, Image.DecompressionBombError, *PIL_LOAD_ERRORS) as e:
            raise VideoError(self.path, f"could not read the animated image ({e})") from e
        self.fps = 1000 / (delay if delay >= GIF_MIN_DELAY_MS else 100)

    def __len__(self) -> int:
        return self._len

    def read(self, indices: Sequence[int]) -> np.ndarray:
        idx = self._check_indices(indices)
        wanted, frames = set(idx), {}
        for i, frame in enumerate(self.iter_frames()):
            if i in wanted:
                frames[i] = frame
            if i >= max(wanted):
                break
        return np.stack([frames[i] for i in idx])  # (T, H, W, 3)

    def iter_frames(self):
        i = 0
        try:
            with Image.open(self.path) as im:
                for i in range(self._len):
                    im.seek(i)
                    yield shrink_to_working(pil_to_rgb(im))
        except (Image.DecompressionBombError, *PIL_LOAD_ERRORS) as e:
            raise VideoError(self.path, f"frame {i} of {self._len} could not be decoded ({e})") from e


def is_animated_image(path: Path) -> bool:
    """True for a GIF, WebP or PNG file (by content, whatever its name) that holds more than one frame."""
    return path.is_file() and animated_frame_count(path) > 1


def open_clip(path: str | os.PathLike) -> Clip:
    """A directory → FrameFolderClip; an animated GIF, WebP or PNG → AnimatedImageClip; any other file →
    VideoFileClip (by content: a file whose name is not in VIDEO_EXTENSIONS is refused only if it won't open)."""
    p = Path(path)
    if p.is_dir():
        return FrameFolderClip(p)
    if not p.exists():
        raise VideoError(p, "no such file or folder")
    if is_animated_image(p):
        return AnimatedImageClip(p)
    if p.suffix.lower() in VIDEO_EXTENSIONS:
        return VideoFileClip(p)
    if p.is_file():  # not a pipe or a device, which would block or never end
        with open(p, "rb") as f:
            if is_heic(f.read(12)):
                raise VideoError(p, HEIC_REASON)
    # a camera's or recorder's own extension (.dav, .h264, .vid, …)
    if p.is_file() and "video" in (stream_kinds(p) or ()):
        try:
            return VideoFileClip(p)
        except VideoError as e:
            log.debug("%s: not read as a video (%s)", p, e.reason)
    raise VideoError(p, f"not a video file or frame folder; expected a folder of images or a file ending in "
                        f"{', '.join(VIDEO_EXTENSIONS)}")


def load_image_file(path: Path) -> np.ndarray:
    """One image file as (H, W, 3) uint8 RGB, whatever its mode (grey, RGBA, palette, 16-bit), turned upright
    as its EXIF orientation says (a phone's photo), as uploaded images are (`decode_image_bytes`)."""
    try:
        with Image.open(path) as im:
            return pil_to_rgb(ImageOps.exif_transpose(im))
    except (UnidentifiedImageError, *PIL_LOAD_ERRORS) as e:
        raise VideoError(path, f"could not decode image ({e})") from e


def _fit(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a frame to (width, height) with INTER_AREA when it differs, so a clip stacks into one array."""
    if (frame.shape[1], frame.shape[0]) == size:
        return frame
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
