"""What every `actcap bench` section shares: the plan (how many trials and clips), interleaved median timing,
the machine's description, the clips to time and the models to time them with."""

from __future__ import annotations

import logging
import os
import platform
import resource
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from actcap.config import DEFAULT_BACKBONE, DEFAULT_HEAD, DEFAULT_NUM_SLOTS
from actcap.data.sampling import uniform_indices
from actcap.data.video import VIDEO_EXTENSIONS
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
    stream_min_interval_s: float = ServeSettings().stream_min_interval_ms / 1000
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
    from actcap.features.threads import physical_cores

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
    """Up to n real clips spread over `data` (default $ACTCAP_CALIBRATION, the clips int8 is calibrated on), else
    synthetic MJPEG clips."""
    source = data or os.environ.get("ACTCAP_CALIBRATION")
    root = Path(source) if source else None
    if root is not None and root.is_dir():
        found = sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS)
        if found:
            return [found[i] for i in uniform_indices(len(found), min(n, len(found)))], str(root)
    import cv2

    from actcap.features.quantize import synthetic_frames

    log.warning("no clips at %s: benchmarking synthetic 640x480 MJPEG clips", root or "--data / $ACTCAP_CALIBRATION")
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
                     num_frames: int = DEFAULT_NUM_SLOTS) -> Path:
    """An appearance-stream model with the brief's LSTM head and random weights: what it predicts is
    meaningless, but every frame takes the real path (LiveStream, Predictor, engine), so its speed is real."""
    from actcap.features.streams import create_stream
    from actcap.models.recognizer import ModelConfig, Recognizer

    stream = create_stream("appearance", backbone=backbone)
    model = Recognizer(ModelConfig(classes=[f"class_{k}" for k in range(5)], streams=[stream.config()],
                                   feature_dim=stream.dim, num_slots=num_frames, head=head))
    return model.save(workdir / "cnn-timing-model")


def peak_memory_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux reports KiB
