"""One process or many under torchrun: rank, device and the few collectives training needs.

    torchrun --standalone --nproc-per-node=2 -m actcap train --data DATA ... --out runs/ddp

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them everything here is a no-op for one
process (world size 1, CPU, nothing initialised), so a plain `actcap train` is unchanged. The
backend and the device are decided in `session()` and nowhere else: NCCL on cuda:LOCAL_RANK when
CUDA is available, gloo on the CPU otherwise.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as tdist

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            tdist.barrier()

    def all_gather_object(self, obj) -> list:
        """Every rank's `obj`, in rank order (pickled; for small things: lists of paths, arrays of scores)."""
        if not self.enabled:
            return [obj]
        out = [None] * self.world_size
        tdist.all_gather_object(out, obj)
        return out

    def all_sum(self, values: list[float]) -> list[float]:
        if not self.enabled:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        tdist.all_reduce(t)
        return t.tolist()

    def shard(self, items: list) -> list:
        """This rank's disjoint share of `items` (every world_size-th, from its rank); shares cover all."""
        return items[self.rank::self.world_size]

    def gather_rows(self, rows: np.ndarray, n: int) -> np.ndarray:
        """Reassemble per-rank results for `shard(range(n))` into (n, ...) in the original order."""
        parts = self.all_gather_object(rows)
        out = np.empty((n, *rows.shape[1:]), dtype=rows.dtype)
        for r, part in enumerate(parts):
            out[r::self.world_size] = part
        return out

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """DDP around `module` (gradients averaged across ranks in backward), or `module` itself alone."""
        if not self.enabled:
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)


_current = Context()


def current() -> Context:
    """The active context: the one `session()` opened, or a single CPU process."""
    return _current


def env_rank() -> int:
    """This process's rank as torchrun announced it (0 without torchrun); cheap, initialises nothing."""
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    return env_rank() == 0


def _timeout() -> timedelta:
    # ranks wait for each other at the end of extraction; a shard can take long, so allow it
    return timedelta(minutes=float(os.environ.get("ACTCAP_DIST_TIMEOUT_MIN", "120")))


@contextmanager
def session():
    """Join the torchrun job (if there is one) for the duration of a command; a no-op otherwise."""
    global _current
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or tdist.is_initialized():
        yield _current
        return
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        # the one place the device is chosen: every later "cuda" means this rank's GPU
        torch.cuda.set_device(local_rank)
        device, backend = torch.device("cuda", local_rank), "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    tdist.init_process_group(backend, timeout=_timeout())
    _current = Context(tdist.get_rank(), tdist.get_world_size(), local_rank, device)
    log.info("distributed: %d processes, backend %s, rank %d on %s", world, backend, _current.rank, device)
    try:
        yield _current
        tdist.barrier()  # nobody leaves while rank 0 still writes the results
    finally:
        tdist.destroy_process_group()
        _current = Context()


@contextmanager
def alone():
    """Run a block on this rank as if it were the only process (rank 0's evaluation after training, while
    the others wait at the end of the session): nothing inside may wait for the other ranks."""
    global _current
    saved, _current = _current, Context(device=_current.device)
    try:
        yield _current
    finally:
        _current = saved


def check_global_batch(batch_size: int, ctx: Context) -> None:
    if batch_size < ctx.world_size:
        raise ValueError(f"`--batch-size` ({batch_size}) must be >= the number of processes ({ctx.world_size}): "
                         "under torchrun it is the global batch, split across the processes")


class GlobalBatchLoss:
    """Cross-entropy on this rank's share of a global batch, scaled so DDP's average is one process's loss.

    Every rank draws the same global batch (same permutation and augmentation as one process would) and
    runs the model on its contiguous 1/W share. The share's summed per-clip loss is divided by the whole
    batch's normaliser (clip count, or summed class weights) and multiplied by W; DDP averages gradients
    over the W ranks, so the update equals the single-process update on the whole batch, class weights
    and label smoothing included. Alone it is plain mean cross-entropy, exactly as before.

    A head that answers (B, M, C) in training (an `ensemble`'s members: models/ensemble.py) gets the sum of its
    members' own losses, each as above, so each member's gradient is the one it would get alone; the part
    reported is their mean, comparable with a single head's loss.
    """

    def __init__(self, ctx: Context, weight: torch.Tensor | None, label_smoothing: float):
        self.ctx, self.weight = ctx, weight
        self.mean = torch.nn.CrossEntropyLoss(weight=weight, label_smoothing=label_smoothing)
        self.per_clip = torch.nn.CrossEntropyLoss(
            weight=None if weight is None else weight.to(ctx.device), label_smoothing=label_smoothing,
            reduction="none")

    def __call__(self, net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, float]:
        """(loss to backpropagate, this rank's part of the batch's mean loss: parts sum to it over ranks)."""
        ctx = self.ctx
        if not ctx.enabled:
            logits, y, m = members_apart(net(x), y)
            loss = self.mean(logits, y) * m  # Σ over members of each one's mean loss
            return loss, loss.item() / m
        norm = float(self.weight[y].sum()) if self.weight is not None else float(len(y))
        share = torch.tensor_split(torch.arange(len(y)), ctx.world_size)[ctx.rank]
        keep = 1.0
        if len(share) == 0:  # a last batch smaller than the world: run one clip, count none (DDP needs a backward)
            share, keep = torch.arange(1), 0.0
        logits, y_share, m = members_apart(net(x[share].to(ctx.device)), y[share].to(ctx.device))  # (b·M, C)
        part = self.per_clip(logits, y_share).sum() * keep / norm
        return part * ctx.world_size, part.item() / m


def members_apart(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(B, C) logits as they are, or an ensemble's (B, M, C) as B·M answers each with its clip's label
    (B·M, C), (B·M,): the member count M comes back (1 for a single head)."""
    if logits.dim() == 2:
        return logits, y, 1
    m = logits.shape[1]
    return logits.flatten(0, 1), y.repeat_interleave(m), m
