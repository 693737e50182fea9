"""Is anything moving? Motion from the frames themselves, for any model, with or without a flow stream.

A frame's motion level is the fraction of its pixels whose brightness changed by more than
`PIXEL_CHANGE` (of the full range) since the frame before it, measured on a `WIDTH`-pixel-wide greyscale
copy (so the camera's resolution does not matter and sensor or JPEG noise stays under the bar). A clip
is idle when no stretch of it moves: every one of the model's time slots (each the mean over its frames,
like the features the head sees) stays below `IDLE_LEVEL`.

Measured on UTD-MHAD clips (docs/model-card.md, "Idle"): the still frames at the start and end of each clip
stay under 0.25% of the pixels moving; the busiest time slot of every clip is above 0.65%. `IDLE_LEVEL` =
0.4% sits between them. Blank and frozen frames give exactly 0.
"""

from __future__ import annotations

import numpy as np

from actcap.data.frames import to_gray_small

WIDTH = 80
"""Width in pixels of the greyscale copy the frames are compared on."""
PIXEL_CHANGE = 0.05
"""A pixel moves when its brightness changes by more than this fraction of 255 between frames."""
IDLE_LEVEL = 0.004
"""A clip is idle when its busiest time slot has fewer than this fraction of pixels moving."""


def motion_levels(frames: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
    """uint8 (T, H, W, 3) frames (+ the frame before each, or None: the one before it in `frames`, the first
    its own) → (T,) float32 fraction of pixels that changed."""
    cur = to_gray_small(frames, WIDTH).astype(np.int16)  # (T, h, w)
    if previous is None:
        prev = np.concatenate([cur[:1], cur[:-1]])
    else:
        if previous.shape != frames.shape:
            raise ValueError(f"previous frames {previous.shape} must match frames {frames.shape}")
        prev = to_gray_small(previous, WIDTH).astype(np.int16)
    moving = np.abs(cur - prev) > PIXEL_CHANGE * 255  # (T, h, w)
    return moving.mean(axis=(1, 2)).astype(np.float32)


def is_idle(slot_levels: np.ndarray, level: float = IDLE_LEVEL) -> bool:
    """Idle when every time slot's motion level (T,) is below `level`."""
    return bool(np.max(slot_levels, initial=0.0) < level)
