"""From per-frame features to the model's N time slots, in one of two ways (the model's `sampling`):

- `frames`: each slot is one frame (uniform at test time, TSN-random in training) — the original brief's.
- `dense`: each slot is the mean of all frames in its segment of the clip. Motion features are noisy
  frame to frame (a wave is caught at a random phase); averaging every frame of a segment measured
  85.8% → 91.7% top-1 on unseen people for a linear probe on optical-flow histograms
  (studies/flow_probe.py, docs/model-card.md).
  Training jitters the clip's start and end by up to 10%.

Every consumer — training, evaluation, prediction, the live stream and the timeline — goes through
`slot_features`, so the model always sees the same kind of input it was trained on.
"""

from __future__ import annotations

import numpy as np

from actcap.data.sampling import jittered_range, multi_clip_indices, segment_bounds, segment_indices, uniform_indices

SAMPLING_MODES = ("frames", "dense")


def check_sampling(mode: str) -> str:
    if mode not in SAMPLING_MODES:
        raise ValueError(f"unknown sampling {mode!r}; choose one of: {', '.join(SAMPLING_MODES)}")
    return mode


def slot_features(features: np.ndarray, n: int, mode: str, rng: np.random.Generator | None = None,
                  num_clips: int = 1) -> np.ndarray:
    """(L, D) features of a clip's frames → (K, n, D): K views of n slots (K = num_clips; 1 in training).

    With `rng`, draws a training view (random frames, or jittered dense segments); without, the
    deterministic test views.
    """
    length = len(features)
    if check_sampling(mode) == "frames":
        if rng is not None:
            views = [segment_indices(length, n, rng)]
        else:
            views = multi_clip_indices(length, n, num_clips) if num_clips > 1 else [uniform_indices(length, n)]
        return np.stack([features[v] for v in views])  # (K, n, D)
    start, stop = jittered_range(length, rng) if rng is not None else (0, length)
    bounds = segment_bounds(length, n, start, stop)
    csum = np.concatenate([np.zeros((1, features.shape[1]), np.float64), np.cumsum(features, 0, np.float64)])
    pooled = np.stack([(csum[b] - csum[a]) / (b - a) for a, b in bounds])  # (n, D)
    return pooled[None].astype(np.float32)  # dense pooling has one view
