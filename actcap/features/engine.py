"""Where a frame goes through the CNN: PyTorch eager (the reference, and the GPU path) or ONNX Runtime
(the default on CPU, fp32 or static int8). Engine, device, precision and threads are decided here and nowhere
else: `resolve_engine` (a model's engine), `feature_precision`, `torch_autocast` (finetuning too); threads and CPU
priority next door, in `features/threads.py`.

An engine maps uint8 frames (T, H, W, 3) RGB → float32 features (T, D); every engine shares
`frames.to_model_input`, so they differ only in how the network runs:

    torch       eager PyTorch; on CUDA under fp16 autocast (`torch_autocast`), on CPU in fp32
    onnx        ONNX Runtime fp32: exported once, cleaned (constant folding, Pad fused into Conv), cached
    onnx-int8   ONNX Runtime static int8 (QDQ, per-channel), calibrated on real frames (actcap.features.quantize)

Cached models live in `cache_root()/onnx/` with a JSON manifest beside each file, so a stale or
mismatched file is a readable error, not silent reuse.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import warnings
from pathlib import Path

import numpy as np
import torch

from actcap.config import cache_root
from actcap.data.frames import to_model_input
from actcap.features.threads import physical_cores
from actcap.fileio import atomic_write_bytes, atomic_write_json
from actcap.models.backbones import Backbone, create_backbone
from actcap.registry import Registry

log = logging.getLogger(__name__)
ENGINES: Registry = Registry("engine")
ONNX_FORMAT = 2  # bump when the export pipeline changes what a cached file holds
OPSET = 17
# Agreement with torch eager, measured on UTD-MHAD frames (docs/benchmarks.md):
FP32_FEATURE_ATOL = 1e-4  # ONNX Runtime fp32: max |Δ| 5.5e-6 for features up to ~3 (relative L2 1.6e-6)
PROB_ATOL = 1e-4  # class probabilities through the head from fp32 ONNX features
INT8_FEATURE_REL = 0.25  # int8: median relative L2 error of a frame's features (measured ~0.15)


def default_engine() -> str:
    return "torch" if torch.cuda.is_available() else "onnx"


def resolve_engine(requested: str | None, trained_on: str | None = None) -> str | None:
    """The frame-CNN engine a model runs on (None: `default_engine()`): the one asked for, else int8 when the
    head was trained on int8 features (fp32 ones differ by ~15% and shift its answers). Predict, evaluate, the
    service and the live stream all ask here (inference/pipeline.py)."""
    if trained_on == "onnx-int8" and requested is None:
        return trained_on
    if trained_on == "onnx-int8" and requested != trained_on:
        log.warning("this model was trained on int8 features (--engine onnx-int8); with --engine %s its "
                    "answers may differ from the ones it was validated with", requested)
    return requested


def feature_precision(engine: str | None) -> str:
    """What the features an engine computes are: `int8` (onnx-int8: ~15% off fp32, so cached apart) or `fp32`."""
    return "int8" if engine == "onnx-int8" else "fp32"


def torch_autocast(device: torch.device, training: bool = False):
    """On CUDA, fp16 autocast for inference (tensor cores; ReLU6 keeps activations in fp16 range) and bf16 for
    training (fp32's range, so gradients need no loss scaling); fp32 elsewhere (a no-op context).

    The one place that decides torch precision: callers wrap the forward pass in this context."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16 if training else torch.float16)
    return contextlib.nullcontext()


class TorchEngine:
    name = "torch"

    def __init__(self, backbone: Backbone, device: str | None = None, batch_size: int = 16):
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.backbone = backbone.to(self.device).eval()
        self.spec = backbone.spec
        self.batch_size = batch_size

    @torch.inference_mode()
    def __call__(self, frames: np.ndarray) -> np.ndarray:
        x = to_model_input(frames, self.spec.input_size, self.spec.mean, self.spec.std)  # (T, 3, S, S)
        out = []
        with torch_autocast(self.device):
            for i in range(0, len(x), self.batch_size):
                xb = torch.from_numpy(x[i : i + self.batch_size]).to(self.device, non_blocking=True)
                out.append(self.backbone(xb).float().cpu())  # (b, D)
        return torch.cat(out).numpy()  # (T, D)


# --- ONNX: export once, cache with a manifest --------------------------------------------------------------

def onnx_manifest(backbone: Backbone, precision: str = "fp32", extra: dict | None = None) -> dict:
    """Everything that changes a cached ONNX file; hashed into its name and stored beside it."""
    import onnxruntime as ort

    manifest = {"backbone": backbone.spec.name, "weights": backbone.weights_id,
                "spec": backbone.spec.preprocessing(), "precision": precision, "torch": torch.__version__,
                "onnxruntime": ort.__version__, "opset": OPSET, "format": ONNX_FORMAT, **(extra or {})}
    return json.loads(json.dumps(manifest))  # as it reads back from disk (tuples become lists)


def onnx_path(backbone: Backbone, precision: str = "fp32", extra: dict | None = None) -> Path:
    """Cache file for an exported backbone; the name hashes everything that changes the graph."""
    blob = json.dumps(onnx_manifest(backbone, precision, extra), sort_keys=True)
    key = hashlib.sha1(blob.encode()).hexdigest()[:12]
    return cache_root() / "onnx" / f"{backbone.spec.name}-{precision}-{key}.onnx"


def _manifest_path(path: Path) -> Path:
    return path.with_suffix(".json")


def check_manifest(path: Path, manifest: dict) -> None:
    """Refuse a cached file whose manifest says it was built from something else (hash collision, hand edit)."""
    mpath = _manifest_path(path)
    found = json.loads(mpath.read_text()) if mpath.is_file() else None
    if found != manifest:
        raise RuntimeError(f"cached model {path} was built from {found}, not {manifest}; "
                           f"delete {path} and {mpath} to rebuild it")


def export_onnx(backbone: Backbone, path: Path, manifest: dict | None = None) -> Path:
    """Export (N, 3, S, S) → (N, D) with a dynamic batch axis, cleaned by `simplify_onnx`; written atomically."""

    s = backbone.spec.input_size
    raw = path.with_name(f".{path.stem}.{os.getpid()}.raw.onnx")
    raw.parent.mkdir(parents=True, exist_ok=True)
    with quiet_export():
        torch.onnx.export(backbone.cpu().eval(), torch.zeros(1, 3, s, s), str(raw), input_names=["frames"],
                          output_names=["features"], dynamic_axes={"frames": {0: "n"}, "features": {0: "n"}},
                          opset_version=OPSET, dynamo=False)
    try:
        model = simplify_onnx(raw)
    finally:
        raw.unlink(missing_ok=True)
    atomic_write_bytes(path, model.SerializeToString())  # an interrupted export never looks like a cached model
    if manifest is not None:
        atomic_write_json(_manifest_path(path), manifest)
    log.info("exported %s to %s (%d nodes: %s)", backbone.spec.name, path, len(model.graph.node),
             ", ".join(sorted({n.op_type for n in model.graph.node})))
    return path


@contextlib.contextmanager
def quiet_export():
    """Silence the exporter warnings that say nothing about our graphs."""
    with warnings.catch_warnings():
        # the TorchScript exporter cannot fold the reversed Slice that computes EfficientNet's same-padding;
        # simplify_onnx folds it, so the warning is about a graph nobody runs
        warnings.filterwarnings("ignore", message=".*Constant folding.*")
        # the TorchScript exporter (kept: it exports every backbone and head here) is deprecated in favour of
        # the torch.export one; heads trace shape checks (LSTM, attention) that are constant for a fixed T
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx.*")
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=".*batch_size other than 1.*LSTM.*")
        yield


