"""Frame layouts and the named conversions between them.

actcap keeps one layout for decoded frames: a numpy uint8 array (T, H, W, 3), RGB. Models take
float32 (T, 3, S, S) normalised with the backbone's own mean/std; `to_model_input` is the only place
that conversion happens, shared by the torch and ONNX Runtime engines.
"""

from __future__ import annotations

import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np


def check_thwc(frames: np.ndarray, what: str = "frames") -> np.ndarray:
    """Raise a readable error unless `frames` is uint8 (T, H, W, 3)."""
    if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[-1] != 3:
        shape = getattr(frames, "shape", type(frames).__name__)
        raise ValueError(f"{what} must be a uint8 array (T, H, W, 3) RGB; got {shape}")
    if frames.dtype != np.uint8:
        raise ValueError(f"{what} must be uint8 (T, H, W, 3) RGB; got dtype {frames.dtype}")
    return frames


MAX_WORKING_SIDE = 640
"""Longest side, in pixels, of a frame as actcap holds it after decoding. Larger frames (720p, 4K, big uploads)
are reduced as soon as they are decoded, before the next one is read, so memory is bounded by the frame count
alone; nothing downstream needs more (the CNN sees 224-260 px squares, optical flow 160 px wide). HMDB51 and
UCF101 (320x240) and UTD-MHAD (640x480) clips are kept as they are."""

MIN_WORKING_SIDE = 16
"""Reducing a frame never takes a side below this (or below its own size, if smaller): a 4096x16 sliver
becomes 640x16, not 640x2, so the short side keeps enough pixels for the CNN and optical flow to see."""


def working_size(height: int, width: int, max_side: int = MAX_WORKING_SIDE,
                 min_side: int = MIN_WORKING_SIDE) -> tuple[int, int]:
    """(height, width) of a frame reduced so that its longest side is at most `max_side`, aspect ratio kept,
    except that no side is reduced below `min_side` (aspect ratios beyond 640:16 = 40:1 are squeezed along the
    long side); frames already within the bound keep their size."""
    longest = max(height, width)
    if longest <= max_side:
        return height, width
    h, w = round(height * max_side / longest), round(width * max_side / longest)
    return max(h, min(height, min_side)), max(w, min(width, min_side))


def shrink_to_working(frame: np.ndarray, max_side: int = MAX_WORKING_SIDE) -> np.ndarray:
    """One (H, W, 3) uint8 frame reduced to `working_size` with the area filter; returned as is when within it."""
    h, w = working_size(frame.shape[0], frame.shape[1], max_side)
    if (h, w) == frame.shape[:2]:
        return frame
    return cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(T, H, W, 3) → (T, h, w, 3) with (h, w) = size; area filter when shrinking.

    OpenCV runs the area filter on one thread when the scale is not a whole number (640×480 → 224²: 1.7 ms
    a frame here), so several frames are shared among the cores; each frame's result is unchanged."""
    h, w = size
    if frames.shape[1:3] == (h, w):
        return frames
    shrink = frames.shape[1] * frames.shape[2] > h * w
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR

    def one(f: np.ndarray) -> np.ndarray:
        return cv2.resize(f, (w, h), interpolation=interp)

    if shrink and len(frames) > 1 and _cpus() > 1:
        return np.stack(list(_resize_pool().map(one, frames)))
    return np.stack([one(f) for f in frames])


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@functools.cache
def _resize_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_cpus(), thread_name_prefix="actcap-resize")


def to_model_input(frames: np.ndarray, size: int, mean, std) -> np.ndarray:
    """uint8 (T, H, W, 3) RGB → float32 (T, 3, size, size), scaled to [0, 1] then normalised.

    The whole frame is resized to a square (as the original brief did), not centre-cropped:
    actions such as a swipe reach the edges of the frame.
    """
    small = resize_frames(check_thwc(frames), (size, size))  # (T, S, S, 3) uint8
    mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
    scale, shift = (1 / (255 * std))[None, :, None, None], (-mean / std)[None, :, None, None]  # (1, 3, 1, 1)
    # one fused pass: uint8 (T, 3, S, S) view → scaled float32, then shifted in place (a tenth of the time of
    # float / 255, - mean, / std and a transposing copy; equal to ~5e-7)
    x = np.multiply(small.transpose(0, 3, 1, 2), scale, dtype=np.float32, order="C")
    x += shift
    return x  # (T, 3, S, S)


FLOW_MAX_ASPECT = 4
"""Optical flow runs on an image `width` pixels wide whose height keeps the frame's aspect ratio while it lies
between 1:4 and 4:1; flatter or taller frames are squeezed to that ratio, so the flow image stays between
`width`/4 and 4·`width` pixels high (a 4096x16 sliver does not become 160x1, nor a 16x4096 one 160x40960)."""


def flow_size(height: int, width: int, flow_width: int) -> tuple[int, int]:
    """(height, width) of the grayscale image optical flow runs on for a `height` x `width` frame."""
    low, high = math.ceil(flow_width / FLOW_MAX_ASPECT), flow_width * FLOW_MAX_ASPECT
    return min(max(round(height * flow_width / width), low), high), flow_width


def to_gray_small(frames: np.ndarray, width: int) -> np.ndarray:
    """uint8 (T, H, W, 3) RGB → uint8 (T, h, width) grayscale of `flow_size` (aspect kept up to 4:1)."""
    small = resize_frames(frames, flow_size(frames.shape[1], frames.shape[2], width))
    return np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in small])


def area_pool(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float32 (H, W, C) → (h, w, C) with (h, w) = size <= (H, W): the mean of each cell of an h x w grid laid
    over the image, pixels that straddle two cells shared by area (OpenCV's area filter, any channel count).

    OpenCV's area filter refuses more than 4 channels unless the scale is a whole number, so channels go
    through it four at a time; each channel's result is the same as one call on all of them."""
    h, w = size
    if h > x.shape[0] or w > x.shape[1]:
        raise ValueError(f"area_pool reduces an image; {x.shape[:2]} is smaller than the grid {size}")
    parts = [cv2.resize(np.ascontiguousarray(x[..., c:c + 4]), (w, h), interpolation=cv2.INTER_AREA)
             for c in range(0, x.shape[2], 4)]
    return np.concatenate([p.reshape(h, w, -1) for p in parts], axis=2)  # (h, w, C)
