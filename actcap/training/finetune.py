"""End-to-end training: the frame CNN learns together with the temporal head (`--finetune-backbone`).

    actcap train --data DATA --finetune-backbone --epochs 10 --batch-size 4 --out runs/e2e

Meant for a GPU (it runs on the CPU too, slowly). Frames are decoded per step, not cached, since the
backbone changes; one frame per time slot (`--sampling frames`). It steps through the one training loop
(loop.py) with `--lr`, `--weight-decay`, `--label-smoothing` and `--class-weights`; each epoch's validation runs
the head through the one batched runner (train.py `predict_probs`). The run directory gets
`backbone.safetensors` beside the head, and the appearance stream's config names it, so `actcap
predict`/`serve`/`export` use the fine-tuned CNN; then the model is calibrated, with the open set unless
`--open-set off`, like every other (held_out.py `calibrate_run`, on the training clips' features through the
fine-tuned CNN). Flags it cannot honour (`--sampling dense`, `--mirror`, `--test-clips` above 1, `--resume`)
are refused by name.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save as safetensors_bytes
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset

from actcap.config import TrainConfig
from actcap.data.folders import ClipRecord
from actcap.data.frames import to_model_input
from actcap.data.sampling import segment_indices, uniform_indices
from actcap.data.video import VideoError, open_clip
from actcap.features.engine import torch_autocast
from actcap.features.streams.appearance import AppearanceStream, file_sha1
from actcap.fileio import atomic_write_bytes
from actcap.models.backbones import create_backbone
from actcap.models.heads import check_head_args
from actcap.models.recognizer import ModelConfig, Recognizer
from actcap.training.distributed import alone, check_global_batch, current
from actcap.training.loop import class_weights, run_epochs

log = logging.getLogger(__name__)
BACKBONE_FILE = "backbone.safetensors"


class ClipFrames(Dataset):
    """Decoded, preprocessed frames (T, 3, S, S) per clip; unreadable clips come back as None."""

    def __init__(self, records: list[ClipRecord], classes: list[str], num_slots: int, spec, train: bool,
                 seed: int = 0):
        self.records, self.classes, self.num_slots, self.spec, self.train = records, classes, num_slots, spec, train
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int):
        r = self.records[i]
        try:
            clip = open_clip(r.path)
            n = len(clip)
            idx = segment_indices(n, self.num_slots, self.rng) if self.train else uniform_indices(n, self.num_slots)
            x = to_model_input(clip.read(idx), self.spec.input_size, self.spec.mean, self.spec.std)
        except VideoError as e:
            log.warning("skipping %s: %s", r.path, e.reason)
            return None
        return torch.from_numpy(x), self.classes.index(r.label)


def _collate(batch):
    batch = [b for b in batch if b is not None]
    if not batch:
        return None
    return torch.stack([b[0] for b in batch]), torch.tensor([b[1] for b in batch])


class EndToEnd(nn.Module):
    def __init__(self, backbone: nn.Module, model: Recognizer):
        super().__init__()
        self.backbone, self.model = backbone, model

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, T, 3, S, S)
        b, t = x.shape[:2]
        f = self.backbone(x.flatten(0, 1)).float().view(b, t, -1)  # (B, T, D)
        return self.model(f)


def check_finetune(cfg: TrainConfig) -> None:
    """Every setting `--finetune-backbone` cannot honour, each named by its flag, in one error."""
    problems = []
    if cfg.streams != ["appearance"]:
        problems.append("`--finetune-backbone` trains the appearance stream end to end; "
                        f"use `--streams appearance` (got {'+'.join(cfg.streams)})")
    if cfg.sampling != "frames":
        problems.append("`--sampling dense` cannot be fine-tuned (frames are decoded one per time slot); "
                        "use `--sampling frames`")
    if cfg.mirror is not None:
        problems.append("`--mirror` mirrors cached stream features, and fine-tuning caches none; train without it")
    if cfg.num_clips != 1:
        problems.append(f"`--test-clips {cfg.num_clips}`: fine-tuning validates one view per clip; leave it at 1")
    if cfg.resume:
        problems.append("`--resume`: fine-tuning keeps no checkpoint to resume from; start the run again")
    if problems:
        raise ValueError("\n".join(problems))


def finetune(cfg: TrainConfig, train_records: list[ClipRecord], val_records: list[ClipRecord],
             classes: list[str]) -> dict:
    cfg.check()
    check_head_args(cfg.head, cfg.head_kwargs)
    check_finetune(cfg)
    ctx = current()  # one process, or this rank of a torchrun job
    check_global_batch(cfg.batch_size, ctx)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    device = ctx.device if ctx.enabled else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    ctx_amp = torch_autocast(device, training=True)  # bf16 on a GPU, a no-op on the CPU (features/engine.py)
    backbone = create_backbone(cfg.backbone).to(device)
    spec = backbone.spec
    stream = AppearanceStream(cfg.backbone, weights_file=BACKBONE_FILE)
    model = Recognizer(ModelConfig(classes=classes, streams=[], feature_dim=spec.feature_dim,
                                   num_slots=cfg.num_slots, head=cfg.head, head_kwargs=cfg.head_kwargs,
                                   captions=cfg.captions, train={**cfg.record(), "finetune_backbone": True}))
    net = EndToEnd(backbone, model).to(device)
    ddp_net = ctx.wrap(net)  # DDP under torchrun: each rank decodes its own clips, gradients are averaged
    opt = torch.optim.Adam([{"params": backbone.parameters(), "lr": cfg.lr * 0.1},
                            {"params": model.parameters(), "lr": cfg.lr}], weight_decay=cfg.weight_decay)
    weights = class_weights([classes.index(r.label) for r in train_records], len(classes)) if cfg.class_weights \
        else None
    ce = nn.CrossEntropyLoss(weight=None if weights is None else weights.to(device),
                             label_smoothing=cfg.label_smoothing)

    def loss(net_, x, y):  # each rank its own clips (DistributedSampler); DDP averages the gradients
        value = ce(net_(x.to(device)), y.to(device))
        return value, value.item()

    workers = 2 if device.type == "cuda" else 0
    train_set = ClipFrames(train_records, classes, cfg.num_slots, spec, True, cfg.seed + ctx.rank)
    sampler = DistributedSampler(train_set, ctx.world_size, ctx.rank, seed=cfg.seed) if ctx.enabled else None
    train_dl = DataLoader(train_set, batch_size=cfg.batch_size // ctx.world_size, shuffle=sampler is None,
                          sampler=sampler, collate_fn=_collate, num_workers=workers)
    val_set = ClipFrames(val_records, classes, cfg.num_slots, spec, False)
    val_dl = DataLoader(Subset(val_set, ctx.shard(list(range(len(val_set))))), batch_size=cfg.batch_size,
                        collate_fn=_collate, num_workers=workers) if val_records else None
    history, best = [], [-1.0]

    def batches(epoch: int):
        if sampler is not None:
            sampler.set_epoch(epoch)
        return train_dl  # None for a batch of unreadable clips: skipped

    def after_epoch(epoch: int, losses: list[float]) -> None:
        row = {"epoch": epoch, "train_loss": _mean_over_ranks(losses, ctx),
               "val_top1": _accuracy(net, val_dl, device, ctx_amp, ctx) if val_dl else None}
        history.append(row)
        log.info("epoch %d/%d  loss %s  val top-1 %s", epoch, cfg.epochs, row["train_loss"], row["val_top1"])
        score = row["val_top1"] if row["val_top1"] is not None else epoch
        if cfg.keep == "last" or score > best[0]:
            best[0] = score
            if ctx.is_main:  # one model, written by rank 0
                _save(out, backbone, model, stream, epoch, row)

    # join(): a rank whose batch was all unreadable clips skips a step without hanging the others
    run_epochs(ddp_net, opt, loss, batches, first=1, last=cfg.epochs, after_epoch=after_epoch,
               epoch_context=ddp_net.join if ctx.enabled else nullcontext, autocast=ctx_amp)
    if ctx.is_main:
        with alone():  # only rank 0 calibrates; nothing in it may wait for the other ranks
            _calibrate(out, cfg, train_records, classes)
    return {"history": history, "best": best[0]}


def _calibrate(out: Path, cfg: TrainConfig, records: list[ClipRecord], classes: list[str]) -> None:
    """Calibration and (unless `--open-set off`) the open-set score, as every model gets them
    (held_out.calibrate_run), on the training clips' features through the saved, fine-tuned CNN."""
    from actcap.config import cache_root
    from actcap.features.cache import FeatureCache
    from actcap.features.labelled import load_features
    from actcap.features.streams import create_streams
    from actcap.training.held_out import calibrate_run

    saved = Recognizer.load(out)
    streams = create_streams(saved.config.streams, engine=cfg.engine, model_dir=out)
    data = load_features(records, classes, FeatureCache(cfg.cache_dir or cache_root(), streams, cfg.cache_frames),
                         cfg.num_slots, cfg.progress, current())  # alone(): this rank only
    calibrate_run(out, cfg, data.features, data.labels, data.records)


