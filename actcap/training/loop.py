"""The one training loop: `actcap train` (train.py), the held-out heads that calibrate every model (held_out.py),
teaching (through both) and end-to-end fine-tuning (finetune.py) all step through `run_epochs`.

    opt = create_optimizer(model.parameters(), cfg)
    loss = create_loss(cfg, labels, num_classes, ctx)       # cross-entropy: label smoothing, class weights
    run_epochs(net, opt, loss, batches, first=1, last=cfg.epochs, after_epoch=hook, lr_factor=lr_schedule(cfg))

`batches(epoch)` yields (x, y) for that epoch (feature clips or decoded frames; None for a batch with nothing
readable, skipped); `after_epoch(epoch, losses)` validates, keeps the best epoch, writes checkpoints.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from typing import Callable, Iterable

import numpy as np
import torch
from torch.utils.data import DataLoader

from actcap.config import TrainConfig
from actcap.data.dataset import FeatureClips
from actcap.pose.augment import PoseAugment
from actcap.training.distributed import Context, GlobalBatchLoss, current

Batches = Callable[[int], Iterable[tuple[torch.Tensor, torch.Tensor] | None]]


def create_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Adam with `--lr` and `--weight-decay` (params: a module's parameters, or Adam's parameter groups)."""
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def lr_schedule(cfg: TrainConfig) -> Callable[[int], float]:
    """Epoch (1..cfg.epochs) → the factor on each parameter group's learning rate under `--lr-schedule`. A
    function of the epoch alone, so a resumed run continues on the same curve; cosine: ½(1 + cos(π (epoch − 1) /
    epochs)), 1 at the first epoch, near 0 at the last."""
    if cfg.lr_schedule == "cosine":
        return lambda epoch: 0.5 * (1 + math.cos(math.pi * (epoch - 1) / cfg.epochs))
    return lambda epoch: 1.0


def class_weights(labels: list[int], num_classes: int) -> torch.Tensor:
    """Inverse class frequency, normalised so that balanced data gets weight 1 (`--class-weights`)."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    w = np.where(counts > 0, counts.sum() / (num_classes * np.maximum(counts, 1)), 0.0)
    return torch.tensor(w, dtype=torch.float32)


def create_loss(cfg: TrainConfig, labels: list[int], num_classes: int, ctx: Context | None = None
                ) -> GlobalBatchLoss:
    """Cross-entropy with `--label-smoothing` and, with `--class-weights`, the training labels' weights; under
    torchrun, on this rank's share of the global batch (distributed.py)."""
    weights = class_weights(labels, num_classes) if cfg.class_weights else None
    return GlobalBatchLoss(ctx or current(), weights, cfg.label_smoothing)


def feature_batches(features: list[np.ndarray], labels: list[int], cfg: TrainConfig, seed: int) -> Batches:
    """Each epoch's shuffled batches of training views (data/dataset.py FeatureClips: TSN frames or jittered
    dense segments, pose views perturbed with `--augment`), x (B, T, D); one generator across epochs, so a run
    is reproducible from its seed."""
    data = FeatureClips(features, labels, cfg.num_slots, train=True, seed=seed, sampling=cfg.sampling,
                        augment=PoseAugment(held=cfg.augment_held) if cfg.augment else None)
    gen = torch.Generator().manual_seed(seed)

    def batches(epoch: int):
        for x, y in DataLoader(data, batch_size=cfg.batch_size, shuffle=True, generator=gen):
            yield x[:, 0], y  # (B, 1, T, D) → (B, T, D): one view per clip in training

    return batches


def run_epochs(net: torch.nn.Module, opt: torch.optim.Optimizer, loss: Callable, batches: Batches, *, first: int,
               last: int, after_epoch: Callable[[int, list[float]], None] | None = None,
               epoch_context: Callable = nullcontext, autocast=None,
               lr_factor: Callable[[int], float] | None = None) -> None:
    """Epochs `first`..`last`: each batch's `loss(net, x, y)` → (loss to backpropagate, its part of the batch's
    mean) is stepped; `epoch_context()` wraps an epoch (DDP's join), `autocast` each forward pass; `lr_factor(epoch)`
    (`lr_schedule`) scales every parameter group's starting learning rate at the start of each epoch."""
    for epoch in range(first, last + 1):
        if lr_factor is not None:
            for group in opt.param_groups:
                group["lr"] = group.setdefault("initial_lr", group["lr"]) * lr_factor(epoch)
        net.train()
        losses = []
        with epoch_context():
            for batch in batches(epoch):
                if batch is None:
                    continue
                x, y = batch
                with autocast or nullcontext():
                    value, part = loss(net, x, y)
                opt.zero_grad()
                value.backward()
                opt.step()
                losses.append(part)
        if after_epoch is not None:
            after_epoch(epoch, losses)
