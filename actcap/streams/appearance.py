"""The original brief's stream: ImageNet CNN features of each frame (what the frame looks like)."""

from __future__ import annotations

import numpy as np

from actcap.models.backbones import get_backbone_spec
from actcap.streams.base import STREAMS, Stream


@STREAMS.register("appearance")
class AppearanceStream(Stream):
    name = "appearance"

    def __init__(self, backbone: str = "efficientnet_lite0", engine: str | None = None, engine_obj=None,
                 **_ignored):
        self.backbone = backbone
        self.spec = get_backbone_spec(backbone)
        self.dim = self.spec.feature_dim
        self.engine_kind = engine
        self._engine = engine_obj

    @property
    def engine(self):
        if self._engine is None:  # built on first use: loading a model file stays cheap
            from actcap.engine import create_engine

            self._engine = create_engine(self.backbone, self.engine_kind)
        return self._engine

    def config(self) -> dict:
        return {"name": self.name, "backbone": self.backbone, "preprocessing": self.spec.preprocessing()}

    def extract(self, frames: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
        return self.engine(frames).astype(np.float32)  # (T, D)
