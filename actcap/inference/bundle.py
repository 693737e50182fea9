"""Run an exported bundle (export.py) with numpy + onnxruntime only: `BundlePredictor`.

    from runner import BundlePredictor       # bundle/runner.py
    BundlePredictor("bundle/").predict_frames(frames)

`actcap export` writes bundle/runner.py as one file generated from actcap's own modules (export.py
`RUNNER_MODULES`): which frames and slots (data/sampling.py, data/pooling.py), the motion level
(honesty/motion.py), the open-set score and the rules that turn a head's output into a verdict
(honesty/openset.py, honesty/verdict.py), the caption and the answer's fields (caption/policy.py,
inference/answer.py), then this module, with their `from actcap.…` imports dropped. So the bundle answers with
the code the Predictor answers with: `state`, calibrated `confidence`, `open_set_score`, `caption`
(tests/test_export.py compares them clip by clip). This module may import from actcap only those modules, at
the top level; everything else numpy, onnxruntime and the standard library (OpenCV if present, for bit-exact
resizing; a flow stream needs actcap).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from actcap.caption.policy import CaptionPolicy
from actcap.data.pooling import slot_features
from actcap.data.sampling import inference_indices, previous_indices
from actcap.honesty.motion import motion_levels
from actcap.honesty.verdict import Rules, softmax
from actcap.inference.answer import answer, few_frames_warning

BUNDLE_FORMAT = "actcap-onnx-bundle/2"
OPEN_SET_FILE = "open_set.npz"


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


def resize(frames: np.ndarray, size: int | tuple[int, int], use_cv2: bool = True) -> np.ndarray:
    """uint8 (T, H, W, C) → (T, h, w, C), (h, w) = size (an int: a square), as actcap.data.frames.resize_frames:
    area when shrinking, else linear. With OpenCV it is that very call; the numpy version agrees to ±1 grey
    level (rounding)."""
    t, h, w, c = frames.shape
    oh, ow = (size, size) if isinstance(size, int) else size
    if (h, w) == (oh, ow):
        return frames
    shrink = h * w > oh * ow
    if use_cv2:
        try:
            import cv2

            interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
            return np.stack([cv2.resize(f, (ow, oh), interpolation=interp) for f in frames]).reshape(t, oh, ow, c)
        except ImportError:
            pass
    weights = area_weights if shrink else linear_weights
    wy, wx = weights(h, oh), weights(w, ow)
    x = frames.transpose(0, 3, 1, 2).astype(np.float64)  # (T, C, H, W)
    out = (wy @ x @ wx.T).transpose(0, 2, 3, 1)  # (T, C, h, w) → (T, h, w, C)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def to_gray_small(frames: np.ndarray, width: int, use_cv2: bool = True) -> np.ndarray:
    """uint8 (T, H, W, 3) RGB → (T, h, width) grey, as actcap.data.frames.to_gray_small (aspect kept up to 4:1):
    in bundle/runner.py, what motion.py's `motion_levels` measures on (OpenCV when present, else numpy)."""
    h, w = frames.shape[1:3]
    low, high = math.ceil(width / 4), width * 4  # frames.FLOW_MAX_ASPECT
    small = resize(frames, (min(max(round(h * width / w), low), high), width), use_cv2)
    if use_cv2:
        try:
            import cv2

            return np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in small])
        except ImportError:
            pass
    grey = small.astype(np.float64) @ np.array([0.299, 0.587, 0.114])  # (T, h, w): OpenCV's weights
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)


def to_model_input(frames: np.ndarray, pre: dict, use_cv2: bool = True) -> np.ndarray:
    """uint8 (T, H, W, 3) RGB → float32 (T, 3, S, S), exactly as actcap.data.frames.to_model_input."""
    small = resize(frames, pre["input_size"], use_cv2)  # (T, S, S, 3) uint8
    mean, std = np.asarray(pre["mean"], np.float32), np.asarray(pre["std"], np.float32)
    scale, shift = (1 / (255 * std))[None, :, None, None], (-mean / std)[None, :, None, None]  # (1, 3, 1, 1)
    x = np.multiply(small.transpose(0, 3, 1, 2), scale, dtype=np.float32, order="C")  # one fused pass
    x += shift
    return x  # (T, 3, S, S)


