"""Evaluate a trained model on labelled clips.

    actcap evaluate --model runs/lstm --data DATA --group-by '_s(\\d+)_' --val-groups 5,6 --out runs/lstm/eval

Writes metrics.json (top1, top5, mean_class_accuracy, num_clips, per_class, confusion matrix; `answered`:
accuracy as a user meets it, a clip counting only when its state is `action` and its label right, with the
shares answered `unknown`), confusion_matrix.png and confusion_matrix.csv. Features come from the same cache
as training; slots, head, temperature, open-set rules and engine from the model's `Pipeline`
(inference/pipeline.py `clip_verdicts`), the one predict and serve use. A clip's answer is predict's
(tests/test_inference.py), except that cached features carry no motion (no clip is `idle` here) and with
`frames` sampling a clip longer than the cache's frames (`cache_frames`) is sampled from the frames the cache
kept, as in training.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from actcap.config import cache_root
from actcap.data.folders import ClipRecord
from actcap.features.cache import FeatureCache
from actcap.features.labelled import load_features
from actcap.fileio import atomic_write_json
from actcap.inference.pipeline import Pipeline
from actcap.models.recognizer import Recognizer
from actcap.training.distributed import current
from actcap.training.metrics import classification_metrics, write_confusion
from actcap.training.reliability import honesty_report

log = logging.getLogger(__name__)


def evaluate(model: Recognizer, records: list[ClipRecord], out: Path | None = None, *, num_clips: int = 1,
             engine: str | None = None, cache_dir: Path | None = None, cache_frames: int | None = None,
             progress: bool = True, unknown: list[Path] | None = None) -> dict:
    """Metrics of `model` on `records`; labels the model does not know are an error listing them. With
    `unknown` clips (other actions), the open-set figures too (reliability.py)."""
    classes = model.config.classes
    strangers = sorted({r.label for r in records} - set(classes))
    if strangers:
        raise ValueError(f"the data has classes the model does not know: {', '.join(strangers)}; "
                         f"the model knows: {', '.join(classes)} (use --classes to restrict)")
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
    pipeline = Pipeline(model, engine=engine)  # the engine predict and serve would use for this model
    cache = FeatureCache(cache_dir or cache_root(), pipeline.streams, cache_frames or pipeline.cache_frames)
    data = load_features(records, classes, cache, pipeline.num_slots, progress, current())
    if not data.features:
        raise ValueError("no clip could be read; see the skipped list")
    verdicts = pipeline.clip_verdicts(data.features, num_clips=num_clips)  # Predictor's slots, head and rules
    probs = np.stack([v.probs for v in verdicts])  # (N, C) calibrated
    metrics = classification_metrics(probs, np.array(data.labels), classes)
    metrics["answered"] = answered_accuracy(verdicts, data.labels)
    strange = []
    if unknown:
        found, skipped = cache.extract([Path(p) for p in unknown], progress=progress)
        strange = [found[Path(p)].features for p in unknown if Path(p) in found]
        data.skipped.extend(skipped)
    metrics["calibration"] = honesty_report(model, data.features, data.labels, out, strange or None)
    if "open_set" in metrics["calibration"]:
        metrics["open_set"] = metrics["calibration"].pop("open_set")
    metrics["skipped"] = [{"path": p, "reason": r} for p, r in data.skipped]
    metrics["short_clips"] = data.short
    metrics["predictions"] = [{"clip": str(r.path), "label": r.label, "predicted": classes[int(i)],
                               "confidence": round(float(v.probs[i]), 4), "state": v.state}  # as `actcap predict`
                              for r, v, i in zip(data.records, verdicts, probs.argmax(1))]
    if out is not None:
        atomic_write_json(out / "metrics.json", metrics)
        write_confusion(metrics, out)
    return metrics


def answered_accuracy(verdicts: list, labels: list[int]) -> dict:
    """`top1`: the share of clips answered `action` with the right label (top-1 of the argmax counts the clips
    answered `unknown` too); `unknown`: the share answered `unknown`; `action_top1`: top-1 among those answered."""
    action = np.array([v.state == "action" for v in verdicts])
    right = np.array([int(v.probs.argmax()) == y for v, y in zip(verdicts, labels)])
    return {"top1": float((action & right).mean()), "unknown": float(np.mean([v.state == "unknown" for v in verdicts])),
            "action_top1": float(right[action].mean()) if action.any() else None}


def summarize_splits(per_split: dict[str, dict]) -> dict:
    """Mean ± std of top1 / top5 / mean class accuracy over several splits (HMDB51's three)."""
    out = {"splits": {k: {m: v[m] for m in ("top1", "top5", "mean_class_accuracy", "num_clips")}
                      for k, v in per_split.items()}}
    for m in ("top1", "top5", "mean_class_accuracy"):
        vals = np.array([v[m] for v in per_split.values()])
        out[m] = {"mean": float(vals.mean()), "std": float(vals.std())}
    return out
