"""Input streams: per-frame feature extractors whose outputs are concatenated over time.

A stream maps `frames` uint8 (T, H, W, 3) and, optionally, `previous` — the frame just before each
one in the source video, for motion streams — to float32 features (T, dim). Its `config()` is stored
in model files and hashed into feature-cache keys, so it must hold everything that changes the output.
"""

from __future__ import annotations

import numpy as np

from actcap.registry import Registry

STREAMS: Registry = Registry("stream")


class Stream:
    name: str = ""
    dim: int = 0
    uses_previous: bool = False
    """Whether `extract` looks at the frame before each one (motion); if not, callers need not decode it."""

    def config(self) -> dict:
        raise NotImplementedError

    def cache_config(self) -> dict:
        """What keys this stream's feature cache: the config, plus anything at run time that changes
        the numbers (an int8 engine, say)."""
        return self.config()

    def extract(self, frames: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def mirror(self, features: np.ndarray) -> np.ndarray | None:
        """Features of the horizontally mirrored frames, computed from `features` (T, dim); None when
        this stream cannot do that without the frames (then mirroring augmentation is refused)."""
        return None


def previous_frames(frames: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """The frame before each frame: given, or the preceding one in `frames` (the first is its own)."""
    if previous is not None:
        if previous.shape != frames.shape:
            raise ValueError(f"previous frames {previous.shape} must match frames {frames.shape}")
        return previous
    return np.concatenate([frames[:1], frames[:-1]])


def list_streams() -> list[str]:
    return STREAMS.list()


def create_stream(name: str, **options) -> Stream:
    return STREAMS.get(name)(**options)


def create_streams(configs: list[dict], **runtime) -> list[Stream]:
    """Rebuild streams from model-file configs; `runtime` (engine, model_dir) never changes features."""
    out = []
    for cfg in configs:
        cfg = dict(cfg)
        name = cfg.pop("name")
        out.append(create_stream(name, **cfg, **(runtime if name == "appearance" else {})))
    return out


def parse_streams(text: str) -> list[str]:
    """'appearance+flow' or 'appearance,flow' → ['appearance', 'flow'], each checked against the registry."""
    names = [n.strip() for n in text.replace("+", ",").split(",") if n.strip()]
    if not names:
        raise ValueError(f"--streams needs at least one of: {', '.join(list_streams())}")
    for n in names:
        STREAMS.get(n)
    if len(set(names)) != len(names):
        raise ValueError(f"--streams lists a stream twice: {text}")
    return names
