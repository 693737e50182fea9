"""Frame-CNN latency per engine and the top-1 agreement of the engines, batching of concurrent clips, and
what graph cleaning buys (sections of `actcap bench`)."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from actcap.bench.common import (
    ENGINES,
    BenchPlan,
    cnn_backbone,
    interleaved,
    model_cnn,
)
from actcap.config import DEFAULT_BACKBONE
from actcap.data.sampling import uniform_indices
from actcap.data.video import open_clip

log = logging.getLogger(__name__)


def bench_engines(model_dir, clips: list[Path], plan: BenchPlan) -> dict:
    """Per-clip latency of each frame-CNN engine for 16 frames, and how far the engines agree with torch.

    clip_ms: 16 frames already at the network's size (normalisation and CNN); clip_full_ms: at the clips'
    own size (resize too); clip_decode_ms: opening the video and decoding them first. Agreement: the
    ImageNet top-1 of every sampled frame of every clip (1000 classes) and, when the model has a CNN
    stream, the model's own top-1 per clip."""
    from actcap.data.frames import resize_frames
    from actcap.features.engine import create_engine
    from actcap.inference.predictor import Predictor
    from actcap.models.backbones import create_backbone, imagenet_classifier

    name = cnn_backbone(model_dir)
    backbone = create_backbone(name)
    engines = {k: create_engine(backbone, e) for k, e in ENGINES.items()}
    clip = open_clip(clips[0])
    idx = uniform_indices(len(clip), 16)
    frames = clip.read(idx)  # (16, H, W, 3)
    s = backbone.spec.input_size
    small = resize_frames(frames, (s, s))  # (16, S, S, 3): "the default size"
    fns = {}
    for k, e in engines.items():
        fns[k] = lambda e=e: e(small)
        fns[f"{k}+resize"] = lambda e=e: e(frames)
        fns[f"{k}+decode"] = lambda e=e: e(open_clip(clips[0]).read(idx))
    ms = interleaved(fns, plan.trials)
    cnn = {k: ms[k] for k in engines}
    torch_ms = cnn["torch_fp32"]
    out = {"backbone": name, "clip_ms": cnn, "clip_full_ms": {k: ms[f"{k}+resize"] for k in engines},
           "clip_decode_ms": {k: ms[f"{k}+decode"] for k in engines},
           "ratio_to_torch": {k: round(v / torch_ms, 3) for k, v in cnn.items()},
           "ratio_to_torch_full": {k: round(ms[f"{k}+resize"] / ms["torch_fp32+resize"], 3) for k in engines},
           "frame_size": list(frames.shape[1:3]), "input_size": s}
    # agreement with torch on real frames
    w, b = imagenet_classifier(name)
    feats = {k: [] for k in engines}
    for path in clips:
        c = open_clip(path)
        fr = c.read(uniform_indices(len(c), 16))
        for k, e in engines.items():
            feats[k].append(e(fr))
    feats = {k: np.concatenate(v) for k, v in feats.items()}  # (clips·16, D)
    ref = feats["torch_fp32"]
    top1 = {k: (f @ w.T + b).argmax(1) for k, f in feats.items()}
    out["imagenet_top1_agreement"] = {k: f"{int((top1[k] == top1['torch_fp32']).sum())}/{len(ref)}"
                                      for k in engines}
    out["features_max_abs_diff"] = {k: round(float(np.abs(f - ref).max()), 6) for k, f in feats.items()}
    out["features_median_rel_diff"] = {
        k: round(float(np.median(np.linalg.norm(f - ref, axis=1) / np.linalg.norm(ref, axis=1))), 6)
        for k, f in feats.items()}
    if model_cnn(model_dir) is not None:
        predictors = {k: Predictor.load(model_dir, engine=e) for k, e in ENGINES.items()}
        agree, prob_gap = dict.fromkeys(ENGINES, 0), dict.fromkeys(ENGINES, 0.0)
        for path in clips:  # the path `actcap predict` takes
            res = {k: p.predict_clip(open_clip(path)) for k, p in predictors.items()}
            ref_top = res["torch_fp32"]["top_k"]
            for k in ENGINES:
                agree[k] += int(res[k]["prediction"] == res["torch_fp32"]["prediction"])
                conf = {t["label"]: t["confidence"] for t in res[k]["top_k"]}
                prob_gap[k] = max(prob_gap[k], *(abs(conf.get(t["label"], 0.0) - t["confidence"]) for t in ref_top))
        out["top1_agreement"] = {k: f"{v}/{len(clips)}" for k, v in agree.items()}
        out["probs_max_abs_diff"] = {k: round(v, 5) for k, v in prob_gap.items()}
    return out


def bench_batching(plan: BenchPlan) -> dict:
    """One ONNX Runtime session: 4 clips as one batch of 64, as 4 sequential runs of 16, and from 4 threads."""
    from actcap.features.engine import create_session, prepare_onnx
    from actcap.models.backbones import create_backbone

    sess = create_session(prepare_onnx(create_backbone(DEFAULT_BACKBONE)))
    x = np.random.default_rng(0).standard_normal((16, 3, 224, 224)).astype(np.float32)
    x64 = np.concatenate([x] * 4)

    def run(a):
        return sess.run(None, {"frames": a})

    def threads(n: int):
        with ThreadPoolExecutor(n) as pool:
            list(pool.map(run, [x] * 4))

    ms = interleaved({"batch_64": lambda: run(x64), "sequential_4x16": lambda: [run(x) for _ in range(4)],
                      "threads_4x16": lambda: threads(4)}, max(3, plan.trials // 2))
    return {"four_clips_ms": ms}


def bench_graph(plan: BenchPlan) -> dict:
    """The cached (folded) fp32 graph at each ONNX Runtime optimization level, and session start-up time."""
    import onnxruntime as ort

    from actcap.features.engine import prepare_onnx
    from actcap.features.threads import physical_cores
    from actcap.models.backbones import create_backbone

    path = str(prepare_onnx(create_backbone(DEFAULT_BACKBONE)))
    x = np.random.default_rng(0).standard_normal((16, 3, 224, 224)).astype(np.float32)
    runs, start_ms = {}, {}
    for level in ("DISABLE_ALL", "ENABLE_BASIC", "ENABLE_EXTENDED", "ENABLE_ALL"):
        opts = ort.SessionOptions()
        opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, f"ORT_{level}")
        opts.intra_op_num_threads = physical_cores()
        t = time.perf_counter()
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        start_ms[level] = round((time.perf_counter() - t) * 1000)
        runs[level] = lambda sess=sess: sess.run(None, {"frames": x})
    return {"graph_levels_ms": interleaved(runs, max(3, plan.trials // 2)), "session_start_ms": start_ms}