class BundlePredictor:
    """Predict from frames with an exported bundle: the sampling, features, head, verdict and answer of actcap's
    Predictor (`actcap predict`).

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
            raise ValueError(f"{path}: format {self.config.get('format')!r} is not {BUNDLE_FORMAT!r}; export the "
                             "model again with this actcap (`actcap export --model MODEL --out DIR`)")
        self.classes, self.num_slots = self.config["classes"], self.config["num_slots"]
        self.sampling, self.cache_frames = self.config["sampling"], self.config["cache_frames"]
        self.use_cv2 = use_cv2
        tensors = dict(np.load(self.dir / OPEN_SET_FILE)) if self.config["open_set"] else {}
        self.rules = Rules.from_config(self.config["calibration"], self.config["open_set"], tensors,
                                       idle_level=self.config["idle_level"])
        self.captions = CaptionTable(self.config["captions"])
        self.policy = CaptionPolicy(**self.config["caption_policy"])
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads

        def session(name: str):
            return ort.InferenceSession(str(self.dir / name), opts, providers=["CPUExecutionProvider"])

        self.streams = []  # (config, callable(frames, previous) -> (T, D))
        self.in_view = None  # (stream index, (T, D) its slot features → whether a person is in view): pose models
        for cfg in self.config["streams"]:
            if cfg["name"] == "appearance":
                self.streams.append((cfg, self._appearance(session(cfg["file"]), cfg["preprocessing"])))
            elif cfg["name"] == "flow":
                from actcap.features.streams.flow import FlowStream  # Farnebäck flow: needs actcap and OpenCV

                self.streams.append((cfg, FlowStream(**{k: v for k, v in cfg.items() if k != "name"}).extract))
            elif cfg["name"] == "pose":
                from actcap.features.streams.pose import PoseStream  # BlazePose: needs actcap and ai-edge-litert

                pose = PoseStream(**{k: v for k, v in cfg.items() if k != "name"})
                self.streams.append((cfg, pose.extract))
                self.in_view = self.in_view or (len(self.streams) - 1, pose.in_view)  # the judge's, as Pipeline's
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

    def outputs(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B, T, ΣD) slot features → (B, C) logits and (B, E) embeddings (what the open-set score reads)."""
        logits, emb = self.head.run(None, {"features": slots.astype(np.float32)})
        return logits, emb

    def scores(self, features: np.ndarray) -> np.ndarray:
        """(T, ΣD) features of the time slots → (C,) calibrated class probabilities (no state)."""
        return softmax(self.outputs(features[None])[0][0] / self.rules.temperature)

    def predict_frames(self, frames: np.ndarray, top_k: int = 5) -> dict:
        """Predict from uint8 (N, H, W, 3) RGB frames as `actcap predict` does: the same frames, slots, verdict
        (state, calibrated confidence, open-set score) and caption, plus `probs` (C,) in the classes' order."""
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
            raise ValueError(f"frames must be a non-empty uint8 array (N, H, W, 3) RGB; got {frames.dtype} "
                             f"{frames.shape}")
        n = len(frames)
        idx = inference_indices(n, self.num_slots, self.sampling, self.cache_frames)
        cur, prev = frames[idx], frames[previous_indices(idx)]  # the frame before each: motion and flow
        parts = [run(cur, prev).astype(np.float32) for _, run in self.streams]  # each stream's (L, D_i)
        inputs = np.concatenate(parts + [motion_levels(cur, prev)[:, None]], axis=1)  # (L, ΣD + 1)
        slots = slot_features(inputs, self.num_slots, self.sampling)[0]  # (T, ΣD + 1), motion last
        logits, emb = self.outputs(slots[None, :, :-1])
        nobody = None
        if self.in_view is not None:  # a pose model: is anybody in view in the slots?
            i, in_view = self.in_view
            start = sum(p.shape[1] for p in parts[:i])
            nobody = [not in_view(slots[:, start:start + parts[i].shape[1]])]
        verdict = self.rules.verdicts(logits, emb, np.max(slots[:, -1:], axis=0), nobody=nobody)[0]
        few = few_frames_warning(n, self.num_slots)
        return {**answer(verdict, self.classes, self.captions, self.policy, top_k), "frames_received": n,
                "frames_used": len(set(idx)), "warnings": [few] if few else [], "probs": verdict.probs}


class CaptionTable:
    """The captions an export resolved for each class (config.json `captions`), looked up as `Captions.get`."""

    def __init__(self, entries: dict[str, dict[str, str]]):
        self.entries = entries

    def get(self, label: str) -> SimpleNamespace:
        return SimpleNamespace(**self.entries[label])
