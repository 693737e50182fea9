"""`ensemble`: N copies of a head (its `member`), each initialised differently, trained on its own cross-entropy,
answering together (a deep ensemble, Lakshminarayanan et al. 2017: better accuracy and calibration than one head).

    actcap train ... --head ensemble --head-args member=tcn,members=3,width=32,clamp=6

Every argument but `member` and `members` goes to each member. The members are built one after another from
the run's seeded random stream, so they start apart and a run is reproducible from `--seed`.

- Training (`train()` mode): the head returns each member's logits (B, M, C); the loss (training/distributed.py
  `GlobalBatchLoss`) sums the members' own cross-entropies, so a member's gradient is exactly what it would get
  trained alone (not one loss on the averaged answer, which would train one big co-adapted model).
- Inference (`eval()` mode): the logits are the log of the members' mean softmax (B, C), so temperature, the open
  set, the live stream, the service and the export read it as they read any head's logits.
- Embedding (the open-set scores', models/heads.py `head_outputs`): each member's (what its `fc` reads), scaled to
  unit length and concatenated, divided by √M: one unit vector in which every member counts equally; the
  `prototype` score's cosine on it is then the mean of the members' cosines to their parts of a class mean.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from actcap.config import DEFAULT_HEAD
from actcap.models.heads import HEADS, create_head, get_head_args, head_outputs

OWN_ARGS = {"member": DEFAULT_HEAD, "members": 3}
"""The ensemble's own `--head-args` (defaults); every other argument is the member's."""


def _member_name(kwargs: dict) -> str:
    """The member head `kwargs` ask for, after checking the ensemble's own arguments (clear errors, before any
    clip is read: `check_head_args` calls this through `head_args`)."""
    member, members = kwargs.get("member", OWN_ARGS["member"]), kwargs.get("members", OWN_ARGS["members"])
    choices = [n for n in HEADS.list() if n != "ensemble"]
    if member not in choices:
        raise ValueError(f"`--head-args`: the ensemble head's member={member!r} is not a head to ensemble; "
                         f"choose one of: {', '.join(choices)}")
    if isinstance(members, bool) or not isinstance(members, int) or members < 1:
        raise ValueError(f"`--head-args`: the ensemble head takes members=N, a whole number >= 1; got "
                         f"members={members!r}")
    return member


@HEADS.register("ensemble")
class EnsembleHead(nn.Module):
    min_in_dim: int = 1
    """As its member's (set per instance; a `tcn` ensemble reads pose-stream features)."""

    def __init__(self, in_dim: int, num_classes: int, num_slots: int, member: str = OWN_ARGS["member"],
                 members: int = OWN_ARGS["members"], **member_args):
        super().__init__()
        member = _member_name({"member": member, "members": members})
        self.member = member
        self.min_in_dim = HEADS.get(member).min_in_dim
        # one after another from the seeded stream: each starts from its own initialisation
        self.members = nn.ModuleList(create_head(member, in_dim, num_classes, num_slots, **member_args)
                                     for _ in range(members))

    @classmethod
    def head_args(cls, kwargs: dict) -> dict:
        """`--head-args` it takes given the ones asked for: its own (the member named, else the default), then
        that member's (with their defaults)."""
        member = _member_name(kwargs)
        return {**OWN_ARGS, "member": member,
                **get_head_args(member, {k: v for k, v in kwargs.items() if k not in OWN_ARGS})}

    def set_input_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        for m in self.members:
            m.set_input_stats(mean, std)

    def fit_input_stats(self, frames: torch.Tensor) -> None:
        for m in self.members:
            m.fit_input_stats(frames)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.stack([m(x) for m in self.members], 1)  # (B, M, C)
        return logits if self.training else mean_softmax_logits(logits)

    def logits_and_embedding(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, D) → (B, C) logits (log mean softmax) and (B, M·E) embedding (module docstring); no_grad is
        the caller's (head_outputs, or export's graph)."""
        outs = [head_outputs.__wrapped__(m, x) for m in self.members]
        logits = mean_softmax_logits(torch.stack([lg for lg, _ in outs], 1))  # (B, M, C) → (B, C)
        scale = 1.0 / math.sqrt(len(outs))
        emb = torch.cat([nn.functional.normalize(e, dim=-1) * scale for _, e in outs], -1)  # (B, M·E)
        return logits, emb


def mean_softmax_logits(logits: torch.Tensor) -> torch.Tensor:
    """(B, M, C) members' logits → (B, C) log of their mean softmax (softmax of it = the mean probabilities)."""
    return torch.logsumexp(torch.log_softmax(logits, -1), 1) - math.log(logits.shape[1])
