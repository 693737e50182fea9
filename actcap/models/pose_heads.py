"""A temporal head for body-pose features: `tcn`, a small 1-D convolution over time in the spirit of DD-Net
(Yang et al. 2019, "Make skeleton-based action recognition model smaller, faster and better").

It reads the pose stream's layout at the start of each frame's features (actcap/pose/skeleton.py: 13 joints'
body-relative x, y first) and adds, inside the model, what DD-Net found to matter: the distances between every
pair of joints (invariant to where the body stands and how it turns in the image plane) and the joints' motion
at two time scales (one slot and two). Each view is embedded per time step, the embeddings are concatenated and
three convolution stages with pooling look at longer and longer stretches; a max over time gives the clip.
Being computed from the head's input, these views need nothing from the stream or the model file but the head.
`mirror_average=1` (`--head-args`) answers each clip from its embedding averaged with its mirror image's (left
and right swapped, x negated: skeleton.py `mirror_features`), at inference only; with `--mirror none` in training
it makes the answer the same for a left- and a right-handed performer. Recipe for JHMDB: docs/model-card-keypoints.md.
`novelty=shape` has the open-set score read the `skeleton` head's description of the clip (its body shape's segment
means) instead of the embedding the convolutions learned: taught from a few people, the learned embedding puts
footage of other actions as close to the classes as new people's clips (docs/teaching.md), the fixed description
does not.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from actcap.models.heads import HEADS, InputNorm, TemporalHead, signature_args
from actcap.pose.skeleton import CONFIDENCES, FEATURE_DIM, JOINTS, POSITIONS, mirror_features

SHAPE_SEGMENTS = 8
"""Segments of the body-shape description (`skeleton` head's default, `tcn`'s `novelty=shape`)."""
NOVELTY = ("learned", "shape")


def body_shape(x: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """(B, T, D) pose features → (B, T, 104): the 13 joints' positions and the distances between every `pairs` of
    them, in torso units."""
    b, t, _ = x.shape
    pos = x[..., POSITIONS].reshape(b, t, len(JOINTS), 2)
    d = pos[:, :, pairs[0]] - pos[:, :, pairs[1]]
    return torch.cat([pos.flatten(2), torch.sqrt((d * d).sum(-1) + 1e-6)], -1)


def fit_shape_norm(norm: InputNorm, frames: torch.Tensor, pairs: torch.Tensor) -> None:
    """`norm` standardises body_shape of the training frames (N, D)."""
    shape = body_shape(frames[None].float(), pairs)[0]
    norm.mean.copy_(shape.mean(0))
    norm.std.copy_(shape.std(0, unbiased=False).clamp_min(1e-3))


def shape_segments(x: torch.Tensor, pairs: torch.Tensor, norm: InputNorm, segments: int) -> torch.Tensor:
    """(B, T, D) pose features → (B, segments · 104): the standardised body shape averaged over each of
    `segments` equal stretches of time."""
    b, t, _ = x.shape
    if t % segments:
        raise ValueError(f"the body-shape description needs a frame count divisible by {segments}; got {t}")
    return norm(body_shape(x, pairs)).view(b, segments, t // segments, -1).mean(2).flatten(1)


def _conv(cin: int, cout: int, k: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(cin, cout, k, padding=k // 2), nn.BatchNorm1d(cout), nn.LeakyReLU(0.2))


def _check_novelty(novelty) -> None:
    if novelty not in NOVELTY:
        raise ValueError(f"`--head-args`: the tcn head's novelty is one of {', '.join(NOVELTY)}; got {novelty!r}")


@HEADS.register("tcn")
class PoseConvHead(TemporalHead):
    min_in_dim = FEATURE_DIM

    @classmethod
    def head_args(cls, kwargs: dict) -> dict:
        """Its `--head-args` with their defaults, after checking `novelty`'s value: `check_head_args` calls this
        before any clip is read."""
        _check_novelty(kwargs.get("novelty", "learned"))
        return signature_args(cls)

    def __init__(self, in_dim: int, num_classes: int, num_slots: int, width: int = 64, dropout: float = 0.3,
                 mirror_average: int = 0, clamp: float = 0.0, novelty: str = "learned"):
        super().__init__(in_dim, num_classes, dropout)
        if in_dim < self.min_in_dim:
            raise ValueError(f"the tcn head reads pose-stream features ({FEATURE_DIM} values first in each "
                             f"frame); got {in_dim} values per frame: train with `--streams pose`")
        _check_novelty(novelty)
        if novelty == "shape" and num_slots % SHAPE_SEGMENTS:
            raise ValueError(f"the tcn head's novelty=shape needs frames divisible by {SHAPE_SEGMENTS}; "
                             f"got frames={num_slots}")
        j = len(JOINTS)
        self.register_buffer("pairs", torch.triu_indices(j, j, 1), persistent=False)  # (2, 78)
        views = {"distances": self.pairs.shape[1], "slow": 2 * j, "fast": 2 * j, "features": in_dim}
        self.embed = nn.ModuleDict({k: nn.Sequential(_conv(d, 2 * width, 1), _conv(2 * width, width, 3))
                                    for k, d in views.items()})
        self.body = nn.Sequential(
            _conv(len(views) * width, 2 * width, 3), _conv(2 * width, 2 * width, 3), nn.MaxPool1d(2, ceil_mode=True),
            _conv(2 * width, 4 * width, 3), _conv(4 * width, 4 * width, 3), nn.MaxPool1d(2, ceil_mode=True),
            _conv(4 * width, 4 * width, 3))
        self.fc = nn.Linear(4 * width, num_classes)
        self.mirror_average = bool(mirror_average)
        self.clamp = float(clamp)
        # mirror_features is linear (a permutation with signs): its image of the identity is its matrix
        mirror = torch.from_numpy(mirror_features(np.eye(FEATURE_DIM, dtype=np.float32)))  # (67, 67)
        self.register_buffer("mirror", mirror, persistent=False)
        self.novelty = novelty
        if novelty == "shape":  # only then: files of tcn heads without it keep loading
            self.shape_norm = InputNorm(2 * j + self.pairs.shape[1])

    def fit_input_stats(self, frames: torch.Tensor) -> None:
        super().fit_input_stats(frames)
        if self.novelty == "shape":
            fit_shape_norm(self.shape_norm, frames, self.pairs)

    def open_set_embedding(self, x: torch.Tensor, fc_input: torch.Tensor) -> torch.Tensor:
        if self.novelty == "shape":
            return shape_segments(x, self.pairs, self.shape_norm, SHAPE_SEGMENTS)
        return super().open_set_embedding(x, fc_input)

    def set_input_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """As every head, except the confidences: they enter as they are (already 0-1). Annotated joints are all
        confident (std 0, floored at 1e-3), so standardising them turned `--augment`'s confidences of 0.5-1, or
        BlazePose's on video, into values down to -500 (JHMDB split 3: 0.660 standardised, 0.706 as they are)."""
        mean, std = mean.clone(), std.clone()
        mean[CONFIDENCES], std[CONFIDENCES] = 0.0, 1.0
        super().set_input_stats(mean, std)

    def views(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, T, D) features → each view (B, channels, T)."""
        b, t, _ = x.shape
        shape = body_shape(x, self.pairs)  # (B, T, 26 + 78): body-relative positions, pair distances
        flat, dist = shape[..., :2 * len(JOINTS)], shape[..., 2 * len(JOINTS):]
        slow = torch.cat([flat[:, 1:] - flat[:, :-1], flat.new_zeros(b, 1, flat.shape[2])], 1)
        fast = torch.cat([flat[:, 2:] - flat[:, :-2], flat.new_zeros(b, min(2, t), flat.shape[2])], 1)[:, :t]
        return {"distances": dist, "slow": slow, "fast": fast, "features": self.norm(x)}

    def clip_embedding(self, x: torch.Tensor) -> torch.Tensor:
        if self.clamp > 0:  # positions and motion beyond ±clamp torso lengths: a collapsed torso, not a pose
            x = torch.cat([x[..., :CONFIDENCES.start].clamp(-self.clamp, self.clamp), x[..., CONFIDENCES.start:]], -1)
        z = torch.cat([self.embed[k](v.transpose(1, 2)) for k, v in self.views(x).items()], 1)  # (B, 4W, T)
        return self.body(self.drop(z)).amax(-1)  # (B, 4W, T/4) → (B, 4W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.clip_embedding(x)
        if self.mirror_average and not self.training:  # the clip and its mirror image, one embedding
            flipped = torch.cat([x[..., :FEATURE_DIM] @ self.mirror, x[..., FEATURE_DIM:]], -1)
            e = (e + self.clip_embedding(flipped)) / 2
        return self.fc(self.drop(e))  # (B, C)


@HEADS.register("skeleton")
class SkeletonHead(TemporalHead):
    """Segment means of the body's shape, classified by one linear layer: the `segments` head on what a pose
    stays when the camera moves — the 13 joints' body-relative positions and the distances between every pair of
    them — leaving out the joints' visibilities (they change when a tilt or a zoom cuts the legs off) and the
    frame-to-frame velocities (noisy; the segments' order already shows the motion). Few parameters: train it with
    a strong weight decay (docs/model-card.md, "Body pose")."""

    min_in_dim = FEATURE_DIM

    def __init__(self, in_dim: int, num_classes: int, num_slots: int, segments: int = SHAPE_SEGMENTS,
                 dropout: float = 0.0):
        super().__init__(in_dim, num_classes, dropout)
        if in_dim < self.min_in_dim:
            raise ValueError(f"the skeleton head reads pose-stream features ({FEATURE_DIM} values first in each "
                             f"frame); got {in_dim} values per frame: train with `--streams pose`")
        if not 1 <= segments <= num_slots:
            raise ValueError(f"skeleton head needs 1 <= segments <= frames; got segments={segments}, "
                             f"frames={num_slots}")
        j = len(JOINTS)
        self.segments = segments
        self.register_buffer("pairs", torch.triu_indices(j, j, 1), persistent=False)  # (2, 78)
        self.shape_dim = 2 * j + self.pairs.shape[1]  # 26 positions + 78 distances
        self.shape_norm = InputNorm(self.shape_dim)
        self.fc = nn.Linear(segments * self.shape_dim, num_classes)

    def fit_input_stats(self, frames: torch.Tensor) -> None:
        super().fit_input_stats(frames)
        fit_shape_norm(self.shape_norm, frames, self.pairs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] % self.segments:
            raise ValueError(f"skeleton head needs a frame count divisible by {self.segments}; got {x.shape[1]}")
        return self.fc(self.drop(shape_segments(x, self.pairs, self.shape_norm, self.segments)))
