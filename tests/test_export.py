"""`actcap export` bundles: the round trip through ONNX matches actcap's Predictor, the runner needs no torch."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from onnx_fixtures import BACKBONE, CLASSES, SHARED_UTD, real_clips

from actcap.cli import main
from actcap.features.engine import PROB_ATOL
from actcap.features.quantize import synthetic_frames
from actcap.features.streams import create_stream
from actcap.inference.export import BundlePredictor, export_bundle, export_head, resize
from actcap.inference.predictor import Predictor
from actcap.models.heads import HEADS, head_outputs, list_heads
from actcap.models.recognizer import ModelConfig, Recognizer


@pytest.fixture(scope="session")
def bundle(model_dir, tmp_path_factory) -> Path:
    """The appearance+flow model exported through the real CLI entry point."""
    out = tmp_path_factory.mktemp("bundle")
    assert main(["export", "--model", str(model_dir), "--format", "onnx", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def appearance_model_dir(tmp_path_factory, onnx_cache) -> Path:
    torch.manual_seed(1)
    stream = create_stream("appearance", backbone=BACKBONE)
    model = Recognizer(ModelConfig(classes=CLASSES, streams=[stream.config()], feature_dim=stream.dim,
                                   num_slots=4, head="mean"))
    return model.save(tmp_path_factory.mktemp("models") / "appearance")


def test_bundle_files_and_config(bundle, model_dir):
    assert sorted(p.name for p in bundle.iterdir()) == ["README.md", "appearance.onnx", "config.json",
                                                         "head.onnx", "runner.py"]
    cfg = json.loads((bundle / "config.json").read_text())
    assert cfg["classes"] == CLASSES and cfg["num_slots"] == 8
    assert [s["name"] for s in cfg["streams"]] == ["appearance", "flow"]
    assert cfg["streams"][0]["preprocessing"]["input_size"] == 224 and cfg["streams"][0]["precision"] == "fp32"
    assert set(cfg["files"]) == {"appearance.onnx", "head.onnx"}
    v = cfg["verification"]
    assert v["same_top1"] and v["same_answer"] and v["features_max_abs"] < 1e-3 and v["probs_max_abs"] < PROB_ATOL


def test_bundle_matches_predictor(bundle, model_dir):
    """Same label, probabilities within PROB_ATOL, on synthetic frames and (when present) a real clip."""
    ref, runner = Predictor.load(model_dir, engine="torch"), BundlePredictor(bundle)
    inputs = [synthetic_frames(11, (120, 160), seed=5)]
    if (real := _maybe_real_clip()) is not None:
        inputs.append(real)
    for frames in inputs:
        a, b = ref.predict_frames(frames), runner.predict_frames(frames)
        assert a["prediction"] == b["prediction"]
        probs = {x["label"]: x["confidence"] for x in a["top_k"]}
        assert max(abs(probs[c] - p) for c, p in zip(runner.classes, b["probs"])) <= PROB_ATOL + 1e-4


def test_runner_needs_only_numpy_and_onnxruntime(appearance_model_dir, tmp_path):
    """bundle/runner.py on its own: no torch, no actcap (the model has no flow stream)."""
    out = tmp_path / "bundle"
    assert main(["export", "--model", str(appearance_model_dir), "--out", str(out)]) == 0
    frames = synthetic_frames(6, (96, 128), seed=7)
    np.save(tmp_path / "frames.npy", frames)
    code = ("import sys, json, numpy as np; sys.path.insert(0, sys.argv[1]); from runner import BundlePredictor;"
            "r = BundlePredictor(sys.argv[1]).predict_frames(np.load(sys.argv[2]));"
            "print(json.dumps([r['prediction'], r['probs'].tolist(), sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('torch', 'actcap'))]))")
    done = subprocess.run([sys.executable, "-c", code, str(out), str(tmp_path / "frames.npy")], cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    label, probs, imported = json.loads(done.stdout)
    assert imported == []
    ref = Predictor.load(appearance_model_dir, engine="torch").predict_frames(frames)
    assert label == ref["prediction"]
    assert abs(max(probs) - ref["confidence"]) <= PROB_ATOL + 1e-4


def test_int8_bundle(appearance_model_dir, tmp_path):
    clip = tmp_path / "calib"
    clip.mkdir()
    for k, f in enumerate(synthetic_frames(4, (120, 160), seed=8)):
        cv2.imwrite(str(clip / f"frame_{k}.png"), f)
    out = tmp_path / "bundle8"
    assert main(["export", "--model", str(appearance_model_dir), "--out", str(out), "--int8",
                 "--calibration", str(clip)]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["streams"][0]["precision"] == "int8"
    assert BundlePredictor(out).predict_frames(synthetic_frames(5, (120, 160)))["prediction"] in CLASSES


def test_calibration_needs_int8(appearance_model_dir, tmp_path, capsys):
    assert main(["export", "--model", str(appearance_model_dir), "--out", str(tmp_path), "--calibration", "x"]) == 2
    assert capsys.readouterr().err.strip() == "error: --calibration only applies with --int8"


@pytest.mark.parametrize("head", list_heads())
def test_every_head_exports(head, tmp_path):
    torch.manual_seed(0)
    dim = max(12, HEADS.get(head).min_in_dim)  # a pose head reads the pose stream's values
    model = Recognizer(ModelConfig(classes=CLASSES, streams=[], feature_dim=dim, num_slots=8, head=head)).eval()
    import onnxruntime as ort

    sess = ort.InferenceSession(str(export_head(model, tmp_path / "head.onnx")), providers=["CPUExecutionProvider"])
    x = torch.randn(3, 8, dim)
    logits, emb = head_outputs(model.head, x)
    got = sess.run(None, {"features": x.numpy()})
    np.testing.assert_allclose(got[0], logits.numpy(), atol=1e-5)
    np.testing.assert_allclose(got[1], emb.numpy(), atol=1e-5)


@pytest.mark.parametrize("size", [(480, 640), (100, 90), (224, 224)])
def test_numpy_resize_matches_opencv(size):
    frames = synthetic_frames(2, size, seed=3)
    a, b = resize(frames, 224, use_cv2=True), resize(frames, 224, use_cv2=False)
    assert a.shape == b.shape == (2, 224, 224, 3)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def _maybe_real_clip():
    try:
        path = real_clips(1)[0]
    except pytest.skip.Exception:
        return None
    from actcap.data.video import open_clip

    return open_clip(path).read_all()


def test_bundle_of_the_shipped_dense_model_matches_predictor(tmp_path):
    """The shipped model fills its slots with segment means (`sampling: dense`); the bundle must too."""
    from actcap.data.video import open_clip
    from actcap.inference.export import BundlePredictor, export_bundle
    from actcap.inference.predictor import Predictor

    clip = Path(__file__).resolve().parents[2] / "shared/data/utd-mhad-5/wave/a3_s2_t1_color.avi"
    if not clip.is_file():
        pytest.skip("../shared/data is not here")
    config = export_bundle(None, tmp_path / "bundle")
    assert config["sampling"] == "dense" and config["cache_frames"] == 64
    frames = open_clip(clip).read_all()
    want = Predictor.load().predict_frames(frames)
    got = BundlePredictor(tmp_path / "bundle").predict_frames(frames)
    assert got["prediction"] == want["prediction"]
    for a, b in zip(got["top_k"], want["top_k"]):
        assert a["label"] == b["label"] and abs(a["confidence"] - b["confidence"]) < 1e-3


def test_runner_samples_and_pools_with_actcaps_own_code(tmp_path):
    """bundle/runner.py, imported where actcap cannot be, picks the frames and pools the slots actcap does,
    for every clip length 1..150 and both samplings (its code is generated from data/sampling.py and pooling.py)."""
    from actcap.data.pooling import slot_features
    from actcap.data.sampling import inference_indices, previous_indices
    from actcap.inference.export import runner_source

    (tmp_path / "runner.py").write_text(runner_source())
    code = ("import sys, json, numpy as np; sys.modules['actcap'] = None; sys.path.insert(0, sys.argv[1]);"
            "import runner as r; out = {};"
            "[out.setdefault(s, []).append([r.inference_indices(n, 8, s, 64), r.previous_indices("
            "r.inference_indices(n, 8, s, 64)), r.slot_features(np.arange(n * 3.0).reshape(n, 3) ** 1.5, 8, s)"
            "[0].tolist()]) for s in ('frames', 'dense') for n in range(1, 151)]; print(json.dumps(out))")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    for s in ("frames", "dense"):
        for n, (idx, prev, slots) in zip(range(1, 151), found[s]):
            assert idx == inference_indices(n, 8, s, 64) and prev == previous_indices(idx), (s, n)
            want = slot_features(np.arange(n * 3.0).reshape(n, 3) ** 1.5, 8, s)[0]
            np.testing.assert_array_equal(np.array(slots), want.astype(np.float64), err_msg=f"{s}, {n} frames")
    assert len(found["dense"][99][0]) == 64 and found["frames"][99][0] == [6, 18, 31, 43, 56, 68, 81, 93]


def test_runner_is_generated_from_the_modules_it_names():
    from actcap.inference.export import RUNNER_MODULES, runner_source

    source = runner_source()
    assert RUNNER_MODULES[-1] == "actcap.inference.bundle"
    assert {"actcap.honesty.verdict", "actcap.caption.policy", "actcap.inference.answer"} <= set(RUNNER_MODULES)
    assert [line for line in source.splitlines() if line.startswith(("from actcap", "import actcap"))] == []
    assert "def uniform_indices(" in source and "def slot_features(" in source and "class BundlePredictor" in source
    assert "class Rules" in source and "def caption_of(" in source and "def answer(" in source
    compile(source, "runner.py", "exec")


def test_runner_modules_define_each_name_once():
    """runner.py is the modules one after the other in one namespace: a name two of them define would make the
    later one replace the earlier for both."""
    import ast
    import importlib.util

    from actcap.inference.export import RUNNER_MODULES

    owners: dict[str, list[str]] = {}
    for name in RUNNER_MODULES:
        tree = ast.parse(Path(importlib.util.find_spec(name).origin).read_text())
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                owners.setdefault(node.name, []).append(name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if isinstance(t, ast.Name):
                        owners.setdefault(t.id, []).append(name)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}


@pytest.mark.parametrize("size", [(480, 640), (100, 90), (16, 400), (224, 224)])
def test_runner_grey_frames_match_actcaps(size):
    """The bundle's motion levels read the grey copy its own `to_gray_small` makes: OpenCV's calls, the same as
    actcap's (data/frames.py), and within one grey level of them without OpenCV where both sides shrink."""
    from actcap.data.frames import to_gray_small as actcaps
    from actcap.inference.bundle import to_gray_small

    frames = synthetic_frames(2, size, seed=4)
    np.testing.assert_array_equal(to_gray_small(frames, 80), actcaps(frames, 80))
    if min(size) >= 80:  # a 16 px high sliver is stretched to 20 rows, where OpenCV's area filter is not numpy's
        assert np.abs(to_gray_small(frames, 80, use_cv2=False).astype(int) - actcaps(frames, 80).astype(int)
                      ).max() <= 1


