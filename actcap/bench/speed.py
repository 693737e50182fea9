"""Speed of everything a frame goes through, measured in one run: medians over repeated, interleaved trials.

    actcap bench [--json FILE] [--quick] [--model RUN_DIR] [--data CLIPS]

Sections: frame-CNN latency per 16-frame clip for each engine (CNN only, and with decoding), top-1
agreement of the engines on real clips, live-stream frames/s, feature extraction vs the CNN-only
frame rate, batching concurrent clips, decoding (OpenCV vs PyAV), the HTTP service under 1/4/16
concurrent clients (bench_serve.py), and peak memory. Clips default to ../shared/data/utd-mhad-5.
Figures and the machine they came from go in docs/benchmarks.md.
"""

from __future__ import annotations

import logging
import os
import platform
import resource
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actcap.config import DEFAULT_BACKBONE, DEFAULT_HEAD, DEFAULT_NUM_FRAMES
from actcap.data.sampling import previous_indices, uniform_indices
from actcap.data.video import VIDEO_EXTENSIONS, open_clip
from actcap.serve.settings import ServeSettings

log = logging.getLogger(__name__)
ENGINES = {"torch_fp32": "torch", "onnx_fp32": "onnx", "onnx_int8": "onnx-int8"}


@dataclass
class BenchPlan:
    trials: int = 9
    """Timed repetitions per figure (the median is reported)."""
    clips: int = 12
    """Real clips for top-1 agreement and feature extraction."""
    stream_frames: int = 180
    """Frames pushed through the live stream per run (trials // 3 runs, the median reported)."""
    serve_requests: int = 48
    """POST /predict requests per client-count level (at least 2 per client)."""
    live_seconds: float = 4.0
    """How long one client streams to /stream, at 30 frames/s and as fast as it can."""
    decode: bool = True
    """Compare decoders on long MJPEG and H.264 videos."""
    stream_min_interval_s: float = ServeSettings.stream_min_interval_ms / 1000
    """Least time between two live-stream predictions, as the service's default (0: predict every `every`
    frames, however fast they come; what tests use, so their prediction count never depends on speed)."""

    @classmethod
    def quick(cls) -> BenchPlan:
        return cls(trials=3, clips=3, stream_frames=30, serve_requests=16, live_seconds=2.0, decode=False)


def timed(fn, trials: int, warmup: int = 1) -> list[float]:
    """Wall seconds of `trials` calls of fn after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(trials):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def interleaved(fns: dict, trials: int) -> dict[str, float]:
    """Median ms of each fn, trials interleaved so that load from other processes hits them all alike."""
    for fn in fns.values():
        fn()
    times = {k: [] for k in fns}
    for _ in range(trials):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return {k: round(statistics.median(v) * 1000, 1) for k, v in times.items()}


def machine() -> dict:
    from actcap.features.engine import physical_cores

    cpu = "unknown"
    if Path("/proc/cpuinfo").is_file():
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), cpu)
    import onnxruntime
    import torch

    return {"nproc": len(os.sched_getaffinity(0)), "physical_cores": physical_cores(), "cpu": cpu,
            "python": platform.python_version(), "torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
            "load_avg_1m": round(os.getloadavg()[0], 2)}


def find_clips(data: Path | None, n: int, workdir: Path) -> tuple[list[Path], str]:
    """Up to n real clips spread over `data` (default the shared UTD-MHAD subset), else synthetic MJPEG clips."""
    from actcap.features.quantize import SHARED_CALIBRATION

    root = Path(data) if data else SHARED_CALIBRATION
    if root.is_dir():
        found = sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS)
        if found:
            return [found[i] for i in uniform_indices(len(found), min(n, len(found)))], str(root)
    import cv2

    from actcap.features.quantize import synthetic_frames

    log.warning("no clips at %s: benchmarking synthetic 640x480 MJPEG clips", root)
    paths = []
    for k in range(n):
        path = workdir / f"synthetic_{k}.avi"
        w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
        for f in synthetic_frames(48, (480, 640), seed=k):
            w.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        w.release()
        paths.append(path)
    return paths, "synthetic"


# --- sections ---------------------------------------------------------------------------------------------

def model_cnn(model_dir) -> str | None:
    """The backbone of the model's appearance stream, or None when the model runs no frame CNN."""
    from actcap.models.recognizer import Recognizer

    streams = Recognizer.load(model_dir).config.streams
    return next((s["backbone"] for s in streams if s["name"] == "appearance"), None)


def cnn_backbone(model_dir) -> str:
    """The frame CNN to time: the model's, or the default backbone when the model has none."""
    return model_cnn(model_dir) or DEFAULT_BACKBONE


