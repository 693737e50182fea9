"""Frame-CNN engines agree: ONNX fp32 within tolerance of torch, same top-1 on real clips, int8 close;
exported and calibrated files are cached, reused and keyed by what made them."""

import json
import warnings

import numpy as np
import onnx
import pytest
import torch
from onnx_fixtures import BACKBONE, real_clips

from actcap.features import engine as eng
from actcap.features.engine import (
    FP32_FEATURE_ATOL,
    INT8_FEATURE_REL,
    PROB_ATOL,
    create_engine,
    list_engines,
    physical_cores,
    prepare_onnx,
    torch_autocast,
)
from actcap.registry import UnknownNameError


@pytest.fixture(scope="session")
def torch_features(backbone, frames):
    return create_engine(backbone, "torch")(frames)


def rel_l2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)


def test_engine_registry():
    assert list_engines() == ["onnx", "onnx-int8", "torch"]
    with pytest.raises(UnknownNameError) as e:
        create_engine("efficientnet_lite0", "tensorrt")
    assert str(e.value) == "unknown engine 'tensorrt'; choose one of: onnx, onnx-int8, torch"
    assert eng.default_engine() == ("torch" if torch.cuda.is_available() else "onnx")
    assert physical_cores() >= 1


def test_precision_is_decided_in_one_place():
    assert isinstance(torch_autocast(torch.device("cpu")), type(eng.contextlib.nullcontext()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # without a GPU torch warns that it disables autocast
        ctx = torch_autocast(torch.device("cuda"))
    assert isinstance(ctx, torch.autocast) and ctx.fast_dtype == torch.float16


def test_onnx_graph_is_folded(backbone):
    """Export folds EfficientNet's run-time padding arithmetic and Pad nodes into the Convs."""
    ops = {n.op_type for n in onnx.load(str(prepare_onnx(backbone))).graph.node}
    assert ops == {"Conv", "Clip", "Add", "ReduceMean"}


def test_onnx_fp32_matches_torch(backbone, frames, torch_features):
    out = create_engine(backbone, "onnx")(frames)
    assert out.shape == torch_features.shape == (len(frames), 1280) and out.dtype == np.float32
    assert np.abs(out - torch_features).max() <= FP32_FEATURE_ATOL
    assert rel_l2(out, torch_features).max() <= 1e-4


def test_int8_is_close(backbone, frames, torch_features, calibration):
    out = create_engine(backbone, "onnx-int8", calibration=calibration)(frames)
    assert out.shape == torch_features.shape and np.isfinite(out).all()
    assert np.median(rel_l2(out, torch_features)) <= INT8_FEATURE_REL


def test_onnx_fp32_picks_the_same_imagenet_class_as_torch(backbone, frames, torch_features):
    from actcap.models.backbones import imagenet_classifier

    w, b = imagenet_classifier(BACKBONE)  # (1000, 1280), (1000,)
    ours = create_engine(backbone, "onnx")(frames) @ w.T + b
    ref = torch_features @ w.T + b
    assert ours.shape == (len(frames), 1000)
    assert (ours.argmax(1) == ref.argmax(1)).all()  # 1000 classes: far stricter than a 5-class head


def test_same_top1_on_real_clips(model_dir):
    from actcap.data.video import open_clip
    from actcap.inference.predictor import Predictor

    clips = real_clips(3)
    ref, fast = Predictor.load(model_dir, engine="torch"), Predictor.load(model_dir, engine="onnx")
    for path in clips:
        a, b = ref.predict_clip(open_clip(path)), fast.predict_clip(open_clip(path))
        assert a["prediction"] == b["prediction"], path
        gaps = [abs(x["confidence"] - y["confidence"]) for x, y in zip(a["top_k"], b["top_k"])]
        assert max(gaps) <= PROB_ATOL + 1e-4, path  # + the 4-decimal rounding of the result


def test_onnx_cache_is_reused_and_keyed(backbone, calibration, monkeypatch):
    fp32 = prepare_onnx(backbone)
    int8 = prepare_onnx(backbone, "int8", calibration)
    manifest = json.loads(int8.with_suffix(".json").read_text())
    assert manifest["calibration"]["frames"] == len(calibration) and manifest["from"] == fp32.name
    # a second request rebuilds nothing
    monkeypatch.setattr(eng, "export_onnx", lambda *a, **k: pytest.fail("exported twice"))
    monkeypatch.setattr("actcap.features.quantize.quantize_onnx", lambda *a, **k: pytest.fail("calibrated twice"))
    assert prepare_onnx(backbone) == fp32 and prepare_onnx(backbone, "int8", calibration) == int8
    # other calibration frames make another file; other weights another fp32 file
    calls = []
    monkeypatch.setattr("actcap.features.quantize.quantize_onnx", lambda src, out, x: calls.append(out) or out.touch())
    other = prepare_onnx(backbone, "int8", calibration[::-1].copy())
    assert other != int8 and calls == [other]
    assert eng.onnx_path(backbone) != eng.onnx_path(_renamed(backbone, "efficientnet_lite0:finetuned:abc"))


def test_stale_cache_is_a_readable_error(backbone):
    path = prepare_onnx(backbone)
    manifest = path.with_suffix(".json")
    good = manifest.read_text()
    try:
        manifest.write_text(json.dumps({**json.loads(good), "weights": "something else"}))
        with pytest.raises(RuntimeError, match=r"cached model .* was built from .* delete .* to rebuild it"):
            prepare_onnx(backbone)
    finally:
        manifest.write_text(good)


def test_unknown_precision(backbone):
    with pytest.raises(ValueError, match="unknown ONNX precision 'fp16'; choose one of: fp32, int8"):
        prepare_onnx(backbone, "fp16")


def _renamed(backbone, weights_id):
    class Fake:
        spec = backbone.spec

    Fake.weights_id = weights_id
    return Fake


def test_a_model_trained_on_int8_features_predicts_with_int8_unless_told_otherwise(model_dir, tmp_path, caplog):
    import shutil

    from actcap.inference.predictor import Predictor

    def appearance(p):
        return next(s for s in p.streams if s.name == "appearance")

    int8_dir = shutil.copytree(model_dir, tmp_path / "int8-model")
    cfg = json.loads((int8_dir / "config.json").read_text())
    cfg["train"]["engine"] = "onnx-int8"
    (int8_dir / "config.json").write_text(json.dumps(cfg))
    assert appearance(Predictor.load(int8_dir)).engine_kind == "onnx-int8"
    assert appearance(Predictor.load(model_dir)).engine_kind is None  # fp32-trained: the default engine
    with caplog.at_level("WARNING"):
        assert appearance(Predictor.load(int8_dir, engine="onnx")).engine_kind == "onnx"
    assert "trained on int8 features" in caplog.text
