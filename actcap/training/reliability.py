"""How honest a trained model's answers are on labelled clips: calibration and, given clips of other
actions, the open-set figures. `actcap evaluate` and `actcap cv` report these.

    honesty_report(model, features, labels, out, unknown=features_of_other_actions)

- `ece_uncalibrated` / `ece`: expected calibration error of the head's softmax and of the calibrated
  answers (the model's temperature); `ece_interval`: its 90% bootstrap interval over the clips (on a few
  hundred clips it is wide: read it before comparing two ECEs); `reliability.png` draws the calibrated one.
- with `unknown` clips: `open_set.auroc` (known vs unknown by the open-set score), `known_accuracy` (clips
  accepted as an action and right), `unknown_rejection` (unknown clips answered unknown: scored above the
  threshold, or under the model's `unknown_below` confidence).

Cached features carry no motion, so the idle gate plays no part here: these figures are the open-set
score's alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from actcap.honesty.calibration import (
    ece_interval,
    expected_calibration_error,
    plot_reliability,
    reliability_bins,
    softmax,
)
from actcap.honesty.judge import model_rules
from actcap.honesty.openset import auroc
from actcap.models.recognizer import Recognizer
from actcap.training.held_out import outputs


def honesty_report(model: Recognizer, features: list[np.ndarray], labels: list[int], out: Path | None = None,
                   unknown: list[np.ndarray] | None = None, title: str = "") -> dict:
    logits, emb = outputs(model, features)
    labels = np.asarray(labels)
    t = float(model.config.calibration.get("temperature", 1.0))
    probs = softmax(logits / t)
    report = {"temperature": t, "ece_uncalibrated": expected_calibration_error(softmax(logits), labels),
              "ece": expected_calibration_error(probs, labels), "ece_interval": ece_interval(probs, labels),
              "reliability": reliability_bins(probs, labels)}
    if out is not None:
        plot_reliability(probs, labels, Path(out) / "reliability.png", title, report["ece_interval"])
    spec = model.config.open_set
    if unknown and spec:
        rules = model_rules(model)  # the rules every answer is decided by (verdict.py)
        u_logits, u_emb = outputs(model, unknown)
        known_s, unknown_s = rules.score.score(emb, logits), rules.score.score(u_emb, u_logits)
        accepted = np.array([v.state == "action" for v in rules.verdicts(logits, emb)])
        rejected = np.array([v.state == "unknown" for v in rules.verdicts(u_logits, u_emb)])
        report["open_set"] = {"score": spec["score"], "threshold": spec["threshold"],
                              "auroc": auroc(known_s, unknown_s),
                              "known_accuracy": float((accepted & (probs.argmax(1) == labels)).mean()),
                              "unknown_rejection": float(rejected.mean()),
                              "known_clips": int(len(labels)), "unknown_clips": int(len(unknown))}
    return report


def pooled_honesty(logits_t: list[tuple[np.ndarray, float]], labels: list[np.ndarray], out: Path | None = None,
                   title: str = "", accepted: list[np.ndarray] | None = None) -> dict:
    """ECE over several folds' calibrated answers: [(logits, temperature)] per fold, pooled; with `accepted`
    masks, the known accuracy that counts only clips answered as an action with the right label."""
    probs = np.concatenate([softmax(lg / t) for lg, t in logits_t])
    raw = np.concatenate([softmax(lg) for lg, _ in logits_t])
    y = np.concatenate(labels)
    report = {"ece_uncalibrated": expected_calibration_error(raw, y), "ece": expected_calibration_error(probs, y),
              "ece_interval": ece_interval(probs, y), "reliability": reliability_bins(probs, y)}
    if out is not None:
        plot_reliability(probs, y, Path(out) / "reliability.png", title, report["ece_interval"])
    if accepted is not None:
        ok = np.concatenate(accepted)
        report.update({"known_accuracy": float((ok & (probs.argmax(1) == y)).mean()),
                       "known_rejected": float(1 - ok.mean())})
    return report


def fold_answers(model_dir: Path, records, cfg) -> tuple[tuple[np.ndarray, float], np.ndarray, np.ndarray]:
    """A cross-validation fold's model on its validation clips: ((logits, temperature), labels, accepted) where
    accepted says which clips the model's rules let through as an action (all, without an open set)."""
    from actcap.config import cache_root
    from actcap.features.cache import FeatureCache
    from actcap.features.labelled import load_features
    from actcap.features.streams import create_streams
    from actcap.training.distributed import current

    model = Recognizer.load(model_dir)
    streams = create_streams(model.config.streams, engine=cfg.engine, model_dir=model_dir)
    data = load_features(records, model.config.classes, FeatureCache(cfg.cache_dir or cache_root(), streams,
                                                                     cfg.cache_frames), cfg.num_slots, False,
                         current())
    logits, emb = outputs(model, data.features)
    accepted = np.array([v.state == "action" for v in model_rules(model).verdicts(logits, emb)])
    return (logits, float(model.config.calibration.get("temperature", 1.0))), np.array(data.labels), accepted
