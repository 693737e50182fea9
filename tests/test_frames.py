"""The one uint8 frames → model input conversion shared by every engine."""

import cv2
import numpy as np
import pytest

from actcap.frames import check_thwc, to_gray_small, to_model_input

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def test_model_input_is_resized_scaled_normalised_and_channel_first():
    frames = np.random.default_rng(0).integers(0, 256, (3, 48, 64, 3), dtype=np.uint8)
    x = to_model_input(frames, 32, MEAN, STD)
    assert x.shape == (3, 3, 32, 32) and x.dtype == np.float32 and x.flags["C_CONTIGUOUS"]
    small = np.stack([cv2.resize(f, (32, 32), interpolation=cv2.INTER_AREA) for f in frames])  # area filter
    ref = (small.astype(np.float64) / 255 - np.array(MEAN)) / np.array(STD)  # (T, S, S, 3)
    np.testing.assert_allclose(x, ref.transpose(0, 3, 1, 2), atol=1e-5)


def test_model_input_extremes_map_to_the_normalised_range():
    black, white = np.zeros((1, 8, 8, 3), np.uint8), np.full((1, 8, 8, 3), 255, np.uint8)
    np.testing.assert_allclose(to_model_input(black, 8, MEAN, STD)[0, :, 0, 0], -np.array(MEAN) / STD, rtol=1e-6)
    np.testing.assert_allclose(to_model_input(white, 8, MEAN, STD)[0, :, 0, 0], (1 - np.array(MEAN)) / STD,
                               rtol=1e-6)


def test_gray_small_keeps_the_aspect_ratio():
    frames = np.zeros((2, 480, 640, 3), np.uint8)
    frames[:, :, :, 0] = 255  # pure red
    g = to_gray_small(frames, 160)
    assert g.shape == (2, 120, 160) and g.dtype == np.uint8
    assert int(g[0, 0, 0]) == 76  # BT.601 luma of red: 0.299 * 255


@pytest.mark.parametrize("bad, expected", [(np.zeros((2, 8, 8), np.uint8), "(T, H, W, 3)"),
                                           (np.zeros((2, 8, 8, 3), np.float32), "dtype float32")])
def test_wrong_frames_are_named(bad, expected):
    with pytest.raises(ValueError, match="frames must be") as e:
        check_thwc(bad)
    assert expected in str(e.value)


def test_working_size_bounds_the_longest_side_and_keeps_small_frames():
    from actcap.frames import MAX_WORKING_SIDE, shrink_to_working, working_size

    assert MAX_WORKING_SIDE == 640
    assert working_size(480, 640) == (480, 640)  # UTD-MHAD: unchanged
    assert working_size(240, 320) == (240, 320)  # HMDB51 / UCF101: unchanged
    assert working_size(720, 1280) == (360, 640)
    assert working_size(1280, 720) == (640, 360)  # portrait
    assert working_size(2160, 3840) == (360, 640)
    assert working_size(16, 4096) == (2, 640)  # a sliver keeps at least one pixel a side
    big = np.full((720, 1280, 3), 7, np.uint8)
    small = shrink_to_working(big)
    assert small.shape == (360, 640, 3) and small.dtype == np.uint8 and (small == 7).all()
    same = np.zeros((480, 640, 3), np.uint8)
    assert shrink_to_working(same) is same
