"""Open a clip — a video file, a folder of frames or a list of images — and read frames by index.

The path type decides (pytorchvideo `VideoPathHandler` idea): a directory is a frame folder, a file with a
video extension is decoded with OpenCV. Every clip returns frames in one layout, numpy uint8 (T, H, W, 3) RGB:

    clip = open_clip("data/clap/a4_s1_t1_color.avi")
    frames = clip.read(uniform_indices(len(clip), 16))   # (16, 480, 640, 3)

Uploaded images go through `decode_image_bytes`, which refuses decompression bombs before decoding.
"""

from __future__ import annotations

import io
import logging
import operator
import os
import re
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
_PIL_LOAD_ERRORS = (OSError, SyntaxError, ValueError, EOFError)
log = logging.getLogger(__name__)


class VideoError(Exception):
    """A clip that can't be read; `path` is the file or folder, `reason` what the decoder said."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"{path}: {reason}")


class ImageDecodeError(ValueError):
    """An uploaded image that can't be decoded; `name` is the upload's name, `reason` why."""

    def __init__(self, name: str, reason: str):
        self.name, self.reason = name, reason
        super().__init__(f"{name}: {reason}")


def natural_key(name: str) -> tuple:
    """Sort key that orders digit runs by value: frame_2 before frame_10; ties broken by the exact name."""
    parts = re.split(r"(\d+)", name)  # text at even positions, digits at odd ones, so types always line up
    return tuple(int(p) if i % 2 else p.lower() for i, p in enumerate(parts)), name


def is_image_file(path: Path) -> bool:
    """True for a non-hidden file whose extension is in IMAGE_EXTENSIONS."""
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".") and path.is_file()


class Clip:
    """Base class: `path`, `fps` (None when unknown), `len(clip)` frames, `read(indices)`, `read_all()`."""

    path: Path
    fps: float | None = None

    def __len__(self) -> int:
        raise NotImplementedError

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """Frames at `indices`, in the order asked (repeats allowed), as (len(indices), H, W, 3) uint8 RGB."""
        raise NotImplementedError

    def read_all(self) -> np.ndarray:
        """Every frame, (len(self), H, W, 3) uint8 RGB."""
        return self.read(list(range(len(self))))

    def iter_frames(self):
        """Every frame in order, one (H, W, 3) uint8 RGB array at a time (for videos too long to hold)."""
        for i in range(len(self)):
            yield self.read([i])[0]

    def _check_indices(self, indices: Sequence[int]) -> list[int]:
        idx = [operator.index(i) for i in indices]
        if not idx:
            raise ValueError(f"{self.path}: read() needs at least one frame index")
        bad = [i for i in idx if not 0 <= i < len(self)]
        if bad:
            raise IndexError(f"{self.path}: frame indices {bad[:5]} out of range for a clip of {len(self)} frames")
        return idx

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, frames={len(self)}, fps={self.fps})"


class ImageListClip(Clip):
    """Frames from an explicit list of image files, in the order given; `path` is the first file's folder.

    Only the files that `read` names are decoded. Frames of another size than frame 0 are resized to
    frame 0's size with cv2.INTER_AREA, so one clip always stacks into one array.
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
        """(width, height) of frame 0, read from the file header without decoding pixels."""
        if self._size is None:
            try:
                with Image.open(self.files[0]) as im:
                    self._size = im.size
            except (UnidentifiedImageError, *_PIL_LOAD_ERRORS) as e:
                raise VideoError(self.files[0], f"could not read image ({e})") from e
        return self._size

    def read(self, indices: Sequence[int]) -> np.ndarray:
        idx = self._check_indices(indices)
        size = self.frame_size()
        loaded = {i: _fit(load_image_file(self.files[i]), size) for i in sorted(set(idx))}
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


