"""The one inference path: evaluate, predict, the live stream and the timeline share one Pipeline (issue 13)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from serve_fixtures import UTD_CLASSES, moving_frames

from actcap.data.folders import ClipRecord
from actcap.data.sampling import kept_indices, uniform_indices
from actcap.features.cache import read_for
from actcap.features.streams.appearance import AppearanceStream
from actcap.inference.pipeline import Pipeline
from actcap.inference.predictor import Predictor
from actcap.inference.timeline import window_starts
from actcap.models.recognizer import ModelConfig, Recognizer
from actcap.training.evaluate import evaluate

D, T = 6, 4


def features_model(sampling: str, temperature: float = 1.0, cache_frames: int = 0) -> Recognizer:
    torch.manual_seed(0)
    model = Recognizer(ModelConfig(classes=["a", "b", "c"], streams=[], feature_dim=D, num_slots=T, head="lstm",
                                   sampling=sampling, cache_frames=cache_frames, head_kwargs={"hidden": 8}))
    model.config.calibration = {"temperature": temperature}
    return model.eval()


@pytest.mark.parametrize("sampling", ["frames", "dense"])
def test_clip_probs_are_the_verdicts_probs(sampling):
    """evaluate's batched scores of cached features == the verdict predict and serve give, clip by clip."""
    pipeline = Pipeline(features_model(sampling, temperature=1.7, cache_frames=32))
    rng = np.random.default_rng(0)
    # (L, D + 1): features + motion column; frames sampling picks from the source clip, the cache from its kept
    # frames, so they agree up to the cache's length (longer clips: see the note in training/evaluate.py)
    lengths = (1, 3, 4, 9, 31, 32) + ((33, 70, 200) if sampling == "dense" else ())
    clips = [rng.normal(size=(n, D + 1)).astype(np.float32) for n in lengths]
    cached = [c[kept_indices(len(c), 32), :-1] for c in clips]  # what FeatureCache holds for each clip
    batched = pipeline.clip_probs(cached, batch_size=4)
    for c, probs in zip(clips, batched):
        idx = pipeline.frames_to_read(len(c))
        np.testing.assert_allclose(probs, pipeline.verdict(c[idx]).probs, atol=1e-6)
    assert batched.shape == (len(lengths), 3)


def test_evaluate_judges_each_clip_as_predict_does():
    """With an open set, evaluate's verdicts (Pipeline.clip_verdicts) carry predict's state and score clip by clip,
    and `answered` counts a clip only when it is answered `action` with the right label."""
    from actcap.training.evaluate import answered_accuracy

    model = features_model("dense", temperature=1.3, cache_frames=32)
    rng = np.random.default_rng(2)
    means = rng.normal(size=(3, 8)).astype(np.float32)
    model.extra_tensors = {"open_set.means": torch.from_numpy(means / np.linalg.norm(means, axis=1, keepdims=True))}
    clips = [rng.normal(size=(n, D + 1)).astype(np.float32) for n in (5, 9, 17, 30, 32, 12)]
    for c in clips:
        c[:, -1] = 0.5  # motion column: everyone moves (the cache has no motion, so evaluate never says idle)
    model.config.open_set = {"score": "prototype", "score_kwargs": {"match": "predicted"}, "threshold": 0.0}
    scores = [Pipeline(model).verdict(c).open_set_score for c in clips]
    model.config.open_set["threshold"] = float(np.median(scores))  # about half the clips unknown
    pipeline = Pipeline(model)
    got = pipeline.clip_verdicts([c[:, :-1] for c in clips], batch_size=4)
    want = [pipeline.verdict(c) for c in clips]
    assert [v.state for v in got] == [v.state for v in want] and {"action", "unknown"} <= {v.state for v in got}
    np.testing.assert_allclose([v.open_set_score for v in got], [v.open_set_score for v in want], atol=1e-6)
    labels = [int(v.probs.argmax()) for v in want]  # every clip right by argmax
    action = [v.state == "action" for v in want]
    assert answered_accuracy(got, labels) == {"top1": np.mean(action), "unknown": 1 - np.mean(action),
                                              "action_top1": 1.0}


