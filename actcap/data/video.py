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
from actcap.data.frames import shrink_to_working, working_size
from actcap.data.images import PIL_LOAD_ERRORS, pil_to_rgb
from actcap.data.images import ImageDecodeError as ImageDecodeError  # re-exported: uploads and data import it here
from actcap.data.images import decode_image_bytes as decode_image_bytes
from actcap.data.video_file import VideoFileClip as VideoFileClip


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
            raise VideoError(folder, f"no image files ({', '.join(IMAGE_EXTENSIONS)}) in folder")
        super().__init__(files)
        self.path = folder


def open_clip(path: str | os.PathLike) -> Clip:
    """A directory → FrameFolderClip; a file ending in a VIDEO_EXTENSIONS suffix → VideoFileClip."""
    p = Path(path)
    if p.is_dir():
        return FrameFolderClip(p)
    if not p.exists():
        raise VideoError(p, "no such file or folder")
    if p.suffix.lower() in VIDEO_EXTENSIONS:
        return VideoFileClip(p)
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