def _mean_over_ranks(losses: list[float], ctx) -> float | None:
    total, count = ctx.all_sum([float(np.sum(losses)), float(len(losses))])
    return total / count if count else None


@torch.no_grad()
def _accuracy(net, dl, device, ctx_amp, ctx) -> float:
    """Top-1 over the whole validation set: each rank turns its shard's frames into features with the CNN
    being trained and scores them with the one batched head runner (train.py `predict_probs`); the counts are
    summed over the ranks."""
    from actcap.training.train import predict_probs

    net.eval()
    features, labels = [], []
    for batch in dl:
        if batch is None:
            continue
        x, y = batch
        b, t = x.shape[:2]
        with ctx_amp:
            f = net.backbone(x.to(device).flatten(0, 1)).float().view(b, t, -1)  # (B, T, D): one frame per slot
        features.extend(f.cpu().numpy())
        labels.extend(y.tolist())
    probs = predict_probs(net.model, features)  # (N, C)
    right, total = ctx.all_sum([float((probs.argmax(1) == np.array(labels, int)).sum()) if labels else 0.0,
                                float(len(labels))])
    return right / max(total, 1)


def _save(out: Path, backbone, model: Recognizer, stream: AppearanceStream, epoch: int, row: dict) -> None:
    atomic_write_bytes(out / BACKBONE_FILE, safetensors_bytes(
        {k: v.detach().cpu().contiguous() for k, v in backbone.state_dict().items()}))
    stream.weights_sha1 = file_sha1(out / BACKBONE_FILE)
    model.config.streams = [stream.config()]
    model.config.metrics = {"epoch": epoch, **{k: v for k, v in row.items() if k != "epoch"}}
    model.save(out)