def test_evaluate_says_idle_when_a_pose_model_sees_nobody():
    """clip_verdicts asks the pipeline's in_view (a pose stream's) on each clip's slots, as `verdict` does."""
    pipeline = Pipeline(features_model("dense", cache_frames=32))
    pipeline.judge.in_view = lambda slots: bool(slots[:, 0].max() > 0)  # stands in for PoseStream.in_view
    rng = np.random.default_rng(3)
    clips = [np.abs(rng.normal(size=(12, D + 1))).astype(np.float32) for _ in range(3)]
    clips[1][:, 0] = -1.0  # nobody in view
    for c in clips:
        c[:, -1] = 0.5  # everyone else moves
    got = pipeline.clip_verdicts([c[:, :-1] for c in clips])
    assert [v.state for v in got] == [pipeline.verdict(c).state for c in clips] == ["action", "idle", "action"]
    assert [v.nobody for v in got] == [False, True, False]


def test_clip_probs_average_the_views_like_predict_clip():
    pipeline = Pipeline(features_model("frames"))
    f = np.random.default_rng(1).normal(size=(30, D + 1)).astype(np.float32)
    from actcap.data.sampling import multi_clip_indices

    views = [pipeline.verdict(f[idx]) for idx in multi_clip_indices(30, T, 3)]
    np.testing.assert_allclose(pipeline.clip_probs([f[:, :-1]], num_clips=3)[0],
                               pipeline.judge.combine(views).probs, atol=1e-6)


def test_dense_reads_as_many_frames_as_training_cached():
    assert Pipeline(features_model("dense", cache_frames=32)).frames_to_read(100) == kept_indices(100, 32)
    assert Pipeline(features_model("dense")).frames_to_read(100) == kept_indices(100, 64)  # not stated: 64
    assert Pipeline(features_model("frames")).frames_to_read(100) == uniform_indices(100, T)


def test_old_config_files_name_cache_frames_and_engine_from_the_training_record():
    old = {"classes": ["a"], "streams": [], "feature_dim": 2, "train": {"max_frames": 48, "engine": "onnx-int8"}}
    cfg = ModelConfig.from_dict(old)
    assert (cfg.cache_frames, cfg.engine) == (48, "onnx-int8")
    cfg = ModelConfig.from_dict({**old, "cache_frames": 20, "engine": "onnx"})
    assert (cfg.cache_frames, cfg.engine) == (20, "onnx")  # the named fields win
    assert (ModelConfig.from_dict({"classes": ["a"], "streams": [], "feature_dim": 2}).cache_frames,
            ModelConfig(classes=["a"], streams=[], feature_dim=2).engine) == (64, None)