class VideoFileClip(Clip):
    """A video file decoded with OpenCV.

    `len` is the container's frame count, checked on open by seeking to and decoding the last frame
    (cheap). When that fails or the container reports no count, frames are counted by decoding: an AVI
    (whose header count is exact) that decodes fewer frames is truncated and raises VideoError; other
    containers only estimate the count, so the decoded count is used with a warning.
    `read` decodes sequentially from frame 0 up to max(indices) and keeps only the requested frames:
    clips are short, and sequential decoding is exact where OpenCV seeking is not for every codec.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise VideoError(self.path, "file does not exist")
        if self.path.stat().st_size == 0:
            raise VideoError(self.path, "file is empty (0 bytes)")
        cap = self._open()
        try:
            fps = cap.get(cv2.CAP_PROP_FPS)
            self.fps = float(fps) if fps and fps > 0 and np.isfinite(fps) else None
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            if not cap.grab():
                raise VideoError(self.path, "decoded 0 frames")
            last_ok = count <= 1 or (cap.set(cv2.CAP_PROP_POS_FRAMES, count - 1) and cap.grab())
        finally:
            cap.release()
        self._len = count if count > 0 and last_ok else self._count_by_decoding()
        if count > 0 and self._len < count:
            if self.path.suffix.lower() == ".avi":  # AVI headers store the exact count: fewer frames = damage
                self._raise_truncated(self._len, count)
            log.warning("%s: container reports %d frames but %d decode; using %d", self.path, count,
                        self._len, self._len)

    def _open(self) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise VideoError(self.path, "OpenCV could not open the file (not a video or unsupported codec)")
        return cap

    def _count_by_decoding(self) -> int:
        cap, n = self._open(), 0
        while cap.grab():
            n += 1
        cap.release()
        return n

    def _raise_truncated(self, decoded: int, reported: int) -> None:
        raise VideoError(self.path, f"frame {decoded} could not be decoded (file truncated?); "
                                    f"the container reports {reported} frames")

    def __len__(self) -> int:
        return self._len

    def read(self, indices: Sequence[int]) -> np.ndarray:
        idx = self._check_indices(indices)
        wanted, frames = set(idx), {}
        cap = self._open()
        try:
            for i in range(max(idx) + 1):
                # grab() decodes; retrieve() only converts the frames we keep to BGR arrays
                if not cap.grab():
                    self._raise_truncated(i, len(self))
                if i in wanted:
                    ok, bgr = cap.retrieve()
                    if not ok:
                        raise VideoError(self.path, f"frame {i} could not be decoded (file truncated?)")
                    frames[i] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()
        return np.stack([frames[i] for i in idx])  # (T, H, W, 3)


    def iter_frames(self):
        cap = self._open()
        try:
            for i in range(len(self)):
                ok, bgr = cap.read()
                if not ok:
                    self._raise_truncated(i, len(self))
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()


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
    """One image file as (H, W, 3) uint8 RGB, whatever its mode (grey, RGBA, palette, 16-bit)."""
    try:
        with Image.open(path) as im:
            return pil_to_rgb(im)
    except (UnidentifiedImageError, *_PIL_LOAD_ERRORS) as e:
        raise VideoError(path, f"could not decode image ({e})") from e


def pil_to_rgb(im: Image.Image) -> np.ndarray:
    """A PIL image of any mode as (H, W, 3) uint8 RGB; 16/32-bit grey is scaled 0..65535 → 0..255, alpha dropped."""
    if im.mode.startswith("I") or im.mode == "F":
        grey = np.asarray(im).astype(np.float64)
        scale = 1.0 if im.mode == "F" else 257.0  # 65535 / 257 = 255
        grey = np.clip(np.rint(grey / scale), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def _fit(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a frame to (width, height) with INTER_AREA when it differs, so a clip stacks into one array."""
    if (frame.shape[1], frame.shape[0]) == size:
        return frame
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def decode_image_bytes(data: bytes, name: str, max_pixels: int) -> np.ndarray:
    """An uploaded image as (H, W, 3) uint8 RGB, EXIF rotation applied.

    The pixel count is read from the header and checked against max_pixels BEFORE any pixel is decoded.
    Raises ImageDecodeError for empty data, non-images, truncated files and images over the limit.
    """
    if not data:
        raise ImageDecodeError(name, "file is empty (0 bytes)")
    try:
        im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        im = _open_header_only(data)  # Pillow's own (larger) limit hit: read the size to report it
    except UnidentifiedImageError:
        raise ImageDecodeError(name, "not an image (Pillow could not identify the format)") from None
    except _PIL_LOAD_ERRORS as e:
        raise ImageDecodeError(name, f"image header is corrupt ({e})") from e
    if im is None:
        raise ImageDecodeError(name, f"image is larger than Pillow's safety limit; the limit is {max_pixels} pixels")
    w, h = im.size
    if w * h > max_pixels:
        raise ImageDecodeError(name, f"image is {w}x{h} = {w * h} pixels; the limit is {max_pixels}")
    try:
        return pil_to_rgb(ImageOps.exif_transpose(im))
    except _PIL_LOAD_ERRORS as e:
        raise ImageDecodeError(name, f"image data is truncated or corrupt ({e})") from e


def _open_header_only(data: bytes) -> Image.Image | None:
    """Parse only the header with the matching Pillow plugin (no bomb check, no pixels); None if none fits."""
    Image.init()
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        result = accept(data[:16]) if accept else True
        if not result or isinstance(result, str):
            continue
        try:
            return factory(io.BytesIO(data), "")
        except Exception:  # noqa: BLE001 - any plugin failure just means "not this format"
            continue
    return None
