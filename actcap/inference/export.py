"""Export a trained model as a self-contained ONNX bundle, and run one with numpy + onnxruntime only.

    actcap export --model runs/utd5 --format onnx --out bundle/ [--int8]

    bundle/config.json       classes, frame count, streams (with preprocessing), files and their sha256,
                             the verification this export measured against PyTorch
    bundle/appearance.onnx   frame CNN: frames (N, 3, S, S) float32 → features (N, D)    (fp32 or int8)
    bundle/head.onnx         temporal head + softmax: features (B, T, ΣD) → probs (B, C)
    bundle/runner.py         this file: `BundlePredictor` needs numpy and onnxruntime (OpenCV if present,
                             for bit-exact resizing; a flow stream needs actcap itself, for Farnebäck flow)
    bundle/README.md         the three lines that run it

This module imports only numpy and the standard library at the top, so it doubles as the bundle's runner;
the exporting half imports torch and actcap when called.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
BUNDLE_FORMAT = "actcap-onnx-bundle/1"


# --- running a bundle: numpy + onnxruntime --------------------------------------------------------------

def uniform_indices(num_frames: int, n: int) -> list[int]:
    """Same as actcap.data.sampling.uniform_indices: the centres of n equal segments."""
    return [(2 * i + 1) * num_frames // (2 * n) for i in range(n)]


def dense_slots(features: np.ndarray, n: int) -> np.ndarray:
    """Same as actcap.data.pooling.slot_features(features, n, "dense")[0]: (L, D) → (n, D) segment means,
    a short clip repeating frames in order."""
    length = len(features)
    if length < n:
        bounds = [(i, i + 1) for i in uniform_indices(length, n)]
    else:
        edges = [i * length // n for i in range(n + 1)]
        bounds = list(zip(edges[:-1], edges[1:]))
    csum = np.concatenate([np.zeros((1, features.shape[1])), np.cumsum(features, 0, np.float64)])
    return np.stack([(csum[b] - csum[a]) / (b - a) for a, b in bounds]).astype(np.float32)


def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of OpenCV's INTER_AREA along one axis (each output averages the input span it covers)."""
    scale = n_in / n_out
    w = np.zeros((n_out, n_in), np.float64)
    for o in range(n_out):
        a, b = o * scale, min((o + 1) * scale, n_in)
        for i in range(int(np.floor(a)), int(np.ceil(b))):
            w[o, i] = min(b, i + 1) - max(a, i)
    return w / w.sum(axis=1, keepdims=True)


def linear_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of OpenCV's INTER_LINEAR (half-pixel centres, edges clamped) along one axis."""
    src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    w = np.zeros((n_out, n_in), np.float64)
    np.add.at(w, (np.arange(n_out), lo), 1 - (src - lo))
    np.add.at(w, (np.arange(n_out), hi), src - lo)
    return w


def resize(frames: np.ndarray, size: int, use_cv2: bool = True) -> np.ndarray:
    """uint8 (T, H, W, 3) → (T, size, size, 3) as actcap.data.frames.resize_frames: area when shrinking, else linear.

    With OpenCV it is that very call; the numpy version agrees to ±1 grey level (rounding)."""
    t, h, w, _ = frames.shape
    if (h, w) == (size, size):
        return frames
    shrink = h * w > size * size
    if use_cv2:
        try:
            import cv2

            interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
            return np.stack([cv2.resize(f, (size, size), interpolation=interp) for f in frames])
        except ImportError:
            pass
    weights = area_weights if shrink else linear_weights
    wy, wx = weights(h, size), weights(w, size)
    x = frames.transpose(0, 3, 1, 2).astype(np.float64)  # (T, 3, H, W)
    out = (wy @ x @ wx.T).transpose(0, 2, 3, 1)  # (T, 3, size, size) → (T, size, size, 3)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def to_model_input(frames: np.ndarray, pre: dict, use_cv2: bool = True) -> np.ndarray:
    """uint8 (T, H, W, 3) RGB → float32 (T, 3, S, S), exactly as actcap.data.frames.to_model_input."""
    small = resize(frames, pre["input_size"], use_cv2)  # (T, S, S, 3) uint8
    mean, std = np.asarray(pre["mean"], np.float32), np.asarray(pre["std"], np.float32)
    scale, shift = (1 / (255 * std))[None, :, None, None], (-mean / std)[None, :, None, None]  # (1, 3, 1, 1)
    x = np.multiply(small.transpose(0, 3, 1, 2), scale, dtype=np.float32, order="C")  # one fused pass
    x += shift
    return x  # (T, 3, S, S)


