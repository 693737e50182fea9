"""Run an exported bundle (export.py) with numpy + onnxruntime only: `BundlePredictor`.

    from runner import BundlePredictor       # bundle/runner.py
    BundlePredictor("bundle/").predict_frames(frames)

`actcap export` writes bundle/runner.py as one file generated from actcap's own modules: data/sampling.py and
data/pooling.py (which frames, which slots: the very code the Predictor runs), then this module, with their
`from actcap.…` imports dropped (export.py `runner_source`; tests/test_export.py proves the copies equal).
So this module may import from actcap only those two modules, at the top level; everything else numpy,
onnxruntime and the standard library (OpenCV if present, for bit-exact resizing; a flow stream needs actcap).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from actcap.data.pooling import slot_features
from actcap.data.sampling import inference_indices, previous_indices

BUNDLE_FORMAT = "actcap-onnx-bundle/1"


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

        from runner import BundlePredictor          # or: from actcap.inference.bundle import BundlePredictor
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
        self.classes, self.num_slots = self.config["classes"], self.config["num_frames"]
        # bundles written before dense sampling existed have neither key: one frame per slot
        self.sampling = self.config.get("sampling", "frames")
        self.cache_frames = self.config.get("max_frames", 64)
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
            elif cfg["name"] == "pose":
                from actcap.features.streams.pose import PoseStream  # BlazePose: needs actcap and ai-edge-litert

                self.streams.append((cfg, PoseStream(**{k: v for k, v in cfg.items() if k != "name"}).extract))
            else:
                raise ValueError(f"{path}: stream {cfg['name']!r} is not one this runner knows "
                                 "(appearance, flow, pose)")
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
        """Predict from uint8 (N, H, W, 3) RGB frames: the frames and slots actcap's Predictor would use."""
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
            raise ValueError(f"frames must be a non-empty uint8 array (N, H, W, 3) RGB; got {frames.dtype} "
                             f"{frames.shape}")
        idx = inference_indices(len(frames), self.num_slots, self.sampling, self.cache_frames)
        feats = self.features(frames[idx], frames[previous_indices(idx)])  # the frame before each: motion streams
        probs = self.scores(slot_features(feats, self.num_slots, self.sampling)[0])  # (T, ΣD) slots → (C,)
        order = np.argsort(-probs)[:top_k]
        return {"prediction": self.classes[order[0]], "confidence": float(probs[order[0]]),
                "top_k": [{"label": self.classes[i], "confidence": float(probs[i])} for i in order],
                "probs": probs}
