"""Which frames of a clip to look at: pure functions that return frame indices.

Nothing here touches pixels, so a frame folder only loads the files these indices name, and tests can pin
the exact indices (pytorchvideo `uniform_temporal_subsample` idea). All lists are non-decreasing, so the
model always sees frames in time order.

    uniform_indices(40, 4)              -> [5, 15, 25, 35]         (evaluation)
    segment_indices(40, 4, rng)         -> e.g. [8, 16, 25, 32]    (TSN training, new every epoch)
    multi_clip_indices(40, 4, 2)        -> [[2, 12, 22, 32], [7, 17, 27, 37]]   (test-time averaging)

Short clips (fewer frames than asked for) repeat frames in order instead of failing: a 34-frame clip
sampled at 48 frames shows some frames twice, which keeps the time axis intact.
"""

from __future__ import annotations

import operator

import numpy as np


def _check(num_frames: int, n: int) -> tuple[int, int]:
    """Return (num_frames, n) as ints, or raise ValueError naming both when either is < 1."""
    num_frames, n = operator.index(num_frames), operator.index(n)
    if num_frames < 1 or n < 1:
        raise ValueError(f"num_frames and n must both be >= 1, got num_frames={num_frames}, n={n}")
    return num_frames, n


def is_short(num_frames: int, n: int) -> bool:
    """True when a clip has fewer frames than the n we sample, so some frames will repeat."""
    num_frames, n = _check(num_frames, n)
    return num_frames < n


def uniform_indices(num_frames: int, n: int) -> list[int]:
    """n indices at the centres of n equal segments of [0, num_frames): int((i + 0.5) * num_frames / n).

    Computed in integers as (2i + 1) * num_frames // (2n), which is the same number without float error.
    Short clips (num_frames < n) use the same formula, which repeats frames in order:
    uniform_indices(10, 16) -> [0, 0, 1, 2, 2, 3, 4, 4, 5, 5, 6, 7, 7, 8, 9, 9].
    """
    num_frames, n = _check(num_frames, n)
    return [(2 * i + 1) * num_frames // (2 * n) for i in range(n)]


def segment_indices(num_frames: int, n: int, rng: np.random.Generator) -> list[int]:
    """TSN training sampling: one random index inside each of n equal segments of [0, num_frames).

    Segment i is [i * num_frames // n, (i + 1) * num_frames // n), never empty when num_frames >= n.
    Short clips (num_frames < n): every frame once plus n - num_frames random extra frames, sorted, so the
    whole clip is covered and the list is still non-decreasing.
    """
    num_frames, n = _check(num_frames, n)
    if num_frames < n:
        extra = rng.integers(0, num_frames, size=n - num_frames)
        return sorted(list(range(num_frames)) + extra.tolist())
    starts = [i * num_frames // n for i in range(n + 1)]
    return [int(rng.integers(starts[i], starts[i + 1])) for i in range(n)]


def multi_clip_indices(num_frames: int, n: int, k: int) -> list[list[int]]:
    """k uniform clips, clip j offset by (j + 0.5) / k of a segment, for averaging predictions at test time.

    Index i of clip j is int((i + (j + 0.5) / k) * num_frames / n), so k=1 gives [uniform_indices(...)].
    """
    num_frames, n = _check(num_frames, n)
    k = operator.index(k)
    if k < 1:
        raise ValueError(f"k (clips per video) must be >= 1, got k={k}")
    return [[((i * k + j) * 2 + 1) * num_frames // (2 * n * k) for i in range(n)] for j in range(k)]


def segment_bounds(num_frames: int, n: int, start: int = 0, stop: int | None = None) -> list[tuple[int, int]]:
    """n consecutive [begin, end) ranges covering frames [start, stop) of a clip, for dense pooling.

    segment_bounds(10, 4) -> [(0, 2), (2, 5), (5, 7), (7, 10)]. When the range has fewer than n frames,
    slot i is the single frame uniform_indices would pick (frames repeat in order).
    """
    num_frames, n = _check(num_frames, n)
    stop = num_frames if stop is None else stop
    if not 0 <= start < stop <= num_frames:
        raise ValueError(f"segment range [{start}, {stop}) is not inside a clip of {num_frames} frames")
    length = stop - start
    if length < n:
        return [(start + i, start + i + 1) for i in uniform_indices(length, n)]
    edges = [start + i * length // n for i in range(n + 1)]
    return list(zip(edges[:-1], edges[1:]))


def jittered_range(num_frames: int, rng: np.random.Generator, trim: float = 0.1) -> tuple[int, int]:
    """A random [start, stop) keeping at least 1 - 2·trim of the clip: temporal jitter for dense training."""
    num_frames = operator.index(num_frames)
    cut = int(num_frames * trim)
    start = int(rng.integers(0, cut + 1))
    stop = num_frames - int(rng.integers(0, cut + 1))
    return start, max(stop, start + 1)


def kept_indices(num_frames: int, cache_frames: int) -> list[int]:
    """Which source frames the feature cache keeps, and dense inference reads: all, or `cache_frames` uniformly.

    kept_indices(5, 64) -> [0, 1, 2, 3, 4];  kept_indices(100, 4) -> [12, 37, 62, 87]
    """
    return list(range(num_frames)) if num_frames <= cache_frames else uniform_indices(num_frames, cache_frames)


def inference_indices(num_frames: int, n: int, sampling: str, cache_frames: int) -> list[int]:
    """Source frames a prediction reads from a clip for a model of n slots: one per slot (uniform), or with
    `dense` sampling every frame the training cache kept (`cache_frames`, the model's).

    inference_indices(40, 4, "frames", 64) -> [5, 15, 25, 35];  inference_indices(5, 4, "dense", 64) -> [0, 1, 2, 3, 4]
    """
    return kept_indices(num_frames, cache_frames) if sampling == "dense" else uniform_indices(num_frames, n)


def previous_indices(indices: list[int]) -> list[int]:
    """The source frame just before each index, for motion streams; frame 0 is its own predecessor.

    previous_indices([0, 5, 9]) -> [0, 4, 8]
    """
    return [max(0, i - 1) for i in indices]
