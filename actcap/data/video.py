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
    `read` decodes only what the requested frames need (`read_packets`, PyAV): just those packets for
    intra-only codecs such as MJPEG, for H.264 and the like the GOPs holding them up to the last one wanted,
    skipping the rest undecoded; frames are bit-identical to OpenCV's. Where that cannot be exact (no PyAV,
    open GOPs, missing timestamps, rotated video) it decodes sequentially with OpenCV from frame 0 up to
    max(indices).
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
        frames = read_packets(self.path, sorted(set(idx)))
        if frames is None:
            frames = self._read_sequential(set(idx))
        return np.stack([frames[i] for i in idx])  # (T, H, W, 3)

    def _read_sequential(self, wanted: set[int]) -> dict[int, np.ndarray]:
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
                    frames[i] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()
        return frames


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


def read_packets(path: Path, wanted: list[int]) -> dict[int, np.ndarray] | None:
    """Frames `wanted` (sorted, unique) of a video, decoding only the packets they need; None where that
    would not be exact, so the caller decodes sequentially instead.

    Packets are demuxed in order (cheap: no decoding). A GOP — a keyframe and the packets up to the next —
    is skipped undecoded unless it holds a wanted frame, and is decoded only up to (in decode order) its
    last wanted frame; with intra-only codecs (MJPEG) every packet is its own GOP. Frame numbers count
    presentation order as sequential decoding does, and each decoded frame's timestamp is checked against
    the packets sent, so a stream whose packets don't map one-to-one onto frames falls back rather than
    shifting indices.
    """
    try:
        import av
        from av.video.reformatter import VideoReformatter
    except ImportError:
        return None
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError):
        return None
    wanted_set, last = set(wanted), wanted[-1]
    out: dict[int, np.ndarray] = {}
    expected: list[tuple[int, int]] = []  # (frame number, pts) of the packets sent, in presentation order per GOP
    decoded = 0
    to_rgb = VideoReformatter()  # one swscale context for every frame (a new one per frame costs ~1 ms)
    with container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame and slice threads, as OpenCV decodes

        def decode(packet) -> bool:
            nonlocal decoded
            for frame in stream.codec_context.decode(packet):
                if decoded >= len(expected) or frame.pts != expected[decoded][1] or getattr(frame, "rotation", 0):
                    return False  # not one frame per packet in pts order, or OpenCV would rotate it
                i = expected[decoded][0]
                if i in wanted_set:  # the same swscale conversion OpenCV uses: bit-identical frames
                    out[i] = to_rgb.reformat(frame, format="rgb24").to_ndarray()
                decoded += 1
            return True

        def send_gop(gop: list, start: int) -> bool:
            pts = [p.pts for p in gop]
            if any(t is None for t in pts) or min(pts) != pts[0]:
                return False  # no timestamps, or leading frames that reference the previous GOP (open GOP)
            order = sorted(pts)  # presentation order: frame start + k has timestamp order[k]
            need = [order[i - start] for i in wanted_set if start <= i < start + len(gop)]
            if not need:
                return True  # no wanted frame here: skip the GOP undecoded
            # packets after the last needed one (in decode order) can't be referenced by it: don't send them
            position = {t: k for k, t in enumerate(pts)}
            sent = pts[: max(position[t] for t in need) + 1]
            rank = {t: k for k, t in enumerate(order)}
            expected.extend((start + rank[t], t) for t in sorted(sent))
            return all(decode(p) for p in gop[: len(sent)])

        gop, start = [], 0
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue  # the demuxer's end-of-stream marker
                if packet.is_keyframe and gop:
                    if not send_gop(gop, start):
                        return None
                    start, gop = start + len(gop), []
                    if start > last:
                        break
                gop.append(packet)
            if gop and start <= last and not send_gop(gop, start):
                return None
            if not decode(None) or decoded != len(expected):  # drain the frames the decoder still holds
                return None
        except (av.FFmpegError, ValueError):
            return None  # let the sequential reader report the damage with its own message
    return out if len(out) == len(wanted_set) else None


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
    if im.format == "JPEG" and im.mode in ("RGB", "L") and data.rstrip(b"\0").endswith(b"\xff\xd9"):
        # a complete colour or grey JPEG (every webcam frame): OpenCV decodes it to the same pixels, EXIF
        # orientation applied, in a fifth of Pillow's time (640x480: 1.3 vs 7.5 ms); anything else, and a
        # truncated file (no end marker), takes the Pillow path with its precise errors
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)  # (H, W, 3) BGR
        if arr is not None:
            return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
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