def test_bundle_answers_as_predict_on_the_shared_clips(tmp_path):
    """The shipped model's bundle answers like `actcap predict` clip by clip (one clip in eight of every class,
    and an empty scene: a clip's first frame held still): the same state, label and caption, confidence and
    open-set score within 1e-3."""
    from actcap.data.folders import scan_dataset
    from actcap.data.video import open_clip

    if not SHARED_UTD.is_dir():
        pytest.skip(f"real UTD-MHAD clips not found at {SHARED_UTD}")
    export_bundle(None, tmp_path / "bundle")
    ref, runner = Predictor.load(), BundlePredictor(tmp_path / "bundle")
    clips = [open_clip(r.path).read_all() for r in scan_dataset(SHARED_UTD)[::8]]
    empty = np.repeat(clips[0][:1], 40, axis=0)  # (40, H, W, 3): nobody moving
    states = []
    for frames in clips + [empty]:
        want, got = ref.predict_frames(frames), runner.predict_frames(frames)
        assert (got["state"], got["prediction"], got["caption"]) == (want["state"], want["prediction"],
                                                                     want["caption"])
        assert abs(got["confidence"] - want["confidence"]) < 1e-3
        assert abs(got["open_set_score"] - want["open_set_score"]) < 1e-3
        assert [t["label"] for t in got["top_k"]] == [t["label"] for t in want["top_k"]]
        assert (got["frames_received"], got["frames_used"], got["warnings"]) == (
            want["frames_received"], want["frames_used"], want["warnings"])
        states.append(got["state"])
    assert states[-1] == "idle" and got["caption"] == "Nobody is moving."
    assert states.count("action") >= len(clips) - 2  # the shipped model knows these people's actions


def test_a_bundle_of_the_first_format_is_refused_with_the_fix(tmp_path):
    """Bundles written before the answer path moved into them (format /1: probabilities only, no open set or
    captions) cannot answer as `actcap predict`; the runner says so and how to get a current one."""
    (tmp_path / "config.json").write_text(json.dumps({"format": "actcap-onnx-bundle/1"}))
    with pytest.raises(ValueError, match=r"format 'actcap-onnx-bundle/1' is not 'actcap-onnx-bundle/2'; export the "
                                         r"model again with this actcap \(`actcap export --model MODEL --out DIR`\)"):
        BundlePredictor(tmp_path)
