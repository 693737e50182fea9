"""Temporal heads: (B, T, D) per-frame features → (B, num_classes) logits.

- `mean`: TSN-style average of per-frame scores; ignores frame order (the baseline).
- `lstm`: the original brief's LSTM(256) → dense.
- `transformer`: a small temporal encoder with learned positional embeddings.
- `segments`: averages the frames of K consecutive segments and classifies their concatenation
  (TSN's consensus, but keeping the segments' order): few parameters, hard to overfit.
- `tcn` (pose_heads.py): 1-D convolutions over pose features, with joint distances and motion computed inside.
- `ensemble` (ensemble.py): N differently initialised copies of another head, each trained on its own loss,
  answering with their mean probabilities.

Every head starts with a feature normaliser whose statistics are set from the training features
(`set_input_stats`), so streams of very different scales (CNN activations, optical flow) fuse well.
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from actcap.registry import Registry

HEADS: Registry = Registry("head")


class InputNorm(nn.Module):
    """Standardise each feature with training-set mean/std (stored in the model file as buffers)."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class TemporalHead(nn.Module):
    min_in_dim: int = 1
    """The fewest feature values per time slot this head can read (a pose head needs the pose stream's)."""

    def __init__(self, in_dim: int, num_classes: int, dropout: float):
        super().__init__()
        self.norm = InputNorm(in_dim)
        self.drop = nn.Dropout(dropout)

    def set_input_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.norm.mean.copy_(mean)
        self.norm.std.copy_(std.clamp_min(1e-3))

    def fit_input_stats(self, frames: torch.Tensor) -> None:
        """Set the normalisers from the training features, every frame of every clip (N, D); a head that
        derives features of its own (the `skeleton` head) also fits their normaliser here."""
        self.set_input_stats(frames.mean(0), frames.std(0, unbiased=False))

    def open_set_embedding(self, x: torch.Tensor, fc_input: torch.Tensor) -> torch.Tensor:
        """(B, E) what the open-set scores compare for (B, T, D) features `x`: by default what the last layer `fc`
        reads (`fc_input`, averaged over time for heads that classify every slot); a head may read something else
        (the `tcn` head's `novelty=shape`)."""
        return fc_input.mean(1) if fc_input.dim() == 3 else fc_input


@HEADS.register("mean")
class MeanHead(TemporalHead):
    def __init__(self, in_dim: int, num_classes: int, num_slots: int, dropout: float = 0.5):
        super().__init__(in_dim, num_classes, dropout)
        self.fc = nn.Linear(in_dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, T, D)
        return self.fc(self.drop(self.norm(x))).mean(dim=1)  # (B, T, C) → (B, C)


@HEADS.register("lstm")
class LSTMHead(TemporalHead):
    def __init__(self, in_dim: int, num_classes: int, num_slots: int, hidden: int = 256,
                 dropout: float = 0.5):
        super().__init__(in_dim, num_classes, dropout)
        self.lstm = nn.LSTM(in_dim, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(self.drop(self.norm(x)))  # h: (1, B, hidden)
        return self.fc(self.drop(h[-1]))  # (B, C)


@HEADS.register("transformer")
class TransformerHead(TemporalHead):
    def __init__(self, in_dim: int, num_classes: int, num_slots: int, width: int = 128, depth: int = 2,
                 heads: int = 4, dropout: float = 0.3):
        super().__init__(in_dim, num_classes, dropout)
        self.proj = nn.Linear(in_dim, width)
        self.cls = nn.Parameter(torch.zeros(1, 1, width))
        # one slot per frame plus the class token; longer inputs are an error, not a silent wrap
        self.pos = nn.Parameter(torch.randn(1, num_slots + 1, width) * 0.02)
        layer = nn.TransformerEncoderLayer(width, heads, dim_feedforward=2 * width, dropout=dropout,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.out_norm = nn.LayerNorm(width)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        if t + 1 > self.pos.shape[1]:
            raise ValueError(f"transformer head was built for {self.pos.shape[1] - 1} frames; got {t}")
        z = self.proj(self.drop(self.norm(x)))  # (B, T, W)
        z = torch.cat([self.cls.expand(b, -1, -1), z], dim=1) + self.pos[:, : t + 1]  # (B, T+1, W)
        z = self.encoder(z)
        return self.fc(self.out_norm(z[:, 0]))  # class token → (B, C)


@HEADS.register("segments")
class SegmentHead(TemporalHead):
    def __init__(self, in_dim: int, num_classes: int, num_slots: int, segments: int = 4, dropout: float = 0.5):
        super().__init__(in_dim, num_classes, dropout)
        if not 1 <= segments <= num_slots:
            raise ValueError(f"segments head needs 1 <= segments <= frames; got segments={segments}, "
                             f"frames={num_slots}")
        self.segments = segments
        self.fc = nn.Linear(segments * in_dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        if t % self.segments:
            raise ValueError(f"segments head needs a frame count divisible by {self.segments}; got {t}")
        z = self.norm(x).view(b, self.segments, t // self.segments, d).mean(2)  # (B, K, D)
        return self.fc(self.drop(z.flatten(1)))  # (B, K·D) → (B, C)


@torch.no_grad()
def head_outputs(head: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, D) features → (B, C) logits and (B, E) embedding: the head's `open_set_embedding` (by default what
    its last linear layer `fc` reads, averaged over time for heads that classify every frame), or a head's own
    `logits_and_embedding` (an ensemble's: ensemble.py); the open-set scores compare embeddings."""
    if hasattr(head, "logits_and_embedding"):
        return head.logits_and_embedding(x)
    seen = []
    hook = head.fc.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    try:
        logits = head(x)
    finally:
        hook.remove()
    return logits, head.open_set_embedding(x, seen[0])


def list_heads() -> list[str]:
    return HEADS.list()


SHAPE_ARGS = ("self", "in_dim", "num_classes", "num_slots")
"""What every head is built with from the model's config; the rest are its own arguments (`--head-args`)."""


def get_head_args(name: str, kwargs: dict | None = None) -> dict:
    """The arguments head `name` takes beyond its shape (`--head-args`), with their defaults; a head whose
    arguments depend on the ones asked for (`kwargs`: an ensemble's on its member) says them itself."""
    cls = HEADS.get(name)
    if hasattr(cls, "head_args"):
        return cls.head_args(kwargs or {})
    return signature_args(cls)


def signature_args(cls) -> dict:
    """A head class's own constructor arguments (beyond its shape) with their defaults."""
    params = inspect.signature(cls.__init__).parameters
    return {k: p.default for k, p in params.items() if k not in SHAPE_ARGS}


def check_head_args(name: str, kwargs: dict) -> None:
    """Refuse arguments head `name` does not take, listing the ones it does."""
    known = get_head_args(name, kwargs)
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        takes = ", ".join(f"{k}={v}" for k, v in known.items()) or "none"
        raise ValueError(f"`--head-args`: the {name} head has no argument {', '.join(unknown)}; "
                         f"it takes (defaults): {takes}")


def create_head(name: str, in_dim: int, num_classes: int, num_slots: int, **kwargs) -> TemporalHead:
    """Head `name` for (B, num_slots, in_dim) features and `num_classes` classes, with its own `kwargs`."""
    check_head_args(name, kwargs)
    return HEADS.get(name)(in_dim=in_dim, num_classes=num_classes, num_slots=num_slots, **kwargs)


from actcap.models import ensemble, pose_heads  # noqa: E402,F401  (register `ensemble`, `tcn` and `skeleton`)
