"""A trained recognizer as it lives on disk: `model.safetensors` (head weights) + `config.json`.

The config is everything a server needs (nanoGPT stores `model_args` in every checkpoint): class names,
input streams with their backbone and preprocessing, frame count, head and its arguments, captions,
training settings, metrics and the actcap version. Backbone weights are not copied: they come from
their pip package, named in the config. No pickle anywhere.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes

from actcap import __version__
from actcap.config import DEFAULT_CACHE_FRAMES, DEFAULT_HEAD, DEFAULT_NUM_SLOTS, upgrade_train_record
from actcap.data.pooling import slot_features
from actcap.fileio import atomic_write_bytes, atomic_write_json
from actcap.models.heads import TemporalHead, create_head, head_outputs

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


FILE_KEYS = {"num_slots": "num_frames"}  # ModelConfig field → its config.json key, where the two differ
FIELDS = {v: k for k, v in FILE_KEYS.items()}


class ModelFileError(ValueError):
    """A model directory is missing, incomplete or inconsistent."""


@dataclass
class ModelConfig:
    classes: list[str]
    """Class names, in the order of the head's outputs."""
    streams: list[dict]
    """Stream configs (name, backbone, preprocessing, …) whose features are concatenated per frame."""
    feature_dim: int
    """Width of the concatenated per-frame features the head takes."""
    num_slots: int = DEFAULT_NUM_SLOTS
    """Time slots the head sees per clip: one frame each, or a segment's mean (`sampling`). In config.json
    its key stays `num_frames` (`FILE_KEYS`), so files already out there, the shipped one among them, keep
    loading; in code `num_frames` is a clip's frame count (data/sampling.py), never this."""
    sampling: str = "frames"
    """How the time slots are filled from a clip's frames: `frames` or `dense` (see data/pooling.py)."""
    clip_frames: int = 0
    """Typical (median) frame count of the training clips: the live stream's window length."""
    cache_frames: int = 0
    """Frames per clip the training feature cache kept (`--cache-frames`): dense sampling reads as many at
    inference. 0: not stated (files before this field), taken from `train["max_frames"]`, else 64."""
    engine: str | None = None
    """Frame-CNN engine whose features the head was trained on (`--engine`); `onnx-int8` makes inference
    default to it (features/engine.py `resolve_engine`). Files before this field: `train["engine"]`."""
    head: str = DEFAULT_HEAD
    """Temporal head name (see `actcap.models.heads.list_heads`)."""
    head_kwargs: dict = field(default_factory=dict)
    """Extra head arguments (hidden size, depth, …)."""
    captions: dict = field(default_factory=dict)
    """Label → caption entries given at training time (overrides the built-in sentences)."""
    train: dict = field(default_factory=dict)
    """Training settings, for the record only: inference reads the named fields above, never this."""
    metrics: dict = field(default_factory=dict)
    """Validation metrics of the saved epoch."""
    calibration: dict = field(default_factory=dict)
    """`temperature` dividing the logits, fitted on held-out groups (held_out.py); empty: none (1.0)."""
    open_set: dict = field(default_factory=dict)
    """Open-set `score` name and `threshold` (openset.py); its reference tensors are in the weights file
    under `open_set.`. Empty: the model never answers "unknown"."""
    actcap_version: str = __version__

    def __post_init__(self):
        # model files written before these fields had them only in the training record
        if not self.cache_frames:  # the record's key was `max_frames`, later `cache_frames`
            self.cache_frames = int(upgrade_train_record(self.train).get("cache_frames", DEFAULT_CACHE_FRAMES))
        if self.engine is None:
            self.engine = self.train.get("engine")

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "ModelConfig":
        known = set(cls.__dataclass_fields__)
        missing = [k for k in ("classes", "streams", "feature_dim") if k not in d]
        if missing:
            raise ModelFileError(f"{source}: missing field(s) {', '.join(missing)}")
        d = {FIELDS.get(k, k): v for k, v in d.items()}
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_dict(self) -> dict:
        """The config as config.json holds it (`FILE_KEYS` names)."""
        return {FILE_KEYS.get(k, k): v for k, v in asdict(self).items()}


