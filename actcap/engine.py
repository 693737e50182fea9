"""Where a frame goes through the CNN: PyTorch eager (the reference, and the GPU path) or ONNX Runtime
(the default on CPU). Device and precision are decided here and nowhere else.

An engine maps uint8 frames (T, H, W, 3) RGB → float32 features (T, D); both engines share
`frames.to_model_input`, so they differ only in how the network runs.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np
import torch

from actcap.frames import to_model_input
from actcap.models.backbones import Backbone, create_backbone
from actcap.registry import Registry

log = logging.getLogger(__name__)
ENGINES: Registry = Registry("engine")


def cache_root() -> Path:
    """Where exported models and feature caches live unless told otherwise (ACTCAP_CACHE)."""
    return Path(os.environ.get("ACTCAP_CACHE", Path.home() / ".cache" / "actcap"))


def default_engine() -> str:
    return "torch" if torch.cuda.is_available() else "onnx"


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
        out = [self.backbone(torch.from_numpy(x[i : i + self.batch_size]).to(self.device)).float().cpu()
               for i in range(0, len(x), self.batch_size)]
        return torch.cat(out).numpy()  # (T, D)


def onnx_path(backbone: Backbone, precision: str = "fp32") -> Path:
    """Cache file for an exported backbone; the name hashes everything that changes the graph."""
    key = hashlib.sha1(f"{backbone.weights_id}|{backbone.spec}|{torch.__version__}|v1".encode()).hexdigest()[:12]
    return cache_root() / "onnx" / f"{backbone.spec.name}-{precision}-{key}.onnx"


def export_onnx(backbone: Backbone, path: Path) -> Path:
    """Export (N, 3, S, S) → (N, D) with a dynamic batch axis; written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    s = backbone.spec.input_size
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.onnx.export(backbone.cpu().eval(), torch.zeros(1, 3, s, s), str(tmp), input_names=["frames"],
                      output_names=["features"], dynamic_axes={"frames": {0: "n"}, "features": {0: "n"}},
                      opset_version=17, dynamo=False)
    os.replace(tmp, path)
    log.info("exported %s to %s", backbone.spec.name, path)
    return path


class OnnxEngine:
    name = "onnx"

    def __init__(self, backbone: Backbone, path: Path | None = None, threads: int | None = None):
        import onnxruntime as ort

        self.spec = backbone.spec
        self.path = path or onnx_path(backbone)
        if not self.path.is_file():
            export_onnx(backbone, self.path)
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        x = to_model_input(frames, self.spec.input_size, self.spec.mean, self.spec.std)  # (T, 3, S, S)
        return self.session.run(None, {"frames": x})[0]  # (T, D)


ENGINES.register("torch")(lambda backbone, **kw: TorchEngine(backbone, **kw))
ENGINES.register("onnx")(lambda backbone, **kw: OnnxEngine(backbone, **kw))


def list_engines() -> list[str]:
    return ENGINES.list()


def create_engine(backbone: str | Backbone, kind: str | None = None, **kwargs):
    """Build the frame-CNN engine `kind` (default: torch on a GPU, onnx on CPU) for a backbone."""
    factory = ENGINES.get(kind or default_engine())
    if isinstance(backbone, str):
        backbone = create_backbone(backbone)
    return factory(backbone, **kwargs)
