"""Train a temporal head on cached per-frame features.

    actcap train --data DATA --group-by '_s(\\d+)_' --val-groups 5,6 --head lstm --out runs/lstm

Adam + cross-entropy, keeps the best epoch on validation (or the last one with no validation set),
and writes into the run directory: model.safetensors + config.json (the model), metrics.json,
training_curve.png, history.json and checkpoint.* for `--resume`.
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes

from actcap.config import TrainConfig, cache_root
from actcap.data.folders import ClipRecord
from actcap.features.cache import FeatureCache
from actcap.features.labelled import LabelledFeatures, build_streams, load_features, mirrored
from actcap.fileio import atomic_write_bytes, atomic_write_json
from actcap.honesty.calibration import softmax
from actcap.models.heads import check_head_args
from actcap.models.recognizer import ModelConfig, Recognizer, clip_outputs
from actcap.training.distributed import Context, check_global_batch, current
from actcap.training.held_out import calibrate_run
from actcap.training.loop import create_loss, create_optimizer, feature_batches, lr_schedule, run_epochs
from actcap.training.metrics import classification_metrics, plot_curve, write_confusion

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def predict_probs(model: Recognizer, features: list[np.ndarray], num_clips: int = 1) -> np.ndarray:
    """(N, C) softmax scores of the head's logits (no temperature: training has not fitted one yet), averaged
    over each clip's `num_clips` test views (models/recognizer.py `clip_outputs`)."""
    logits, _ = clip_outputs(model, features, num_clips)  # (N, K, C)
    return softmax(logits).mean(1) if len(logits) else np.zeros((0, len(model.config.classes)), np.float32)


def gathered_probs(model: Recognizer, features: list[np.ndarray], num_clips: int, ctx: Context) -> np.ndarray:
    """predict_probs over the whole set, each rank scoring its shard (all ranks get every row)."""
    if not ctx.enabled:
        return predict_probs(model, features, num_clips)
    rows = predict_probs(model, [features[i] for i in ctx.shard(list(range(len(features))))], num_clips)
    return ctx.gather_rows(rows, len(features))


def _save_checkpoint(out: Path, model: Recognizer, opt: torch.optim.Optimizer, state: dict) -> None:
    tensors = {f"model.{k}": v.detach().clone() for k, v in model.head.state_dict().items()}
    for pid, s in opt.state_dict()["state"].items():
        for name, v in s.items():
            tensors[f"opt.{pid}.{name}"] = v.detach().clone() if torch.is_tensor(v) else torch.tensor(v)
    # the state rides in the tensors' file too: one atomic replace holds everything `--resume` needs, so an
    # interruption between the two files cannot pair epoch N's weights with epoch N-1's state
    atomic_write_bytes(out / "checkpoint.safetensors",
                       safetensors_bytes(tensors, metadata={"state": json.dumps(state)}))
    atomic_write_json(out / "checkpoint.json", state)  # the same state, for people


def _load_checkpoint(out: Path, model: Recognizer, opt: torch.optim.Optimizer) -> dict:
    if not (out / "checkpoint.json").is_file() or not (out / "checkpoint.safetensors").is_file():
        raise FileNotFoundError(f"`--resume`: no checkpoint in {out} (expected checkpoint.json and "
                                "checkpoint.safetensors from an earlier `actcap train --out` run)")
    with safe_open(str(out / "checkpoint.safetensors"), "pt") as f:
        saved = (f.metadata() or {}).get("state")  # absent in checkpoints written before it was added
    state = json.loads(saved if saved is not None else (out / "checkpoint.json").read_text())
    tensors = load_file(str(out / "checkpoint.safetensors"))
    model.head.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    opt_state = opt.state_dict()
    for key, v in tensors.items():
        if key.startswith("opt."):
            _, pid, name = key.split(".", 2)
            opt_state["state"].setdefault(int(pid), {})[name] = v
    opt.load_state_dict(opt_state)
    return state