def test_saved_model_names_its_fields(tmp_path):
    features_model("dense", cache_frames=32).save(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert (saved["cache_frames"], saved["engine"]) == (32, None)
    assert Recognizer.load(tmp_path).config.cache_frames == 32


def test_evaluate_and_predict_run_the_int8_engine_the_head_was_trained_on():
    stream = AppearanceStream("efficientnet_lite0").config()
    model = Recognizer(ModelConfig(classes=["a", "b"], streams=[stream], feature_dim=1280, engine="onnx-int8",
                                   head="mean"))
    assert Pipeline(model).engine == "onnx-int8"
    assert Pipeline(model).streams[0].engine_kind == "onnx-int8"  # what evaluate builds its cache from
    assert Pipeline(model, engine="torch").streams[0].engine_kind == "torch"


def test_evaluate_answers_as_predict_does(tmp_path, tiny_model_dir, write_video):
    """Per clip, evaluate's predicted label and confidence are predict's (same slots, head, temperature)."""
    model = Recognizer.load(tiny_model_dir)
    model.config.calibration = {"temperature": 2.0}
    records = []
    for i, n in enumerate((5, 12, 30, 64)):
        path = write_video(tmp_path / "clips" / UTD_CLASSES[i] / f"c{i}.avi", moving_frames(n, seed=i))
        records.append(ClipRecord(path, UTD_CLASSES[i], path.stem))
    metrics = evaluate(model, records, cache_dir=tmp_path / "cache", progress=False)
    predictor = Predictor(model, open_set=False)
    for r, p in zip(records, metrics["predictions"]):
        want = predictor.predict_paths([r.path])
        assert (p["predicted"], p["confidence"]) == (want["prediction"], want["confidence"]), r.path


def test_predictor_steps_are_the_pipelines(tiny_model_dir, write_video, tmp_path):
    """predict_clip reads the frames frames_to_read names and judges them with verdict."""
    predictor = Predictor.load(tiny_model_dir, open_set=False)
    from actcap.data.video import open_clip

    clip = open_clip(write_video(tmp_path / "c.avi", moving_frames(20, seed=3)))
    verdict = predictor.verdict(predictor.inputs(*read_for(predictor.streams, clip, predictor.frames_to_read(20))))
    out = predictor.predict_clip(clip)
    assert out["confidence"] == round(float(verdict.probs.max()), 4) and out["frames_used"] == 8


@pytest.mark.parametrize("n, win, step, starts", [(10, 4, 4, [0, 4, 6]), (10, 4, 3, [0, 3, 6]), (3, 4, 2, [0]),
                                                  (4, 4, 1, [0]), (9, 2, 5, [0, 5, 7])])
def test_window_starts_end_on_the_last_frame(n, win, step, starts):
    assert window_starts(n, win, step) == starts


def test_every_answer_is_a_prediction_and_the_api_schema_is_that_type(tiny_model_dir, write_video, tmp_path):
    """The dicts predict, the timeline and the live stream return have exactly result.Prediction's keys, and
    serve/schemas.py reuses that type rather than a copy of it."""
    from pydantic import TypeAdapter

    from actcap.data.video import open_clip
    from actcap.inference import result
    from actcap.serve import schemas

    predictor = Predictor.load(tiny_model_dir)
    frames = moving_frames(20, seed=5)
    path = write_video(tmp_path / "c.avi", frames)
    live = predictor.new_stream()
    live.push_many(list(frames))
    answers = {"file": predictor.predict_paths([path]), "frames": predictor.predict_frames(frames),
               "live": live.predict(), "timeline": predictor.predict_timeline(open_clip(path), window=0.5)}
    check = TypeAdapter(result.Prediction)
    for where, out in answers.items():
        assert check.validate_python(out) == out, where
        optional = {"segments", "narrative"} if where in ("timeline", "live") else set()
        assert set(out) == result.Prediction.__required_keys__ | optional, where
    assert (schemas.Prediction, schemas.Segment, schemas.LabelScore) == (result.Prediction, result.Segment,
                                                                         result.LabelScore)


def test_actcap_serve_resolves_and_loads_its_model_once(monkeypatch, tiny_model_dir):
    """`actcap serve` loads the model before the server starts (a bad one is a one-line error) and lifespan
    serves that very predictor: one Recognizer.load, on the resolved directory."""
    from fastapi.testclient import TestClient

    from actcap.cli import main
    from actcap.serve.server import Server

    loads, real = [], Recognizer.load.__func__
    monkeypatch.setattr(Recognizer, "load", classmethod(lambda cls, d: loads.append(d) or real(cls, d)))
    served = []

    def run(server, sockets=None):
        with TestClient(server.app, base_url="http://127.0.0.1:5000") as client:
            served.append((client.get("/health").json()["status"], server.config.port))

    monkeypatch.setattr(Server, "run", run)
    assert main(["serve", "--model", str(tiny_model_dir)]) == 0
    assert served == [("ready", 5000)] and loads == [tiny_model_dir]


def test_num_slots_is_stored_under_its_old_key(tmp_path):
    """config.json keeps `num_frames` for the slot count (files already out there, the shipped one, load)."""
    Recognizer(ModelConfig(classes=["a"], streams=[], feature_dim=2, num_slots=5, head="mean")).save(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["num_frames"] == 5 and "num_slots" not in saved
    assert Recognizer.load(tmp_path).config.num_slots == 5
    assert ModelConfig.from_dict({"classes": ["a"], "streams": [], "feature_dim": 2, "num_frames": 7}).num_slots == 7


def test_engine_precision_and_threads_are_decided_in_one_place(caplog, monkeypatch):
    import warnings

    from actcap.features import engine

    assert engine.resolve_engine(None, "onnx-int8") == "onnx-int8"  # the head learnt int8 features
    assert engine.resolve_engine(None, None) is None and engine.resolve_engine("torch", None) == "torch"
    with caplog.at_level("WARNING"):
        assert engine.resolve_engine("onnx", "onnx-int8") == "onnx"
    assert caplog.messages == ["this model was trained on int8 features (--engine onnx-int8); with --engine onnx "
                               "its answers may differ from the ones it was validated with"]
    assert [engine.feature_precision(k) for k in ("onnx-int8", "onnx", "torch", None)] == ["int8"] + ["fp32"] * 3
    with warnings.catch_warnings():  # no GPU here: torch warns that it disables the autocast it builds
        warnings.simplefilter("ignore")
        assert engine.torch_autocast(torch.device("cuda")).fast_dtype == torch.float16
        assert engine.torch_autocast(torch.device("cuda"), training=True).fast_dtype == torch.bfloat16  # finetune
    assert type(engine.torch_autocast(torch.device("cpu"), training=True)).__name__ == "nullcontext"
    from actcap.features import threads as policy  # threads and CPU priority: decided next door, scoped

    before = torch.get_num_threads()
    with policy.torch_threads(before + 2):
        assert torch.get_num_threads() == before + 2
    assert torch.get_num_threads() == before  # restored: no block changes the threads after it
    threads = []
    monkeypatch.setattr(torch, "set_num_threads", threads.append)
    policy.use_head_threads("onnx")
    policy.use_head_threads("torch")
    assert threads == [1]


def test_a_timeline_at_a_low_frame_rate_widens_its_windows_to_the_models_slots(tiny_model_dir, tmp_path, write_video):
    """A GIF or slide show at 1 fps: a 3 s window would hold 3 frames. Each window holds half the model's slots
    instead, and the answer says so; at 15 fps nothing changes."""
    from actcap.data.video import open_clip

    predictor = Predictor.load(tiny_model_dir)
    slots = predictor.num_slots
    assert slots // 2 > 3
    frames = moving_frames(3 * slots, seed=2)
    slow = predictor.predict_timeline(open_clip(write_video(tmp_path / "slow.avi", frames, fps=1.0)))
    assert slow["warnings"] == [f"{tmp_path / 'slow.avi'}: at 1 fps a 3 s window holds 3 frames; each window holds "
                                f"{slots // 2} ({slots // 2} s), half the model's {slots} slots"]
    assert slow["segments"][-1]["end"] == pytest.approx(3 * slots)  # the windows tile all 3·slots seconds
    assert min(s["end"] - s["start"] for s in slow["segments"]) >= 0.5  # no 3-frame flicker segments
    fast = predictor.predict_timeline(open_clip(write_video(tmp_path / "fast.avi", frames, fps=15.0)))
    assert fast["warnings"] == []


def test_live_narrative_is_bounded_to_its_history_and_told_like_a_timeline(tiny_model_dir):
    """A live stream keeps the last HISTORY_S seconds (at 15 frames/s) of inputs and of its updates' verdicts, not
    the whole stream; every answer carries `segments` (seconds into that history) and a `narrative`."""
    from actcap.inference.live import HISTORY_S

    predictor = Predictor.load(tiny_model_dir)
    live, frames = predictor.new_stream(), moving_frames(40, seed=6)
    keep = round(HISTORY_S * 15)
    for k in range(keep // 10 + 5):  # 350 frames, 10 at a time
        live.push_many(list(frames[(k * 10) % 30:(k * 10) % 30 + 10]))
        out = live.predict()
    assert len(live.history) == keep and live.frames_seen == 10 * (keep // 10 + 5)
    first = live.frames_seen - keep
    assert all(a >= first for a, _, _ in live.verdicts) and len(live.verdicts) == keep // 10  # windows of 8
    assert isinstance(out["narrative"], str) and out["narrative"].endswith(".")
    assert all(0 <= s["start"] < s["end"] <= keep / 15 for s in out["segments"])
