"""Open a clip — a video file, a folder of frames or a list of images — and read frames by index.

The path type decides (pytorchvideo `VideoPathHandler` idea): a directory is a frame folder, a file with a
video extension is checked with OpenCV and decoded with PyAV (`actcap.data.decode`). Every clip returns
frames in one layout, numpy uint8 (T, H, W, 3) RGB:

    clip = open_clip("data/clap/a4_s1_t1_color.avi")
    frames = clip.read(uniform_indices(len(clip), 16))   # (16, 480, 640, 3)

Every frame is reduced to the working size (`actcap.data.frames.shrink_to_working`) as soon as it is decoded.
Uploaded images are decoded by `actcap.data.images.decode_image_bytes`.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import operator
import os
import re
from pathlib import Path
from typing import Sequence

import av
import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from actcap.data.decode import FrameScan, iter_decoded, read_decoded, read_packets, scan_frames, sniff_image
from actcap.data.frames import shrink_to_working, working_size
from actcap.data.images import PIL_LOAD_ERRORS, pil_to_rgb
from actcap.data.images import ImageDecodeError as ImageDecodeError  # re-exported: uploads and data import it here
from actcap.data.images import decode_image_bytes as decode_image_bytes

VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
MIN_DECODED_FRACTION = 0.75
"""A video whose container states a frame count is refused when fewer than this share of it decodes (a file
cut short); above it, the frames that decode are used and the difference is reported as a warning."""
IMAGE_REASON = ("is a {kind} image, not a video; send images as frames (image files to `actcap predict`, "
                "or field 'frames[]' to POST /predict)")
log = logging.getLogger(__name__)


class VideoError(Exception):
    """A clip that can't be read; `path` is the file or folder, `reason` what the decoder said."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"{path}: {reason}")


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
    warnings: Sequence[str] = ()
    """What reading this clip had to work around (a header that miscounts, damaged packets), for the answer."""

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
        """(width, height) of frame 0 at working size, read from the file header without decoding pixels."""
        if self._size is None:
            try:
                with Image.open(self.files[0]) as im:
                    h, w = working_size(im.size[1], im.size[0])
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


