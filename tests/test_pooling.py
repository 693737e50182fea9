"""Time slots from per-frame features: exact bounds, exact means, training jitter."""

import numpy as np
import pytest

from actcap.data.pooling import slot_features
from actcap.data.sampling import jittered_range, segment_bounds


def test_segment_bounds_pinned():
    assert segment_bounds(10, 4) == [(0, 2), (2, 5), (5, 7), (7, 10)]
    assert segment_bounds(40, 4, 2, 38) == [(2, 11), (11, 20), (20, 29), (29, 38)]
    assert segment_bounds(3, 5) == [(0, 1), (0, 1), (1, 2), (2, 3), (2, 3)]  # short: frames repeat in order
    with pytest.raises(ValueError, match=r"segment range \[5, 4\) is not inside a clip of 10 frames"):
        segment_bounds(10, 2, 5, 4)


def test_dense_slots_are_segment_means():
    f = np.arange(20, dtype=np.float32).reshape(10, 2)  # frame i has features (2i, 2i+1)
    out = slot_features(f, 4, "dense")
    assert out.shape == (1, 4, 2)
    np.testing.assert_allclose(out[0, :, 0], [1.0, 6.0, 11.0, 16.0])  # means of frames 0-1, 2-4, 5-6, 7-9


def test_frames_slots_and_test_clips():
    f = np.arange(40, dtype=np.float32)[:, None]
    np.testing.assert_array_equal(slot_features(f, 4, "frames")[0, :, 0], [5, 15, 25, 35])
    assert slot_features(f, 4, "frames", num_clips=3).shape == (3, 4, 1)


def test_training_views_jitter_but_stay_ordered():
    rng = np.random.default_rng(0)
    f = np.arange(100, dtype=np.float32)[:, None]
    for mode in ("frames", "dense"):
        views = [slot_features(f, 8, mode, rng=rng)[0, :, 0] for _ in range(20)]
        assert all(np.all(np.diff(v) >= 0) for v in views)
        assert len({tuple(v) for v in views}) > 1  # a new view every draw
    for _ in range(50):
        start, stop = jittered_range(100, rng)
        assert 0 <= start <= 10 and 90 <= stop <= 100


def test_unknown_sampling_lists_choices():
    with pytest.raises(ValueError, match="unknown sampling 'sparse'; choose one of: frames, dense"):
        slot_features(np.zeros((4, 1), np.float32), 2, "sparse")