class Recognizer(torch.nn.Module):
    """The temporal head plus the config that explains its inputs and outputs."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.head: TemporalHead = create_head(config.head, config.feature_dim, len(config.classes),
                                              config.num_slots, **config.head_kwargs)
        self.model_dir: Path | None = None  # set by `load`; files a config names are relative to it
        self.extra_tensors: dict[str, torch.Tensor] = {}  # `open_set.*`: what the open-set score compares to

    def forward(self, features: torch.Tensor) -> torch.Tensor:  # (B, T, D) → (B, C) logits
        return self.head(features)

    def save(self, out_dir: str | Path) -> Path:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.head.state_dict().items()}
        state.update({k: v.contiguous() for k, v in self.extra_tensors.items()})
        # each file atomically, so a server or `--resume` never reads half a file; weights first, so an
        # interruption between the two leaves a config that matches the (new) head's shapes
        atomic_write_bytes(out / WEIGHTS_FILE, safetensors_bytes(
            state, metadata={"format": "actcap-head", "head": self.config.head}))
        atomic_write_json(out / CONFIG_FILE, self.config.to_dict())
        return out

    @classmethod
    def load(cls, model_dir: str | Path) -> "Recognizer":
        d = Path(model_dir)
        problems = []
        if not d.is_dir():
            raise ModelFileError(f"model directory {d} does not exist "
                                 "(expected a folder written by `actcap train --out`)")
        for name in (CONFIG_FILE, WEIGHTS_FILE):
            if not (d / name).is_file():
                problems.append(f"{d / name} is missing")
        if problems:
            raise ModelFileError("; ".join(problems) + " (expected a folder written by `actcap train --out`)")
        try:
            config = ModelConfig.from_dict(json.loads((d / CONFIG_FILE).read_text()), str(d / CONFIG_FILE))
        except json.JSONDecodeError as e:
            raise ModelFileError(f"{d / CONFIG_FILE} is not valid JSON: {e}") from None
        model = cls(config)
        state = load_file(str(d / WEIGHTS_FILE))
        model.extra_tensors = {k: state.pop(k) for k in list(state) if k.startswith("open_set.")}
        result = model.head.load_state_dict(state, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise ModelFileError(f"{d / WEIGHTS_FILE} does not match {d / CONFIG_FILE}: missing "
                                 f"{result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]}")
        model.model_dir = d
        return model.eval()


@torch.no_grad()
def clip_outputs(model: Recognizer, features: list[np.ndarray], num_clips: int = 1, batch_size: int = 64
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(L, D) features of each clip's frames → (N, K, C) logits and (N, K, E) embeddings of its K deterministic
    test views (data/pooling.py `slot_features`, the model's slots and sampling), in batches: the one batched
    head runner (evaluate, training's validation, held-out calibration, teaching's check)."""
    cfg, head = model.config, model.eval().head
    device = next(model.parameters()).device
    logits, embs = [], []
    for a in range(0, len(features), batch_size):
        views = np.stack([slot_features(f, cfg.num_slots, cfg.sampling, num_clips=num_clips)
                          for f in features[a:a + batch_size]])  # (B, K, T, D)
        b, k, t, d = views.shape
        lg, em = head_outputs(head, torch.from_numpy(views).float().view(b * k, t, d).to(device))  # (B·K, ·)
        logits.append(lg.cpu().numpy().reshape(b, k, -1))
        embs.append(em.cpu().numpy().reshape(b, k, -1))
    if not logits:
        return np.zeros((0, num_clips, len(cfg.classes)), np.float32), np.zeros((0, num_clips, 0), np.float32)
    return np.concatenate(logits), np.concatenate(embs)