class VideoFileClip(Clip):
    """A video file: OpenCV checks it on open, PyAV decodes only the frames asked for.

    `len` is the container's frame count when the file keeps its word: seeking to the last frame decodes
    it and nothing follows (cheap). Otherwise — a header that over- or under-counts, no count at all, a
    damaged packet — the file is decoded once (`decode.scan_frames`, nothing kept) and the frames that
    decode are the clip, with a warning in `warnings`; it is refused only when the container states a
    count and fewer than MIN_DECODED_FRACTION of it decode (docs/data-formats.md).
    `read` decodes only what the requested frames need (`decode.read_packets`): just those packets for
    intra-only codecs such as MJPEG, for H.264 and the like the GOPs holding them up to the last one wanted;
    frames are bit-identical to OpenCV's. Where that cannot be exact it decodes sequentially from frame 0 up
    to max(indices): with OpenCV for a file that kept its word, else with the tolerant PyAV reader that
    counted it. Frames come out upright (rotation tags applied) and at working size.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise VideoError(self.path, "file does not exist")
        if self.path.stat().st_size == 0:
            raise VideoError(self.path, "file is empty (0 bytes)")
        kind = sniff_image(self.path)
        if kind:
            raise VideoError(self.path, IMAGE_REASON.format(kind=kind))
        self.warnings: list[str] = []
        self._scan: FrameScan | None = None  # set when the header could not be trusted
        try:
            cap = self._open()
        except VideoError as e:
            self._open_with_pyav(e)
            return
        try:
            fps = cap.get(cv2.CAP_PROP_FPS)
            self.fps = float(fps) if fps and fps > 0 and np.isfinite(fps) else None
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            first = cap.grab()
            last_ok = first and (count <= 1 or (cap.set(cv2.CAP_PROP_POS_FRAMES, count - 1) and cap.grab()))
            more = last_ok and count >= 1 and cap.grab()  # a frame after the last: the header under-counts
        finally:
            cap.release()
        self._len = count
        if not (count > 0 and last_ok and not more):
            self._recount(count, first)

    def _open(self) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise VideoError(self.path, "OpenCV could not open the file (not a video or unsupported codec)")
        return cap

    def _open_with_pyav(self, refusal: VideoError) -> None:
        """A file OpenCV can't open may still decode with PyAV's FFmpeg (it has more decoders); else `refusal`."""
        try:
            scan = scan_frames(self.path)
        except av.FFmpegError:
            raise refusal from None
        if not scan.decoded:
            raise refusal
        log.info("%s: OpenCV could not open the file; PyAV decodes %d frames", self.path, scan.decoded)
        self.fps, self._len, self._scan = scan.fps, scan.decoded, scan

    def _recount(self, count: int, opencv_ok: bool) -> None:
        """Decode the whole file once and make the frames that decode the clip (see the class docstring)."""
        try:
            scan = scan_frames(self.path)
        except av.FFmpegError as e:
            raise VideoError(self.path, f"PyAV could not decode the file ({e})") from e
        n = scan.decoded
        if n == 0:
            raise VideoError(self.path, "decoded 0 frames")
        if scan.header and count > 0 and n < math.ceil(MIN_DECODED_FRACTION * count):
            self._raise_truncated(scan.first_bad, count)
        self._len = n
        if n == count and not scan.damaged and opencv_ok:
            return  # OpenCV's seek was off, not the file: keep the exact fast paths
        self._scan = scan  # OpenCV's reader disagrees with the file (or can't decode it, as AV1): PyAV reads it
        if scan.damaged or (scan.header and n != count):
            plural = "s" if scan.damaged > 1 else ""
            skipped = f" ({scan.damaged} damaged packet{plural} skipped)" if scan.damaged else ""
            message = f"{self.path}: the header reports {count} frames; {n} decode{skipped}; using the {n} that do"
            log.warning("%s", message)
            self.warnings.append(message)
        elif count > 0 and n != count:  # Matroska/WebM store no count; OpenCV's estimate from the duration
            log.info("%s: the container's duration suggests %d frames; %d decode", self.path, count, n)

    def _raise_truncated(self, decoded: int, reported: int) -> None:
        raise VideoError(self.path, f"frame {decoded} could not be decoded (file truncated?); "
                                    f"the container reports {reported} frames")

    def __len__(self) -> int:
        return self._len

    def read(self, indices: Sequence[int]) -> np.ndarray:
        idx = self._check_indices(indices)
        with self._decoder_errors():
            frames = read_packets(self.path, sorted(set(idx))) if self._packets_exact() else None
            if frames is None:
                frames = self._read_sequential(set(idx))
        return np.stack([frames[i] for i in idx])  # (T, H, W, 3)

    def _packets_exact(self) -> bool:
        """Packet numbers are frame numbers unless packets were damaged or don't all give a frame."""
        return self._scan is None or (not self._scan.damaged and self._scan.decoded == self._scan.packets)

    @contextlib.contextmanager
    def _decoder_errors(self):
        """A decoder failing in the middle of a read is this file's problem: a VideoError naming it."""
        try:
            yield
        except (cv2.error, av.FFmpegError, OSError) as e:
            raise VideoError(self.path, f"decoding failed ({type(e).__name__}: {e})") from e

    def _read_sequential(self, wanted: set[int]) -> dict[int, np.ndarray]:
        if self._scan is not None:
            frames = read_decoded(self.path, wanted)
            if len(frames) < len(wanted):
                self._raise_truncated(len(frames), len(self))
            return frames
        frames = {}
        cap = self._open()
        try:
            for i in range(max(wanted) + 1):
                # grab() decodes; retrieve() only converts the frames we keep to BGR arrays
                if not cap.grab():
                    self._raise_truncated(i, len(self))
                if i in wanted:
                    ok, bgr = cap.retrieve()
                    if not ok:
                        raise VideoError(self.path, f"frame {i} could not be decoded (file truncated?)")
                    frames[i] = shrink_to_working(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        finally:
            cap.release()
        return frames

    def iter_frames(self):
        with self._decoder_errors():
            if self._scan is not None:
                yield from itertools.islice(iter_decoded(self.path), len(self))
                return
            cap = self._open()
            try:
                for i in range(len(self)):
                    ok, bgr = cap.read()
                    if not ok:
                        self._raise_truncated(i, len(self))
                    yield shrink_to_working(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
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
    except (UnidentifiedImageError, *PIL_LOAD_ERRORS) as e:
        raise VideoError(path, f"could not decode image ({e})") from e


def _fit(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a frame to (width, height) with INTER_AREA when it differs, so a clip stacks into one array."""
    if (frame.shape[1], frame.shape[0]) == size:
        return frame
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
