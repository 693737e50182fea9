"""The original brief's stream: ImageNet CNN features of each frame (what the frame looks like).

A model trained with `--finetune-backbone` carries its own backbone weights (`weights_file`, relative
to the model directory); otherwise the weights come from the backbone's pip package.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from actcap.config import DEFAULT_BACKBONE
from actcap.features.streams.base import STREAMS, Stream
from actcap.models.backbones import get_backbone_spec


@STREAMS.register("appearance")
class AppearanceStream(Stream):
    name = "appearance"

    def __init__(self, backbone: str = DEFAULT_BACKBONE, engine: str | None = None, engine_obj=None,
                 weights_file: str | None = None, weights_sha1: str | None = None, model_dir: Path | None = None,
                 **_ignored):
        self.backbone = backbone
        self.spec = get_backbone_spec(backbone)
        self.dim = self.spec.feature_dim
        self.engine_kind = engine
        self._engine = engine_obj
        self.weights_file, self.weights_sha1 = weights_file, weights_sha1
        self.model_dir = Path(model_dir) if model_dir else None

    @property
    def engine(self):
        if self._engine is None:  # built on first use: loading a model file stays cheap
            from actcap.features.engine import create_engine

            self._engine = create_engine(self.load_backbone(), self.engine_kind)
        return self._engine

    def load_backbone(self):
        """The backbone with its package weights, or the fine-tuned ones the model file names."""
        from actcap.models.backbones import create_backbone

        b = create_backbone(self.backbone)
        if self.weights_file:
            from safetensors.torch import load_file

            path = (self.model_dir or Path(".")) / self.weights_file
            if not path.is_file():
                raise FileNotFoundError(f"fine-tuned backbone weights {path} are missing (named in the model's "
                                        "config.json; copy the whole run directory)")
            b.load_state_dict(load_file(str(path)))
            b.weights_id = f"{self.backbone}:finetuned:{self.weights_sha1 or file_sha1(path)}"
        return b.eval()

    def config(self) -> dict:
        cfg = {"name": self.name, "backbone": self.backbone, "preprocessing": self.spec.preprocessing()}
        if self.weights_file:  # the sha goes into feature-cache keys, so new weights never reuse old features
            cfg.update(weights_file=self.weights_file, weights_sha1=self.weights_sha1)
        return cfg

    def cache_config(self) -> dict:
        from actcap.features.engine import feature_precision

        if feature_precision(self.engine_kind) != "int8":
            return self.config()
        # int8 features differ from fp32 ones by ~15%, and with the calibration frames: the quantized file's
        # name hashes those (engine.onnx_path), so features of another calibration never share a folder
        return {**self.config(), "precision": "int8", "int8_model": Path(self.engine.path).name}

    def extract(self, frames: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
        return self.engine(frames).astype(np.float32)  # (T, D)


def file_sha1(path: Path) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()
