"""Evaluate a trained model on labelled clips.

    actcap evaluate --model runs/lstm --data DATA --group-by '_s(\\d+)_' --val-groups 5,6 --out runs/lstm/eval

Writes metrics.json (top1, top5, mean_class_accuracy, num_clips, per_class, confusion matrix),
confusion_matrix.png and confusion_matrix.csv. Features come from the same cache as training.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from actcap.config import DEFAULT_CACHE_FRAMES, upgrade_train_record
from actcap.data.dataset import FeatureClips
from actcap.data.folders import ClipRecord
from actcap.features.cache import FeatureCache
from actcap.features.engine import cache_root
from actcap.features.streams import create_streams
from actcap.fileio import atomic_write_json
from actcap.models.recognizer import Recognizer
from actcap.training.metrics import classification_metrics, write_confusion
from actcap.training.reliability import honesty_report
from actcap.training.train import load_features, predict_probs

log = logging.getLogger(__name__)


def evaluate(model: Recognizer, records: list[ClipRecord], out: Path | None = None, *, num_clips: int = 1,
             engine: str | None = None, cache_dir: Path | None = None, max_frames: int | None = None,
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
    streams = create_streams(model.config.streams, engine=engine, model_dir=model.model_dir)
    kept = max_frames or upgrade_train_record(model.config.train).get("cache_frames", DEFAULT_CACHE_FRAMES)
    cache = FeatureCache(cache_dir or cache_root(), streams, kept)
    data = load_features(records, classes, cache, model.config.num_frames, progress)
    if not data.features:
        raise ValueError("no clip could be read; see the skipped list")
    probs = predict_probs(model, FeatureClips(data.features, data.labels, model.config.num_frames, train=False,
                                              num_clips=num_clips, sampling=model.config.sampling))
    metrics = classification_metrics(probs, np.array(data.labels), classes)
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
    metrics["predictions"] = [{"clip": str(r.path), "label": r.label, "predicted": classes[int(i)]}
                              for r, i in zip(data.records, probs.argmax(1))]
    if out is not None:
        atomic_write_json(out / "metrics.json", metrics)
        write_confusion(metrics, out)
    return metrics


def summarize_splits(per_split: dict[str, dict]) -> dict:
    """Mean ± std of top1 / top5 / mean class accuracy over several splits (HMDB51's three)."""
    out = {"splits": {k: {m: v[m] for m in ("top1", "top5", "mean_class_accuracy", "num_clips")}
                      for k, v in per_split.items()}}
    for m in ("top1", "top5", "mean_class_accuracy"):
        vals = np.array([v[m] for v in per_split.values()])
        out[m] = {"mean": float(vals.mean()), "std": float(vals.std())}
    return out