def cnn_timing_model(backbone: str, workdir: Path, head: str = DEFAULT_HEAD,
                     num_frames: int = DEFAULT_NUM_FRAMES) -> Path:
    """An appearance-stream model with the brief's LSTM head and random weights: what it predicts is
    meaningless, but every frame takes the real path (LiveStream, Predictor, engine), so its speed is real."""
    from actcap.features.streams import create_stream
    from actcap.models.recognizer import ModelConfig, Recognizer

    stream = create_stream("appearance", backbone=backbone)
    model = Recognizer(ModelConfig(classes=[f"class_{k}" for k in range(5)], streams=[stream.config()],
                                   feature_dim=stream.dim, num_frames=num_frames, head=head))
    return model.save(workdir / "cnn-timing-model")


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
        decoded.append(clip.read(kept_indices(len(clip), 64)))
    n = sum(len(d) for d in decoded)
    stream.extract(decoded[0][:4])  # build the engine outside the timing
    cnn_s = statistics.median(timed(lambda: [stream.extract(d) for d in decoded], max(1, plan.trials // 3), 0))
    runs = []
    for _ in range(max(1, plan.trials // 3)):
        with tempfile.TemporaryDirectory() as tmp:
            cache = FeatureCache(tmp, [stream], max_frames=64)
            t = time.perf_counter()
            cache.extract(clips, progress=False)
            runs.append(time.perf_counter() - t)
    extract_fps, cnn_fps = n / statistics.median(runs), n / cnn_s
    return {"extract_fps": round(extract_fps, 1), "cnn_fps": round(cnn_fps, 1),
            "extract_vs_cnn": round(extract_fps / cnn_fps, 3), "extract_frames": n}


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

    from actcap.features.engine import physical_cores, prepare_onnx
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


def bench_decode(clips: list[Path], plan: BenchPlan, workdir: Path) -> dict:
    """OpenCV sequential, OpenCV seeking and PyAV (actcap's reader) fetching 16 frames + the frame before each."""
    import cv2

    from actcap.data.decode import read_packets

    def opencv_seek(path, wanted):
        cap, out, pos = cv2.VideoCapture(str(path)), {}, -1
        for i in wanted:
            if i != pos + 1:
                cap.set(cv2.CAP_PROP_POS_FRAMES, i)
            out[i], pos = cap.read()[1], i
        cap.release()
        return out

    videos = {"real_mjpeg_avi": clips[0], **make_long_videos(clips, workdir)}
    out = {}
    for name, path in videos.items():
        clip = open_clip(path)
        idx = uniform_indices(len(clip), 16)
        wanted = sorted(set(idx) | set(previous_indices(idx)))
        ms = interleaved({"opencv_sequential": lambda c=clip, w=wanted: c._read_sequential(set(w)),
                          "opencv_seek": lambda p=path, w=wanted: opencv_seek(p, w),
                          "pyav_packets": lambda c=clip, w=wanted: read_packets(c.path, w)}, plan.trials)
        out[name] = {"frames": len(clip), "read": len(wanted), **ms}
    return out


def make_long_videos(clips: list[Path], workdir: Path, n_clips: int = 10) -> dict[str, Path]:
    """A long MJPEG AVI and H.264 MP4s (GOP 30 and 250, B-frames) made from real clips put end to end."""
    import av
    import cv2

    frames = np.concatenate([open_clip(c).read_all() for c in (clips * n_clips)[:n_clips]])
    h, w = frames.shape[1:3]
    out = {"long_mjpeg_avi": workdir / "long_mjpeg.avi"}
    writer = cv2.VideoWriter(str(out["long_mjpeg_avi"]), cv2.VideoWriter_fourcc(*"MJPG"), 15, (w, h))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    for gop in (30, 250):
        path = out[f"long_h264_gop{gop}_mp4"] = workdir / f"long_h264_gop{gop}.mp4"
        with av.open(str(path), "w") as container:
            s = container.add_stream("libx264", rate=15)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            s.options = {"g": str(gop), "bf": "2", "crf": "23", "preset": "veryfast"}
            for f in frames:
                container.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
            container.mux(s.encode())
    return out


def peak_memory_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux reports KiB


def run_bench(model: str | Path | None = None, data: str | Path | None = None, quick: bool = False,
              progress=lambda msg: None, plan: BenchPlan | None = None) -> dict:
    """Every section in one process; returns the figures (the CLI prints them and writes --json)."""
    from actcap.bench import serve as bench_serve
    from actcap.inference.predictor import resolve_model_dir

    plan = plan or (BenchPlan.quick() if quick else BenchPlan())
    model_dir = resolve_model_dir(model)
    result: dict = {"machine": machine(), "model": str(model_dir), "plan": plan.__dict__}
    with tempfile.TemporaryDirectory() as tmp:
        clips, source = find_clips(data, plan.clips, Path(tmp))
        result["clips"] = {"source": source, "count": len(clips)}
        steps = [("engines", lambda: bench_engines(model_dir, clips, plan)),
                 ("stream", lambda: bench_stream(model_dir, clips, plan)),
                 ("extract", lambda: bench_extract(model_dir, clips, plan)),
                 ("batching", lambda: bench_batching(plan)),
                 ("serve", lambda: {"serve": bench_serve.bench_serve(model_dir, clips[0], plan.serve_requests,
                                                                      stream_seconds=plan.live_seconds)})]
        if plan.decode and not model_cnn(model_dir):  # the service once more, with a frame CNN in the model
            steps.append(("serve_cnn", lambda: {"serve_cnn": bench_serve.bench_serve(
                cnn_timing_model(cnn_backbone(model_dir), Path(tmp)), clips[0], plan.serve_requests,
                stream_seconds=plan.live_seconds)}))
        if plan.decode:
            steps.append(("graph", lambda: bench_graph(plan)))
            steps.append(("decode", lambda: {"decode": bench_decode(clips, plan, Path(tmp))}))
        for name, step in steps:
            progress(f"bench: {name} …")
            t = time.perf_counter()
            result.update(step())
            result.setdefault("section_s", {})[name] = round(time.perf_counter() - t, 1)
    result["peak_rss_mb"] = peak_memory_mb()
    return result
