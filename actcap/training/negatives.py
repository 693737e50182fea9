"""Synthetic "unknown" clips made from known ones, for the open-set protocol (protocol.py).

    make_negative("pan", frames)          # (T, H, W, 3) uint8 → (T, H, W, 3) uint8

Each keeps real people and real motion but is none of the known actions:

- `shuffle`: the frames in a fixed random order (motion without an action's course);
- `reverse`: played backwards (used for asymmetric actions only: a reversed clap is still a clap);
- `pan`: a window 75% of the frame slides left to right across it (camera motion over the action);
- `zoom`: the view closes in from the whole frame to its central 60% (camera zoom over the action);
- `half_out`: the frame shifted right by half its width, so the person is half out of the picture;
- `blend`: two clips of different actions averaged (`blend(a, b)`), two ghosts moving at once.
"""

from __future__ import annotations

import cv2
import numpy as np

from actcap.registry import Registry

NEGATIVES: Registry = Registry("negative")


def _crop_resize(frame: np.ndarray, x0: float, y0: float, w: float, h: float) -> np.ndarray:
    """Crop (x0, y0, w, h) in pixels (floats) and resize back to the frame's size."""
    height, width = frame.shape[:2]
    crop = frame[int(y0): int(y0 + h), int(x0): int(x0 + w)]
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)


@NEGATIVES.register("shuffle")
def shuffle(frames: np.ndarray, seed: int = 0) -> np.ndarray:
    return frames[np.random.default_rng(seed).permutation(len(frames))]


@NEGATIVES.register("reverse")
def reverse(frames: np.ndarray, seed: int = 0) -> np.ndarray:
    return frames[::-1].copy()


@NEGATIVES.register("pan")
def pan(frames: np.ndarray, seed: int = 0) -> np.ndarray:
    t, h, w, _ = frames.shape
    return np.stack([_crop_resize(f, 0.25 * w * i / max(t - 1, 1), 0.125 * h, 0.75 * w, 0.75 * h)
                     for i, f in enumerate(frames)])


@NEGATIVES.register("zoom")
def zoom(frames: np.ndarray, seed: int = 0) -> np.ndarray:
    t, h, w, _ = frames.shape
    out = []
    for i, f in enumerate(frames):
        s = 1.0 - 0.4 * i / max(t - 1, 1)  # fraction of the frame kept
        out.append(_crop_resize(f, (1 - s) * w / 2, (1 - s) * h / 2, s * w, s * h))
    return np.stack(out)


@NEGATIVES.register("half_out")
def half_out(frames: np.ndarray, seed: int = 0) -> np.ndarray:
    out = np.zeros_like(frames)
    w = frames.shape[2]
    out[:, :, w // 2:] = frames[:, :, : w - w // 2]
    out[:, :, : w // 2] = frames[:, :, :1].mean(axis=(1, 2), keepdims=True).astype(np.uint8)  # a plain wall
    return out


def blend(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two clips averaged frame by frame (the shorter one's length)."""
    n = min(len(a), len(b))
    return ((a[:n].astype(np.uint16) + b[:n]) // 2).astype(np.uint8)


def list_negatives() -> list[str]:
    return NEGATIVES.list() + ["blend"]


def make_negative(name: str, frames: np.ndarray, seed: int = 0) -> np.ndarray:
    return NEGATIVES.get(name)(frames, seed=seed)
