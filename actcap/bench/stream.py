"""Live-stream frames/s (each frame through the CNN once) and feature extraction against the CNN-only frame rate
(sections of `actcap bench`)."""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from actcap.bench.common import (
    BenchPlan,
    cnn_backbone,
    cnn_timing_model,
    model_cnn,
    timed,
)
from actcap.config import DEFAULT_CACHE_FRAMES
from actcap.data.video import open_clip

log = logging.getLogger(__name__)


def bench_stream(model_dir, clips: list[Path], plan: BenchPlan, every: int = 3) -> dict:
    """Frames/s through a LiveStream fed a backlog, as the service feeds it: batches of `every` frames
    (its default, 3) and a prediction after each, at most 10 a second (`stream_min_interval_ms`).

    Run for an appearance model (the CNN; stream_*) and, when different, the given model (model_stream_*)."""
    import torch

    from actcap.inference.predictor import Predictor

    frames = np.concatenate([open_clip(c).read_all() for c in clips[:2]])
    frames = np.concatenate([frames] * (1 + plan.stream_frames // len(frames)))[: plan.stream_frames]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        cnn_model = model_dir if model_cnn(model_dir) else cnn_timing_model(cnn_backbone(model_dir), Path(tmp))
        runs = {"stream": cnn_model} | ({} if cnn_model == model_dir else {"model_stream": model_dir})
        for prefix, path in runs.items():
            p = Predictor.load(path)
            runs_of = {every: [], 1: []}
            for _ in range(max(1, plan.trials // 3)):  # interleaved, so load from elsewhere hits both alike
                for batch in runs_of:
                    runs_of[batch].append(stream_run(p, frames, batch, every, plan.stream_min_interval_s))
            for batch, key in ((every, prefix), (1, f"{prefix}_one_at_a_time")):
                r = sorted(runs_of[batch], key=lambda x: x["fps"])[len(runs_of[batch]) // 2]  # the median run
                out[f"{key}_fps"], out[f"{key}_refresh_per_s"] = r["fps"], r["refresh_per_s"]
                if batch == every:
                    out[f"{prefix}_predict_ms"] = r["predict_ms"]
                    out[f"{prefix}_cnn_frames_per_frame"] = max(x["computed_per_frame"] for x in runs_of[batch])
            out[f"{prefix}_streams"] = [s.name for s in p.streams]
            live = p.new_stream()
            live.push_many(list(frames[:32]))
            out[f"{prefix}_head_ms"] = round(statistics.median(timed(live.predict, plan.trials * 3)) * 1000, 2)
            out[f"{prefix}_torch_threads"] = torch.get_num_threads()  # Predictor: 1 when the CNN is not torch
    out["refresh_per_s"] = out["stream_refresh_per_s"]
    return out


def stream_run(p, frames: np.ndarray, batch: int, every: int, min_interval_s: float = 0.1,
               clock=time.perf_counter) -> dict:
    """Push `frames` in batches of `batch`, predicting once `every` new frames arrived and `min_interval_s`
    passed since the last prediction (the service's policy and defaults); time it all.

    `clock` (seconds) is read at the start, once after each batch, once after each prediction and at the
    end; tests pass a ticking fake, so the count of predictions never depends on the machine's speed."""
    computed = []  # frames each features() call saw: every pushed frame must be computed exactly once
    features = p.features
    p.features = lambda f, prev=None: computed.append(len(f)) or features(f, prev)
    try:
        live = p.new_stream()
        live.push_many(list(frames[:batch]))  # warm up (builds the engine)
        computed.clear()
        predictions, predict_ms, new = 0, [], 0
        t0 = last = clock()
        for i in range(0, len(frames), batch):
            chunk = frames[i : i + batch]
            live.push_many(list(chunk))
            new += len(chunk)
            now = clock()
            if new >= every and now - last >= min_interval_s:
                live.predict()
                last = clock()  # the service measures the interval from when it sent the last update
                predict_ms.append((last - now) * 1000)
                predictions, new = predictions + 1, 0
        wall = clock() - t0
    finally:
        del p.features
    return {"fps": round(len(frames) / wall, 1), "refresh_per_s": round(predictions / wall, 1),
            "predictions": predictions,
            "predict_ms": round(statistics.median(predict_ms), 2) if predict_ms else None,
            "computed_per_frame": round(sum(computed) / len(frames), 3)}


def bench_extract(model_dir, clips: list[Path], plan: BenchPlan) -> dict:
    """Feature extraction (decode thread ahead of the CNN) vs the CNN alone on the same frames, appearance stream
    (the model's, or the default backbone's when the model has none)."""
    from actcap.features.cache import FeatureCache, kept_indices
    from actcap.features.streams import create_stream
    from actcap.inference.predictor import Predictor

    if model_cnn(model_dir):
        stream = next(s for s in Predictor.load(model_dir).streams if s.name == "appearance")
    else:
        stream = create_stream("appearance", backbone=cnn_backbone(model_dir))
    decoded = []
    for c in clips:
        clip = open_clip(c)
        decoded.append(clip.read(kept_indices(len(clip), DEFAULT_CACHE_FRAMES)))
    n = sum(len(d) for d in decoded)
    stream.extract(decoded[0][:4])  # build the engine outside the timing
    cnn_s = statistics.median(timed(lambda: [stream.extract(d) for d in decoded], max(1, plan.trials // 3), 0))
    runs = []
    for _ in range(max(1, plan.trials // 3)):
        with tempfile.TemporaryDirectory() as tmp:
            cache = FeatureCache(tmp, [stream], cache_frames=DEFAULT_CACHE_FRAMES)
            t = time.perf_counter()
            cache.extract(clips, progress=False)
            runs.append(time.perf_counter() - t)
    extract_fps, cnn_fps = n / statistics.median(runs), n / cnn_s
    return {"extract_fps": round(extract_fps, 1), "cnn_fps": round(cnn_fps, 1),
            "extract_vs_cnn": round(extract_fps / cnn_fps, 3), "extract_frames": n}
