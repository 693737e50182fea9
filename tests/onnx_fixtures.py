"""Fixtures for the engine and export tests (test_engine, test_export); import the ones a test module uses.

The frame CNN is exported to ONNX once per test session, into a temporary ACTCAP_CACHE shared by the
session, and calibrated to int8 once on a few frames. Real frames come from ../shared/data/utd-mhad-5
when present, else smooth synthetic images.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from actcap.features.quantize import synthetic_frames
from actcap.features.streams import create_stream
from actcap.models.backbones import create_backbone, is_backbone_available
from actcap.models.recognizer import ModelConfig, Recognizer

SHARED_UTD = Path(__file__).resolve().parents[2] / "shared" / "data" / "utd-mhad-5"
BACKBONE = "efficientnet_lite0"
CLASSES = ["clap", "swipe_left", "swipe_right", "throw", "wave"]


def real_clips(n: int) -> list[Path]:
    """n real clips spread over the classes, or skip the test."""
    if not SHARED_UTD.is_dir():
        pytest.skip(f"real UTD-MHAD clips not found at {SHARED_UTD}")
    clips = sorted(SHARED_UTD.rglob("*.avi"))
    return [clips[(2 * i + 1) * len(clips) // (2 * n)] for i in range(n)]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory) -> Path:
    """ACTCAP_CACHE for the whole session: every ONNX export and calibration lands (and is reused) here."""
    if not is_backbone_available(BACKBONE):
        pytest.skip(f"{BACKBONE} weights are not installed")
    root = tmp_path_factory.mktemp("actcap-cache")
    old = os.environ.get("ACTCAP_CACHE")
    os.environ["ACTCAP_CACHE"] = str(root)
    yield root
    if old is None:
        os.environ.pop("ACTCAP_CACHE", None)
    else:
        os.environ["ACTCAP_CACHE"] = old


@pytest.fixture(scope="session")
def backbone(onnx_cache):
    return create_backbone(BACKBONE)


@pytest.fixture(scope="session")
def frames() -> np.ndarray:
    """(12, H, W, 3) uint8: 4 frames from each of 3 real clips, or smooth synthetic frames without the data."""
    if not SHARED_UTD.is_dir():
        return synthetic_frames(12, (240, 320), seed=1)
    from actcap.data.sampling import uniform_indices
    from actcap.data.video import open_clip

    out = []
    for path in real_clips(3):
        clip = open_clip(path)
        out.append(clip.read(uniform_indices(len(clip), 4)))
    return np.concatenate(out)


@pytest.fixture(scope="session")
def calibration() -> np.ndarray:
    """8 frames to calibrate int8 on in tests (the real default uses 64): fast, and enough to be close."""
    if not SHARED_UTD.is_dir():
        return synthetic_frames(8, (240, 320), seed=2)
    from actcap.data.sampling import uniform_indices
    from actcap.data.video import open_clip

    return np.concatenate([open_clip(p).read(uniform_indices(len(open_clip(p)), 2)) for p in real_clips(4)])


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, onnx_cache) -> Path:
    """A 5-class appearance+flow model with an LSTM head (seeded random weights) saved as a run directory.

    The head's input statistics come from real features, so its probabilities are spread, not all ~0.2."""
    torch.manual_seed(0)
    streams = [create_stream("appearance", backbone=BACKBONE), create_stream("flow", grid=2, width=64)]
    dim = sum(s.dim for s in streams)
    model = Recognizer(ModelConfig(classes=CLASSES, streams=[s.config() for s in streams], feature_dim=dim,
                                   num_slots=8, head="lstm", head_kwargs={"hidden": 32}))
    feats = np.concatenate([s.extract(synthetic_frames(6, (120, 160), seed=3)) for s in streams], axis=1)
    model.head.fit_input_stats(torch.from_numpy(feats))
    return model.save(tmp_path_factory.mktemp("models") / "appearance-flow")
