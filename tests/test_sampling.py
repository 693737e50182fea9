"""Frame-index sampling: exact indices for normal, short and multi-clip cases."""

import numpy as np
import pytest

from actcap.data.sampling import is_short, multi_clip_indices, segment_indices, uniform_indices


def test_uniform_indices_centres_of_equal_segments():
    assert uniform_indices(40, 16) == [1, 3, 6, 8, 11, 13, 16, 18, 21, 23, 26, 28, 31, 33, 36, 38]
    assert uniform_indices(40, 4) == [5, 15, 25, 35]
    assert uniform_indices(7, 1) == [3]


def test_uniform_indices_short_clip_repeats_frames_in_order():
    assert uniform_indices(10, 16) == [0, 0, 1, 2, 2, 3, 4, 4, 5, 5, 6, 7, 7, 8, 9, 9]
    assert uniform_indices(1, 3) == [0, 0, 0]


def test_uniform_indices_equals_the_float_formula_everywhere():
    for num_frames in range(1, 70):
        for n in range(1, 20):
            expected = [int((i + 0.5) * num_frames / n) for i in range(n)]
            assert uniform_indices(num_frames, n) == expected, (num_frames, n)


@pytest.mark.parametrize("num_frames, n", [(0, 16), (40, 0), (-3, 4)])
def test_bad_sizes_name_both_values(num_frames, n):
    with pytest.raises(ValueError, match=rf"^num_frames and n must both be >= 1, got num_frames={num_frames}, n={n}$"):
        uniform_indices(num_frames, n)
    with pytest.raises(ValueError, match="must both be >= 1"):
        segment_indices(num_frames, n, np.random.default_rng(0))


def test_segment_indices_one_random_index_per_segment():
    rng = np.random.default_rng(0)
    assert segment_indices(40, 8, rng) == [4, 8, 12, 16, 21, 25, 30, 35]
    for seed in range(30):
        idx = segment_indices(43, 8, np.random.default_rng(seed))
        assert len(idx) == 8
        for i, v in enumerate(idx):
            assert i * 43 // 8 <= v < (i + 1) * 43 // 8
        assert idx == sorted(idx)


def test_segment_indices_draws_differ_between_epochs():
    rng = np.random.default_rng(1)
    draws = {tuple(segment_indices(60, 8, rng)) for _ in range(5)}
    assert len(draws) > 1


def test_segment_indices_short_clip_covers_every_frame_in_order():
    assert segment_indices(5, 8, np.random.default_rng(0)) == [0, 1, 2, 2, 3, 3, 4, 4]
    for seed in range(20):
        idx = segment_indices(5, 8, np.random.default_rng(seed))
        assert len(idx) == 8 and idx == sorted(idx) and set(idx) == {0, 1, 2, 3, 4}


def test_multi_clip_indices_are_evenly_offset():
    assert multi_clip_indices(40, 4, 2) == [[2, 12, 22, 32], [7, 17, 27, 37]]
    assert multi_clip_indices(40, 16, 1) == [uniform_indices(40, 16)]
    clips = multi_clip_indices(50, 5, 3)
    assert len(clips) == 3 and all(len(c) == 5 and c == sorted(c) for c in clips)
    with pytest.raises(ValueError, match="k \\(clips per video\\) must be >= 1, got k=0"):
        multi_clip_indices(40, 4, 0)


def test_is_short():
    assert is_short(10, 16) and not is_short(16, 16) and not is_short(40, 16)
