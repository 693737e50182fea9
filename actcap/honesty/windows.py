"""How a window of a longer stream is looked at: live video and timelines judge a window by its most familiar
view, and training fits the window threshold on the same views of sliding windows (training/held_out.py).

    sliding_windows(features, length)     # (L, D) → windows of `length` rows every WINDOW_STEP
    window_views(window, min_len)          # the window, then its first, middle and last SUB_WINDOW part
"""

from __future__ import annotations

import numpy as np

WINDOW_STEP = 5
"""Frames between the starts of the sliding windows the window threshold is fitted on."""
SUB_WINDOW = 0.6
"""Length of a window's sub-views, as a fraction of the window."""


def sliding_windows(f: np.ndarray, length: int, step: int = WINDOW_STEP) -> list[np.ndarray]:
    """(L, D) features of a clip → windows of `length` rows every `step`, the last one ending on the clip's end
    (a clip no longer than `length` is its own one window)."""
    if len(f) <= length:
        return [f]
    starts = list(range(0, len(f) - length + 1, step))
    if starts[-1] != len(f) - length:
        starts.append(len(f) - length)
    return [f[a:a + length] for a in starts]  # each (length, D)


def window_views(f: np.ndarray, min_len: int) -> list[np.ndarray]:
    """(L, D) window → the window itself, then its first, middle and last SUB_WINDOW part (at least `min_len`
    rows; none when that is the whole window). A window's open-set score is its views' lowest: a known gesture
    anywhere in it is enough."""
    n = len(f)
    k = max(min_len, round(SUB_WINDOW * n))
    if k >= n:
        return [f]
    mid = (n - k) // 2
    return [f, f[:k], f[mid:mid + k], f[n - k:]]  # each (·, D)