class BundlePredictor:
    """Predict from frames with an exported bundle: same sampling, features and head as actcap's Predictor.

        from runner import BundlePredictor          # or: from actcap.inference.export import BundlePredictor
        p = BundlePredictor("bundle/")
        p.predict_frames(frames)                     # frames: uint8 (N, H, W, 3) RGB, N >= 1
    """

    def __init__(self, bundle: str | Path, threads: int | None = None, use_cv2: bool = True):
        import onnxruntime as ort

        self.dir = Path(bundle)
        path = self.dir / "config.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing (expected a folder written by `actcap export`)")
        self.config = json.loads(path.read_text())
        if self.config.get("format") != BUNDLE_FORMAT:
            raise ValueError(f"{path}: format {self.config.get('format')!r} is not {BUNDLE_FORMAT!r}")
        self.classes, self.num_frames = self.config["classes"], self.config["num_frames"]
        # bundles written before dense sampling existed have neither key: one frame per slot
        self.sampling = self.config.get("sampling", "frames")
        self.max_frames = self.config.get("max_frames", 64)
        self.use_cv2 = use_cv2
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads

        def session(name: str):
            return ort.InferenceSession(str(self.dir / name), opts, providers=["CPUExecutionProvider"])

        self.streams = []  # (config, callable(frames, previous) -> (T, D))
        for cfg in self.config["streams"]:
            if cfg["name"] == "appearance":
                self.streams.append((cfg, self._appearance(session(cfg["file"]), cfg["preprocessing"])))
            elif cfg["name"] == "flow":
                from actcap.features.streams.flow import FlowStream  # Farnebäck flow: needs actcap and OpenCV

                self.streams.append((cfg, FlowStream(**{k: v for k, v in cfg.items() if k != "name"}).extract))
            else:
                raise ValueError(f"{path}: stream {cfg['name']!r} is not one this runner knows (appearance, flow)")
        self.head = session(self.config["head"]["file"])

    def _appearance(self, sess, pre: dict):
        def run(frames: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
            return sess.run(None, {"frames": to_model_input(frames, pre, self.use_cv2)})[0]  # (T, D)
        return run

    def features(self, frames: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
        """(T, H, W, 3) uint8 → (T, ΣD) float32, each stream's features side by side."""
        return np.concatenate([run(frames, previous) for _, run in self.streams], axis=1).astype(np.float32)

    def scores(self, features: np.ndarray) -> np.ndarray:
        """(T, ΣD) features → (C,) class probabilities."""
        return self.head.run(None, {"features": features[None].astype(np.float32)})[0][0]

    def predict_frames(self, frames: np.ndarray, top_k: int = 5) -> dict:
        """Sample the model's frame count uniformly from uint8 (N, H, W, 3) RGB frames and predict."""
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
            raise ValueError(f"frames must be a non-empty uint8 array (N, H, W, 3) RGB; got {frames.dtype} "
                             f"{frames.shape}")
        n = len(frames)
        if self.sampling == "dense":  # every frame (at most max_frames, spread uniformly), then segment means
            idx = list(range(n)) if n <= self.max_frames else uniform_indices(n, self.max_frames)
        else:
            idx = uniform_indices(n, self.num_frames)
        prev = [max(0, i - 1) for i in idx]  # the frame before each, for motion streams
        feats = self.features(frames[idx], frames[prev])
        probs = self.scores(dense_slots(feats, self.num_frames) if self.sampling == "dense" else feats)
        order = np.argsort(-probs)[:top_k]
        return {"prediction": self.classes[order[0]], "confidence": float(probs[order[0]]),
                "top_k": [{"label": self.classes[i], "confidence": float(probs[i])} for i in order],
                "probs": probs}


# --- writing a bundle: torch + actcap --------------------------------------------------------------------

def export_bundle(model_dir: str | Path | None, out: str | Path, int8: bool = False, calibration=None) -> dict:
    """Write the bundle for the model in `model_dir` (None: the shipped model) to `out`; return its config."""
    from actcap.features.engine import prepare_onnx
    from actcap.fileio import atomic_write_json
    from actcap.inference.predictor import Predictor

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    predictor = Predictor.load(model_dir, engine="torch")
    cfg = predictor.config
    streams, files = [], {}
    for i, (scfg, stream) in enumerate(zip(cfg.streams, predictor.streams)):
        if scfg["name"] == "appearance":
            name = f"appearance{i or ''}.onnx"
            backbone = stream.load_backbone()
            shutil.copyfile(prepare_onnx(backbone, "int8" if int8 else "fp32", calibration), out / name)
            streams.append({**scfg, "file": name, "precision": "int8" if int8 else "fp32"})
            files[name] = out / name
        elif scfg["name"] == "flow":
            streams.append(dict(scfg))
        else:
            raise ValueError(f"stream '{scfg['name']}' cannot be exported yet (appearance and flow can)")
    export_head(predictor.model, out / "head.onnx")
    files["head.onnx"] = out / "head.onnx"
    config = {"format": BUNDLE_FORMAT, "classes": list(cfg.classes), "num_frames": cfg.num_frames,
              "sampling": cfg.sampling, "max_frames": predictor.max_frames,
              "feature_dim": cfg.feature_dim, "streams": streams,
              "head": {"file": "head.onnx", "name": cfg.head, "input": "features (B, T, ΣD)", "output": "probs (B, C)"},
              "captions": dict(cfg.captions), "actcap_version": cfg.actcap_version,
              "files": {n: hashlib.sha256(p.read_bytes()).hexdigest() for n, p in files.items()}}
    atomic_write_json(out / "config.json", config)
    shutil.copyfile(Path(__file__), out / "runner.py")
    flow_note = (" (this model's flow stream also needs actcap and OpenCV)"
                 if any(s["name"] == "flow" for s in streams) else "")
    (out / "README.md").write_text(README.format(classes=", ".join(cfg.classes), n=cfg.num_frames, flow_note=flow_note))
    config["verification"] = verify_bundle(out, predictor)
    atomic_write_json(out / "config.json", config)
    log.info("exported %s to %s", model_dir, out)
    return config


def export_head(model, path: Path) -> Path:
    """Temporal head + softmax as ONNX: features (B, T, ΣD) → probs (B, C), batch axis dynamic; the logits
    are divided by the model's calibration temperature first, so the bundle's confidences are actcap's."""
    import torch

    temperature = float(model.config.calibration.get("temperature", 1.0))

    class Probs(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return (self.m(x) / temperature).softmax(-1)

    from actcap.features.engine import OPSET, quiet_export

    cfg = model.config
    x = torch.zeros(1, cfg.num_frames, cfg.feature_dim)
    with quiet_export():
        torch.onnx.export(Probs(model.eval()).eval(), x, str(path), input_names=["features"],
                          output_names=["probs"], dynamic_axes={"features": {0: "b"}, "probs": {0: "b"}},
                          opset_version=OPSET, dynamo=False)
    return path


def verify_bundle(out: Path, predictor, seed: int = 0) -> dict:
    """Run the bundle and actcap's Predictor (torch engine) on the same smooth random clip; return the gaps."""
    from actcap.features.quantize import synthetic_frames

    bundle = BundlePredictor(out)
    frames = synthetic_frames(max(predictor.num_frames, 4), size=(120, 160), seed=seed)
    idx = uniform_indices(len(frames), predictor.num_frames)
    prev = [max(0, i - 1) for i in idx]
    fa, fb = predictor.features(frames[idx], frames[prev]), bundle.features(frames[idx], frames[prev])
    pa, pb = predictor.scores(fa), bundle.scores(fa)  # the head alone, on identical features
    pc = bundle.scores(fb)
    return {"features_max_abs": float(np.abs(fa - fb).max()),
            "head_probs_max_abs": float(np.abs(pa - pb).max()),
            "probs_max_abs": float(np.abs(pa - pc).max()),
            "same_top1": bool(pa.argmax() == pc.argmax())}


README = """# actcap ONNX bundle

Classes: {classes}. The model samples {n} frames uniformly from the frames you give it.

```python
from runner import BundlePredictor   # needs numpy and onnxruntime{flow_note}
p = BundlePredictor(".")
print(p.predict_frames(frames))      # frames: uint8 array (N, H, W, 3), RGB
```

`config.json` lists the files with their sha256, the preprocessing of each stream and the gap this
export measured against PyTorch (`verification`). With OpenCV installed, resizing is OpenCV's own
(bit-exact with actcap); without it, a numpy version that agrees to one grey level.
"""