def simplify_onnx(path: Path):
    """Run ONNX Runtime's hardware-independent graph passes once and keep the result.

    The exported EfficientNet computes each same-padding amount at run time (ConstantOfShape, Slice,
    Transpose, Cast, Concat: ~220 nodes) before 17 Pad nodes; constant folding turns those into constants
    and Pad fusion moves them into the Conv's own (asymmetric) pads. What remains is Conv, Clip, Add and
    ReduceMean only — the graph quantization and the bundle start from, portable to any ONNX runtime.
    """
    import onnx
    import onnxruntime as ort

    out = path.with_name(path.stem + ".basic.onnx")
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    opts.optimized_model_filepath = str(out)
    ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    try:
        return onnx.load(str(out))
    finally:
        out.unlink(missing_ok=True)


_PREPARE_LOCK = threading.Lock()


def prepare_onnx(backbone: Backbone, precision: str = "fp32", calibration=None) -> Path:
    """The cached ONNX file for `backbone` at `precision` ('fp32' or 'int8'), exporting (and calibrating) once.

    `calibration` (int8 only): a path to calibration clips, or None for actcap.features.quantize's default source.
    """
    if precision not in ("fp32", "int8"):
        raise ValueError(f"unknown ONNX precision '{precision}'; choose one of: fp32, int8")
    with _PREPARE_LOCK:  # two threads building the same engine export once
        fp32_manifest = onnx_manifest(backbone)
        fp32 = onnx_path(backbone)
        if not fp32.is_file():
            export_onnx(backbone, fp32, fp32_manifest)
        check_manifest(fp32, fp32_manifest)
        if precision == "fp32":
            return fp32
        from actcap.features import quantize

        clips, source = quantize.calibration_frames(calibration)
        spec = backbone.spec
        x = np.concatenate([to_model_input(c, spec.input_size, spec.mean, spec.std) for c in clips])  # (N, 3, S, S)
        extra = {"from": fp32.name, "calibration": {"source": source, "frames": len(x),
                                                   "sha1": hashlib.sha1(x.tobytes()).hexdigest()},
                 "quantization": quantize.SETTINGS}
        manifest = onnx_manifest(backbone, "int8", extra)
        path = onnx_path(backbone, "int8", extra)
        if not path.is_file():
            quantize.quantize_onnx(fp32, path, x)
            atomic_write_json(_manifest_path(path), manifest)
        check_manifest(path, manifest)
        return path


