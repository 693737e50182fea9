"""`actcap bench`: every section runs for real (tiny plan) and the JSON holds the figures the docs quote."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from onnx_fixtures import SHARED_UTD, real_clips
from serve_fixtures import moving_frames

from actcap.bench.common import BenchPlan
from actcap.bench.run import run_bench
from actcap.bench.stream import stream_run
from actcap.cli.bench import format_report
from actcap.inference.predictor import Predictor


def ticking(step: float):
    """A fake clock that advances `step` seconds each time it is read."""
    reads = itertools.count()
    return lambda: next(reads) * step


def test_stream_run_computes_each_frame_once_and_predicts_every_k(tiny_model_dir):
    p = Predictor.load(tiny_model_dir)
    frames = np.concatenate([moving_frames(6, seed=s) for s in range(4)])  # 24 frames
    r = stream_run(p, frames, batch=3, every=3, min_interval_s=0)
    assert r["computed_per_frame"] == 1.0  # features of a frame are never recomputed for a later window
    assert r["predictions"] == 8 and r["refresh_per_s"] == pytest.approx(r["fps"] / 3, abs=0.1)  # both rounded
    one = stream_run(p, frames, batch=1, every=3, min_interval_s=0)
    assert one["computed_per_frame"] == 1.0 and one["predictions"] == 8
    # the clock reads 0.02 s more each time: batches at .02 .04 .06 …, predictions due by count at each,
    # but the 50 ms minimum lets only the batch at .06 (done .08) and the one at .14 (done .16) through
    capped = stream_run(p, frames, batch=3, every=3, min_interval_s=0.05, clock=ticking(0.02))
    assert capped["predictions"] == 2 and capped["computed_per_frame"] == 1.0
    assert capped["refresh_per_s"] == round(2 / 0.22, 1) and capped["predict_ms"] == pytest.approx(20)
    assert "features" not in vars(p)  # the counting wrapper is gone afterwards


def test_engines_section_compares_a_cnn_models_answers_too(model_dir):
    from actcap.bench.engines import bench_engines
    from actcap.features.quantize import synthetic_frames

    if SHARED_UTD.is_dir():
        clips = real_clips(2)
    else:  # two synthetic clips written as videos
        import cv2

        clips = []
        for k in range(2):
            path = model_dir.parent / f"synthetic_{k}.avi"
            w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (160, 120))
            for f in synthetic_frames(20, (120, 160), seed=k):
                w.write(f)
            w.release()
            clips.append(path)
    r = bench_engines(model_dir, clips, BenchPlan(trials=1, clips=2))
    assert r["top1_agreement"]["onnx_fp32"] == r["top1_agreement"]["torch_fp32"] == "2/2"
    assert r["probs_max_abs_diff"]["onnx_fp32"] <= 2e-4  # PROB_ATOL + the 4-decimal rounding of results
    assert r["imagenet_top1_agreement"]["onnx_fp32"] == "32/32"


def test_bench_runs_every_section_and_writes_the_documented_json(onnx_cache, tmp_path):
    plan = BenchPlan(trials=1, clips=2, stream_frames=12, serve_requests=2, live_seconds=1.0, decode=False,
                     stream_min_interval_s=0)  # 12 frames: 4 predictions however fast the machine streams them
    r = run_bench(None, plan=plan)  # the shipped pose-only model; the CNN sections use its default backbone
    engines = {"torch_fp32", "onnx_fp32", "onnx_int8"}
    assert set(r["clip_ms"]) == engines and all(v > 0 for v in r["clip_ms"].values())
    assert r["ratio_to_torch"]["torch_fp32"] == 1.0 and r["backbone"] == "efficientnet_lite0"
    frames = 2 * 16
    agreement = r["imagenet_top1_agreement"]
    assert agreement["torch_fp32"] == agreement["onnx_fp32"] == f"{frames}/{frames}"
    assert r["features_max_abs_diff"]["onnx_fp32"] < 1e-4 and "top1_agreement" not in r  # the model has no CNN
    assert r["stream_streams"] == ["appearance"] and r["model_stream_streams"] == ["pose"]
    assert r["stream_cnn_frames_per_frame"] == r["model_stream_cnn_frames_per_frame"] == 1.0
    assert r["stream_fps"] > 0 and r["refresh_per_s"] > 0 and r["extract_fps"] > 0 and r["cnn_fps"] > 0
    for level in ("1", "4", "16"):
        s = r["serve"][level]
        assert s["errors"] == 0 and s["rps"] > 0 and s["p99_ms"] >= s["p50_ms"] > 0
    for live in ("stream_30fps", "stream_100fps"):  # one client on /stream through a real WebSocket
        s = r["serve"][live]
        assert s["processed_fps"] > 0 and s["updates_per_s"] > 0 and s["latency_p50_ms"] >= 0
    # the client paces itself (the n-th frame goes at n/30 s or later), so never faster, however loaded
    assert 0 < r["serve"]["stream_30fps"]["sent_fps"] <= 30 and 0 < r["serve"]["stream_100fps"]["sent_fps"] <= 100
    assert r["peak_rss_mb"] > 100 and r["serve"]["server_peak_rss_mb"] > 100
    assert r["pose_track_ms"] > 0 and r["pose_detect_ms"] > 0 and r["pose_clip_ms"] > 0 and r["pose_threads"] == 1
    json.dumps(r)  # all plain values: what --json writes
    report = format_report(r)
    assert "onnx_int8" in report and "live stream (appearance)" in report and "service (the model) 16 clients" in report
    assert "ms a tracked frame" in report


def test_the_service_load_takes_turns_with_uploads_the_server_cannot_remember(tmp_path):
    """The server remembers its last 4 uploads' landmarks by content: one upload repeated timed that memory
    (29 req/s for the pose model instead of ~5)."""
    import cv2

    from actcap.bench.serve import UPLOADS, distinct_uploads
    from actcap.pose.tracker import RECENT

    path = tmp_path / "short.avi"  # 20 frames: 5 different first frames, then mirrored copies
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (64, 48))
    for f in moving_frames(20, seed=3):
        w.write(f[..., ::-1])
    w.release()
    uploads = distinct_uploads(path)
    assert UPLOADS > RECENT and len(uploads) == 6 and all(len(u) == 16 for u in uploads)
    assert len({tuple(d for _, d in u) for u in uploads}) == 6  # no two the same
    assert [n for n, _ in uploads[0]] == [f"frame_{k:02d}.jpg" for k in range(1, 17)]


def test_forget_recent_makes_the_next_run_track_again(monkeypatch):
    from actcap.pose import tracker

    calls = []
    monkeypatch.setattr(tracker.PoseTracker, "__call__",
                        lambda self, f: calls.append(1) or (np.zeros((33, 4), np.float32), 0.0))
    frames = moving_frames(5, seed=1)
    tracker.estimate_poses(frames)
    tracker.estimate_poses(frames)
    assert len(calls) == 5  # the second run was remembered
    tracker.forget_recent()
    tracker.estimate_poses(frames)
    assert len(calls) == 10
