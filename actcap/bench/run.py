"""Speed of everything a frame goes through, measured in one run: medians over repeated, interleaved trials.

    actcap bench [--json FILE] [--quick] [--model RUN_DIR] [--data CLIPS]

Sections: frame-CNN latency per 16-frame clip for each engine (CNN only, and with decoding), top-1
agreement of the engines on real clips, live-stream frames/s, feature extraction vs the CNN-only
frame rate, body pose per frame and per clip (pose.py), batching concurrent clips, decoding (OpenCV vs
PyAV), the HTTP service under 1/4/16 concurrent clients (serve.py), and peak memory. Clips default to
../shared/data/utd-mhad-5.
Figures and the machine they came from go in docs/benchmarks.md.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from actcap.bench.common import (
    BenchPlan,
    cnn_backbone,
    cnn_timing_model,
    find_clips,
    machine,
    model_cnn,
    peak_memory_mb,
)
from actcap.bench.decode import bench_decode
from actcap.bench.engines import bench_batching, bench_engines, bench_graph
from actcap.bench.pose import bench_pose
from actcap.bench.stream import bench_extract, bench_stream


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
                 ("pose", lambda: bench_pose(model_dir, clips, plan)),
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
