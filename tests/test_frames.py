"""The one uint8 frames → model input conversion shared by every engine."""

import cv2
import numpy as np
import pytest

from actcap.data.frames import check_thwc, to_gray_small, to_model_input

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
    assert to_gray_small(frames[:, :4], 160).shape == (2, 40, 160)  # 160:1 squeezed to 4:1
    assert int(g[0, 0, 0]) == 76  # BT.601 luma of red: 0.299 * 255


@pytest.mark.parametrize("bad, expected", [(np.zeros((2, 8, 8), np.uint8), "(T, H, W, 3)"),
                                           (np.zeros((2, 8, 8, 3), np.float32), "dtype float32")])
def test_wrong_frames_are_named(bad, expected):
    with pytest.raises(ValueError, match="frames must be") as e:
        check_thwc(bad)
    assert expected in str(e.value)


def test_working_size_bounds_the_longest_side_and_keeps_small_frames():
    from actcap.data.frames import MAX_WORKING_SIDE, shrink_to_working, working_size

    assert MAX_WORKING_SIDE == 640
    assert working_size(480, 640) == (480, 640)  # UTD-MHAD: unchanged
    assert working_size(240, 320) == (240, 320)  # HMDB51 / UCF101: unchanged
    assert working_size(720, 1280) == (360, 640)
    assert working_size(1280, 720) == (640, 360)  # portrait
    assert working_size(2160, 3840) == (360, 640)
    assert working_size(16, 4096) == (16, 640)  # a sliver keeps MIN_WORKING_SIDE pixels: 256:1 becomes 40:1
    assert working_size(4096, 16) == (640, 16)
    assert working_size(8, 4096) == (8, 640)  # a side already under the minimum is never reduced
    assert working_size(2160, 4096) == (338, 640)
    big = np.full((720, 1280, 3), 7, np.uint8)
    small = shrink_to_working(big)
    assert small.shape == (360, 640, 3) and small.dtype == np.uint8 and (small == 7).all()
    same = np.zeros((480, 640, 3), np.uint8)
    assert shrink_to_working(same) is same


@pytest.mark.parametrize("frame, expected", [
    ((480, 640), (120, 160)),  # UTD-MHAD: 4x, as the shipped model was trained
    ((360, 640), (90, 160)),  # 16:9 webcams and phones
    ((256, 306), (134, 160)), ((256, 452), (91, 160)),
    ((640, 360), (284, 160)),  # portrait
    ((16, 640), (40, 160)),  # flatter than 4:1 → squeezed to 4:1
    ((640, 16), (640, 160)),  # taller than 1:4 → squeezed to 1:4
    ((16, 16), (160, 160)),  # tiny frames are enlarged to the flow width
])
def test_flow_size_keeps_the_aspect_ratio_between_1_4_and_4_1(frame, expected):
    from actcap.data.frames import flow_size

    assert flow_size(*frame, 160) == expected


def test_area_pool_equals_opencv_at_whole_scales_and_averages_by_area_otherwise():
    from actcap.data.frames import area_pool

    votes = np.random.default_rng(0).random((120, 160, 8), dtype=np.float32)  # 8 channels: more than OpenCV's 4
    whole = cv2.resize(votes, (4, 4), interpolation=cv2.INTER_AREA)  # OpenCV takes any channel count at 30x40
    assert np.array_equal(area_pool(votes, (4, 4)), whole)  # bit for bit: the shipped model's features
    odd = votes[:90]  # 90 rows into 4 cells: 22.5 rows each, the row between two cells shared by half
    pooled = area_pool(odd, (4, 4))
    assert pooled.shape == (4, 4, 8)
    col = odd[:, :40].mean(axis=1)  # (90, 8): the first column of cells
    first, second = col[:22].sum(0) + col[22] / 2, col[22] / 2 + col[23:45].sum(0)
    np.testing.assert_allclose(pooled[0, 0], first / 22.5, rtol=1e-5)
    np.testing.assert_allclose(pooled[1, 0], second / 22.5, rtol=1e-5)
    np.testing.assert_allclose(area_pool(votes[:, :, :5], (3, 7)).mean((0, 1)), votes[:, :, :5].mean((0, 1)),
                               rtol=1e-5)  # 5 channels, odd grid: the mean is kept


def test_area_pool_refuses_to_enlarge():
    from actcap.data.frames import area_pool

    with pytest.raises(ValueError, match=r"area_pool reduces an image; \(3, 40\) is smaller than the grid \(4, 4\)"):
        area_pool(np.zeros((3, 40, 8), np.float32), (4, 4))
