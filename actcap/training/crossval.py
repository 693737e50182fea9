"""Leave-groups-out cross-validation: how well a configuration generalises to unseen people/sources.

    actcap cv --data DATA --group-by '_s(\\d+)_' --groups-per-fold 2 --streams appearance+flow --head lstm --out runs/cv

Every group (e.g. a UTD-MHAD subject, an HMDB51 source video) is in validation exactly once and
never split between train and validation. Reports each fold, the mean ± std, per-class recall and
precision from the pooled confusion matrix, and the accuracy on named class pairs (swipe_left vs
swipe_right). `--compare-random` also runs the naive random 80/20 clip split on the same data.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from actcap.config import TrainConfig
from actcap.data.folders import ClipRecord
from actcap.data.splits import leave_groups_out_folds, split_by_fraction
from actcap.fileio import atomic_write_json
from actcap.training.metrics import pair_accuracy, write_confusion
from actcap.training.reliability import fold_answers, pooled_honesty
from actcap.training.train import train

log = logging.getLogger(__name__)


def pooled_metrics(folds: list[dict], classes: list[str]) -> dict:
    """Per-class precision/recall from the confusion matrices of all folds added together."""
    cm = sum(np.asarray(f["confusion_matrix"]) for f in folds)
    support, predicted, diag = cm.sum(1), cm.sum(0), np.diag(cm)
    per_class = {c: {"recall": float(diag[i] / support[i]) if support[i] else 0.0,
                     "precision": float(diag[i] / predicted[i]) if predicted[i] else 0.0,
                     "support": int(support[i])} for i, c in enumerate(classes)}
    return {"top1": float(diag.sum() / cm.sum()), "num_clips": int(cm.sum()), "per_class": per_class,
            "confusion_matrix": cm.tolist(), "classes": classes}


def cross_validate(records: list[ClipRecord], classes: list[str], cfg: TrainConfig, group_by: str,
                   groups_per_fold: int = 1, pairs: list[tuple[str, str]] = (),
                   compare_random: bool = False) -> dict:
    out = Path(cfg.out)
    cfg = replace(cfg, keep="last")  # never pick the epoch on the fold being scored
    folds = leave_groups_out_folds(records, group_by, groups_per_fold)
    results, answers, answer_labels, accepted = [], [], [], []
    for k, (groups, tr, va) in enumerate(folds, 1):
        log.info("fold %d/%d: validation groups %s (%d clips)", k, len(folds), ",".join(groups), len(va))
        m = train(replace(cfg, out=out / f"fold{k}"), tr, va, classes)["validation"]
        fold_logits, fold_labels, fold_ok = fold_answers(out / f"fold{k}", va, cfg)  # calibration figures
        answers.append(fold_logits)
        answer_labels.append(fold_labels)
        accepted.append(fold_ok)
        results.append({"fold": k, "val_groups": list(groups), "top1": m["top1"], "num_clips": m["num_clips"],
                        "confusion_matrix": m["confusion_matrix"]})
    top1 = np.array([r["top1"] for r in results])
    pooled = pooled_metrics(results, classes)
    summary = {"config": {"streams": cfg.streams, "head": cfg.head, "head_args": cfg.head_kwargs,
                          "backbone": cfg.backbone,
                          "frames": cfg.num_slots, "epochs": cfg.epochs, "lr": cfg.lr, "seed": cfg.seed,
                          "weight_decay": cfg.weight_decay, "mirror": cfg.mirror,
                          "sampling": cfg.sampling},
               "group_by": group_by, "folds": results, "mean_top1": float(top1.mean()),
               "std_top1": float(top1.std()), "pooled": pooled,
               "pairs": {f"{a}/{b}": pair_accuracy(pooled, a, b) for a, b in pairs},
               "calibration": pooled_honesty(answers, answer_labels, out, f"pooled over {len(folds)} folds: ",
                                             accepted)}
    write_confusion(pooled, out, title=f"{'+'.join(cfg.streams)} / {cfg.head}: pooled over {len(folds)} folds")
    if compare_random:
        tr, va = split_by_fraction(records, 0.2, None, cfg.seed)
        summary["random_80_20_top1"] = train(replace(cfg, out=out / "random_80_20"), tr, va, classes
                                             )["validation"]["top1"]
    atomic_write_json(out / "cv.json", summary)
    return summary