def create_session(path: Path, threads: int | None = None):
    """An ONNX Runtime CPU session with every graph optimization (fusions, NCHWc layout) and one
    intra-op thread per physical core; the hardware-specific passes run at load, never saved."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads or physical_cores()
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


class OnnxEngine:
    name = "onnx"

    def __init__(self, backbone: Backbone, path: Path | None = None, threads: int | None = None,
                 precision: str = "fp32", calibration=None):
        self.spec = backbone.spec
        self.precision = precision
        self.path = Path(path) if path else prepare_onnx(backbone, precision, calibration)
        if not self.path.is_file():
            export_onnx(backbone, self.path)
        self.session = create_session(self.path, threads)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        x = to_model_input(frames, self.spec.input_size, self.spec.mean, self.spec.std)  # (T, 3, S, S)
        return self.session.run(None, {"frames": x})[0]  # (T, D)


ENGINES.register("torch")(lambda backbone, **kw: TorchEngine(backbone, **kw))
ENGINES.register("onnx")(lambda backbone, **kw: OnnxEngine(backbone, **kw))
ENGINES.register("onnx-int8")(lambda backbone, **kw: OnnxEngine(backbone, precision="int8", **kw))


def list_engines() -> list[str]:
    return ENGINES.list()


def create_engine(backbone: str | Backbone, kind: str | None = None, **kwargs):
    """Build the frame-CNN engine `kind` (default: torch on a GPU, onnx on CPU) for a backbone."""
    factory = ENGINES.get(kind or default_engine())
    if isinstance(backbone, str):
        backbone = create_backbone(backbone)
    return factory(backbone, **kwargs)