def train(cfg: TrainConfig, train_records: list[ClipRecord], val_records: list[ClipRecord],
          classes: list[str], extra: LabelledFeatures | None = None, threshold_rule=None) -> dict:
    """Train and save the best model into cfg.out; returns the final metrics dict.

    `extra`: training clips whose features are already at hand (a taught model's examples, see
    actcap/teach), added to `train_records`; their features must come from the same streams.
    `threshold_rule`: the open-set rule (held_out.ThresholdRule), when not the default (a taught model's)."""
    cfg.check()
    check_head_args(cfg.head, cfg.head_kwargs)  # before any extraction
    ctx = current()  # one process, or this rank of a torchrun job (see distributed.py)
    check_global_batch(cfg.batch_size, ctx)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    streams = build_streams(cfg.streams, cfg.backbone, cfg.engine)
    cache = FeatureCache(cfg.cache_dir or cache_root(), streams, cfg.cache_frames)
    tr = load_features(train_records, classes, cache, cfg.num_slots, cfg.progress, ctx)
    va = load_features(val_records, classes, cache, cfg.num_slots, cfg.progress, ctx) if val_records else None
    if extra is not None:
        tr = LabelledFeatures(tr.features + extra.features, tr.labels + extra.labels, tr.records + extra.records,
                              tr.skipped + extra.skipped, tr.short + extra.short)
    if not tr.features:
        raise ValueError("no training clip could be read; see the skipped list above")

    model = Recognizer(ModelConfig(
        classes=classes, streams=[s.config() for s in streams], feature_dim=sum(s.dim for s in streams),
        num_slots=cfg.num_slots, sampling=cfg.sampling,
        clip_frames=int(np.median([len(f) for f in tr.features])), cache_frames=cfg.cache_frames, engine=cfg.engine,
        head=cfg.head, head_kwargs=cfg.head_kwargs, captions=cfg.captions,
        train=cfg.record()))
    if cfg.mirror is not None:
        tr = mirrored(tr, streams, classes, cfg.mirror)
    model.head.fit_input_stats(torch.from_numpy(np.concatenate(tr.features)).float())
    model.to(ctx.device)  # before the optimizer, so its state (and a resumed one) lives there too
    opt = create_optimizer(model.parameters(), cfg)
    # every rank draws the same global batch; the loss runs this rank's share of it (distributed.py)
    loss_fn = create_loss(cfg, tr.labels, len(classes), ctx)

    state = {"epoch": 0, "best": -1.0, "history": []}
    if cfg.resume:
        state = _load_checkpoint(out, model, opt)
        log.info("resuming %s after epoch %d", out, state["epoch"])
    net = ctx.wrap(model)  # DDP under torchrun: gradients averaged over the ranks
    val_features = va.features if va and va.features else None

    def after_epoch(epoch: int, losses: list[float]) -> None:
        """Validate, keep the best (or last) epoch's model, write the checkpoint `--resume` continues from."""
        row = {"epoch": epoch, "train_loss": float(np.mean(ctx.all_sum(losses))), "val_top1": None}
        score = -row["train_loss"]  # with no validation set, the last epoch is kept
        if val_features is not None:
            probs = gathered_probs(model, val_features, cfg.num_clips, ctx)
            row["val_top1"] = float((probs.argmax(1) == np.array(va.labels)).mean())
            score = row["val_top1"]
        state["history"].append(row)
        log.info("epoch %d/%d  loss %.4f  val top-1 %s", epoch, cfg.epochs, row["train_loss"], row["val_top1"])
        if val_features is None or cfg.keep == "last" or score > state["best"]:
            state["best"] = score
            state["best_epoch"] = epoch
            if ctx.is_main:
                model.save(out)
        state["epoch"] = epoch
        if ctx.is_main:
            _save_checkpoint(out, model, opt, state)

    run_epochs(net, opt, loss_fn, feature_batches(tr.features, tr.labels, cfg, cfg.seed + state["epoch"]),
               first=state["epoch"] + 1, last=cfg.epochs, after_epoch=after_epoch,
               lr_factor=lr_schedule(cfg))  # the one loop (loop.py)

    if not ctx.is_main:  # rank 0 writes the one model and the metrics
        return {"best_epoch": state.get("best_epoch"), "history": state["history"], "train_clips": len(tr.features),
                "skipped": []}
    # confidence and "unknown" (held_out.py)
    calibrate_run(out, cfg, tr.features, tr.labels, tr.records, threshold_rule)
    return _finish(out, state, va, classes, cfg, tr)


def _finish(out: Path, state: dict, va: LabelledFeatures | None, classes: list[str], cfg: TrainConfig,
            tr: LabelledFeatures) -> dict:
    best = Recognizer.load(out)
    metrics: dict = {"best_epoch": state.get("best_epoch"), "history": state["history"],
                     "train_clips": len(tr.features), "skipped": [{"path": p, "reason": r} for p, r in
                                                                  tr.skipped + (va.skipped if va else [])]}
    if va and va.features:
        probs = predict_probs(best, va.features, cfg.num_clips)
        metrics["validation"] = classification_metrics(probs, np.array(va.labels), classes)
        write_confusion(metrics["validation"], out)
        best.config.metrics = {k: metrics["validation"][k] for k in
                               ("top1", "top5", "mean_class_accuracy", "num_clips")}
        best.save(out)
    atomic_write_json(out / "metrics.json", metrics)
    atomic_write_json(out / "history.json", state["history"])
    plot_curve(state["history"], out / "training_curve.png")
    return metrics
