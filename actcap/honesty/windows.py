"""How a window of a longer stream is looked at: live video and timelines judge a window by its most familiar
view, and training fits the window threshold on the same views of sliding windows (training/held_out.py): of
each held-out clip as filmed, and of its middle held (someone going on with the gesture).

    sliding_windows(features, length)     # (L, D) → windows of `length` rows every WINDOW_STEP
    held_windows(features, length, n)     # windows of the clip's middle held: the gesture going on
    window_views(window, min_len)          # the window, then its first, middle and last SUB_WINDOW part
    clip_middle(features, min_len)         # a training clip's middle MIDDLE part (prototypes for windows)
"""

from __future__ import annotations

import numpy as np

WINDOW_STEP = 5
"""Frames between the starts of the sliding windows the window threshold is fitted on."""
SUB_WINDOW = 0.6
"""Length of a window's sub-views, as a fraction of the window."""
MIDDLE = 0.5
"""Length of a training clip's middle part (`clip_middle`), as a fraction of the clip."""


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


def clip_middle(f: np.ndarray, min_len: int) -> np.ndarray | None:
    """(L, D) features of a training clip → its middle MIDDLE part (at least `min_len` rows; None when that is
    the whole clip). A clip is rest–gesture–rest; a live window of someone waving on and on is all gesture,
    like the clip's middle (openset.py `Prototype(parts=True)`)."""
    n = len(f)
    k = max(min_len, round(MIDDLE * n))
    if k >= n:
        return None
    a = (n - k) // 2
    return f[a:a + k]  # (k, D)


def held_windows(f: np.ndarray, length: int, min_len: int, step: int = WINDOW_STEP) -> list[np.ndarray]:
    """(L, D) features of a clip → windows of `length` rows every `step` over its middle (`clip_middle`) played
    forwards and backwards until it lasts two windows: a gesture held and repeated, as in front of a live
    camera someone waves on and on; none for a clip too short to have a middle of its own."""
    middle = clip_middle(f, min_len)
    if middle is None:
        return []
    held = np.concatenate([middle, middle[::-1]] * (length // len(middle) + 1))[:2 * length]  # (≤ 2·length, D)
    return [held[a:a + length] for a in range(0, len(held) - length + 1, step)]
