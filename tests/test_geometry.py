"""Every registered stream at every frame size from 16 to 4096 px a side, odd, prime and extreme aspect ratios.

Frames go the way decoded frames go (`shrink_to_working`, then the stream), so a 4096x4096 frame costs no
more than a 640x640 one. The CNN is a tiny stand-in behind the real engine: the real preprocessing
(`to_model_input` at the backbone's input size) runs, the network does not matter here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from actcap.data.frames import shrink_to_working
from actcap.features.engine import TorchEngine
from actcap.features.streams import create_stream, list_streams
from actcap.features.streams.flow import FlowStream
from actcap.models.backbones import Backbone, get_backbone_spec

SIDES = [16, 17, 61, 97, 127, 256, 306, 452, 641, 1280, 2160, 4096]
SHIFT = 0.04  # the pattern moves right by 4% of the frame width each frame


def moving_pattern(t: int, h: int, w: int) -> np.ndarray:
    """(t, h, w, 3) uint8: a smooth pattern (a few periods across each side) moving right by SHIFT·w a frame."""
    y, x = np.linspace(0, 1, h, dtype=np.float32)[:, None], np.linspace(0, 1, w, dtype=np.float32)[None, :]
    out = np.empty((t, h, w, 3), np.uint8)
    for i in range(t):
        v = 0.5 + 0.25 * np.sin(2 * np.pi * 3 * (x - i * SHIFT)) + 0.25 * np.cos(2 * np.pi * 2 * y)  # (h, w)
        out[i] = (v * 255).astype(np.uint8)[..., None]
    return out


def decoded(raw: np.ndarray) -> np.ndarray:
    """What a decoder hands on: each frame reduced to working size."""
    return np.stack([shrink_to_working(f) for f in raw])


def tiny_appearance():
    """The appearance stream with the real engine and preprocessing around a two-layer stand-in CNN."""
    torch.manual_seed(0)
    spec = get_backbone_spec("efficientnet_lite0")
    net = nn.Sequential(nn.Conv2d(3, 8, 5, stride=4), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(8, spec.feature_dim))
    engine = TorchEngine(Backbone(spec, net, "tiny:random").eval(), device="cpu")
    return create_stream("appearance", engine_obj=engine)


def make_stream(name: str):
    if name == "appearance":
        return tiny_appearance()
    if name == "flow":
        return FlowStream(cut=100.0)  # the shipped geometry (grid 4, 160 px); fast test motion is no cut
    if name == "pose":
        return create_stream("pose")  # the real BlazePose models behind the real letterboxing
    raise AssertionError(f"stream {name!r} has no size-sweep setup here; add one")


@pytest.fixture(scope="module")
def streams():
    return {name: make_stream(name) for name in list_streams()}


@pytest.mark.parametrize("width", SIDES)
def test_every_stream_gives_finite_features_of_its_size_at_every_frame_size(streams, width):
    for height in SIDES:
        frames = decoded(moving_pattern(2, height, width))
        assert max(frames.shape[1:3]) <= 640
        for name, stream in streams.items():
            f = stream.extract(frames, np.concatenate([frames[:1], frames[:-1]]))
            assert f.shape == (2, stream.dim) and f.dtype == np.float32, (name, height, width)
            assert np.isfinite(f).all(), (name, height, width)


@pytest.mark.parametrize("height, width", [(256, 306), (256, 452), (61, 97), (360, 640), (720, 1280),
                                           (1280, 720), (16, 4096), (4096, 16), (17, 17)])
def test_flow_sees_rightward_motion_at_odd_sizes_and_mirrors_it(height, width):
    s = FlowStream(cut=100.0)
    frames = decoded(moving_pattern(3, height, width))
    f = s.extract(frames)[1:]  # (2, bins·g·g); the first frame is its own predecessor: no motion
    by_bin = f.reshape(2, s.bins, -1).sum(axis=(0, 2))  # (bins,)
    assert by_bin[0] > 5 * by_bin[s.bins // 2], by_bin  # bin 0 (rightward) over bin 4 (leftward)
    mirrored = s.extract(frames[:, :, ::-1].copy())[1:]
    assert mirrored.reshape(2, s.bins, -1).sum(axis=(0, 2))[s.bins // 2] > 5 * by_bin[s.bins // 2]
    # the mirror augmentation (computed from features) matches flow computed on mirrored frames
    np.testing.assert_allclose(s.mirror(f), mirrored, atol=0.02 * np.abs(f).max())


def test_shipped_flow_geometry_is_unchanged_for_utd_mhad_frames():
    """640x480 → 160x120 flow image → 4x4 grid of 40x30-pixel cells: what the shipped model was trained on."""
    s = FlowStream()
    frames = moving_pattern(2, 480, 640)
    assert decoded(frames).shape == frames.shape
    from actcap.data.frames import to_gray_small

    assert to_gray_small(frames, s.width).shape == (2, 120, 160)
    assert s.extract(frames).shape == (2, 128)


def test_flow_grid_must_fit_the_flattest_flow_image():
    with pytest.raises(ValueError, match=r"flow stream needs grid <= width / 4; got grid=5, width=16"):
        FlowStream(grid=5, width=16)
