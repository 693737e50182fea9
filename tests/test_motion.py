"""Idle from motion: frame differences relative to the frame size (actcap/honesty/motion.py)."""

import numpy as np
import pytest

from actcap.honesty.motion import IDLE_LEVEL, is_idle, motion_levels


def _square(t: int, step: int = 4, h: int = 96, w: int = 128) -> np.ndarray:
    frames = np.full((t, h, w, 3), 90, np.uint8)
    for i in range(t):
        frames[i, 30:62, 8 + step * i: 40 + step * i] = 230
    return frames


def test_blank_still_and_frozen_frames_do_not_move():
    blank = np.full((16, 96, 128, 3), 128, np.uint8)
    rng = np.random.default_rng(0)
    frozen = np.repeat(rng.integers(0, 256, (1, 96, 128, 3), dtype=np.uint8), 16, axis=0)
    for frames in (blank, frozen):
        levels = motion_levels(frames)
        assert levels.shape == (16,) and levels.max() == 0.0
        assert is_idle(levels)


def test_sensor_noise_is_not_motion():
    rng = np.random.default_rng(1)
    base = rng.integers(60, 200, (1, 96, 128, 3)).astype(np.int16)
    noisy = np.clip(base + rng.normal(0, 4, (16, 96, 128, 3)), 0, 255).astype(np.uint8)  # ±4 grey levels
    assert is_idle(motion_levels(noisy))


def test_a_moving_square_moves():
    levels = motion_levels(_square(12))
    assert levels[0] == 0.0  # the first frame is its own predecessor
    assert levels[1:].min() > IDLE_LEVEL  # a 32-px square moving 4 px/frame: about 3% of the pixels change
    assert not is_idle(levels)


def test_previous_frames_are_compared_when_given():
    frames = _square(8)
    given = motion_levels(frames[4:], previous=frames[3:7])
    assert given[0] == pytest.approx(motion_levels(frames)[4])


def test_previous_of_another_shape_is_refused():
    with pytest.raises(ValueError, match=r"previous frames \(2, 96, 128, 3\) must match frames \(3, 96, 128, 3\)"):
        motion_levels(_square(3), previous=_square(2))
