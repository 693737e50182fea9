"""The open-set protocol: leave one action out × leave one group (person) out, plus synthetic negatives.

    actcap cv --data DATA --group-by '_s(\\d+)_' --open-set-protocol --streams flow --head segments … --out runs/os

For every action A and every group G: train on the other actions of the other groups (with calibration and
the open-set threshold fitted on held-out groups among those, exactly as `actcap train` does), then test on
G's clips of the known actions (known accuracy: only `state == "action"` with the right label counts),
on G's clips of A (unknown: rejected when the open-set score passes the threshold), and on negatives made
from G's clips (negatives.py). Reports AUROC of known vs unknown, known accuracy, unknown rejection and ECE
per left-out action and their mean, for every candidate score.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from actcap.config import TrainConfig
from actcap.data.folders import ClipRecord
from actcap.data.splits import get_groups
from actcap.data.video import open_clip
from actcap.features.cache import FeatureCache, kept_indices
from actcap.features.labelled import build_streams, load_features
from actcap.features.threads import torch_threads
from actcap.honesty.calibration import ece_interval, expected_calibration_error, fit_temperature, softmax
from actcap.honesty.openset import DEFAULT_SCORE, auroc, list_scores, threshold_for
from actcap.models.recognizer import ModelConfig, Recognizer
from actcap.training.distributed import current
from actcap.training.held_out import fit_head, fit_score, held_out_answers, outputs
from actcap.training.negatives import blend, make_negative

log = logging.getLogger(__name__)
NEGATIVE_KINDS = ("shuffle", "pan", "zoom", "half_out")
REVERSIBLE = ("throw",)
"""Actions whose reversal is no longer the action (a reversed wave or clap still is one)."""


def negative_features(records: list[ClipRecord], groups: list[str], streams, cache_frames: int, root: Path
                      ) -> list[dict]:
    """Features of synthetic negatives made from each group's first clip of every action; cached in
    root/negatives/<key>/ (the key hashes the streams' configs)."""
    key = hashlib.sha1(json.dumps([s.cache_config() for s in streams], sort_keys=True).encode()).hexdigest()[:12]
    folder = root / "negatives" / key
    folder.mkdir(parents=True, exist_ok=True)
    first: dict[tuple[str, str], ClipRecord] = {}
    for r, g in zip(records, groups):
        first.setdefault((g, r.label), r)
    out = []
    for g in sorted({g for g, _ in first}):
        mine = [first[k] for k in sorted(first) if k[0] == g]
        jobs = [(kind, r.name, lambda r=r, kind=kind: make_negative(kind, _frames(r, cache_frames)))
                for r in mine for kind in NEGATIVE_KINDS]
        jobs += [("reverse", r.name, lambda r=r: make_negative("reverse", _frames(r, cache_frames)))
                 for r in mine if r.label in REVERSIBLE]
        jobs += [("blend", f"{a.name}+{b.name}",
                  lambda a=a, b=b: blend(_frames(a, cache_frames), _frames(b, cache_frames)))
                 for a, b in zip(mine, mine[1:] + mine[:1]) if a.label != b.label]
        for kind, name, make in jobs:
            path = folder / f"{kind}-{name}.npz"
            if not path.is_file():
                frames = make()  # (T, H, W, 3)
                np.savez(path, features=np.concatenate([s.extract(frames, None) for s in streams], axis=1))
            out.append({"group": g, "kind": kind, "source": name, "features": np.load(path)["features"]})
    return out


def _frames(r: ClipRecord, cache_frames: int) -> np.ndarray:
    clip = open_clip(r.path)
    return clip.read(kept_indices(len(clip), cache_frames))


def open_set_protocol(records: list[ClipRecord], classes: list[str], cfg: TrainConfig, group_by: str,
                      score_names: tuple[str, ...] = tuple(list_scores()), negatives: bool = True) -> dict:
    """Every (left-out action, left-out group) fold; figures per score, per action and their mean."""
    with torch_threads(1):  # the heads are tiny: one thread trains them faster than two contending
        return _protocol(records, classes, cfg, group_by, score_names, negatives)


def _protocol(records, classes, cfg, group_by, score_names, negatives) -> dict:
    streams = build_streams(cfg.streams, cfg.backbone, cfg.engine)
    cache = FeatureCache(cfg.cache_dir, streams, cfg.cache_frames)
    data = load_features(records, classes, cache, cfg.num_slots, cfg.progress, current())
    groups = np.array(get_groups(data.records, group_by))
    labels = np.array(data.labels)
    negs = (negative_features(data.records, list(groups), streams, cfg.cache_frames, Path(cfg.cache_dir))
            if negatives else [])
    folds = []
    for a, action in enumerate(classes):
        known = [c for c in classes if c != action]
        for g in sorted(set(groups)):
            tr = np.flatnonzero((labels != a) & (groups != g))
            te_known = np.flatnonzero((labels != a) & (groups == g))
            te_unknown = np.flatnonzero((labels == a) & (groups == g))
            remap = {c: known.index(classes[c]) for c in range(len(classes)) if c != a}
            folds.append(_fold(data.features, labels, groups, tr, te_known, te_unknown, remap, known, cfg,
                               [n for n in negs if n["group"] == g], score_names, action, g))
            log.info("open-set fold: %s left out, group %s", action, g)
    return summarize(folds, classes, score_names)


def _fold(features, labels, groups, tr, te_known, te_unknown, remap, known, cfg, negs, score_names, action, group):
    template = Recognizer(ModelConfig(classes=known, streams=[], feature_dim=features[0].shape[1],
                                      num_slots=cfg.num_slots, sampling=cfg.sampling, head=cfg.head,
                                      head_kwargs=cfg.head_kwargs))
    y_tr = [remap[int(labels[i])] for i in tr]
    f_tr = [features[i] for i in tr]
    model = fit_head(template, f_tr, y_tr, cfg)
    held = held_out_answers(model, f_tr, y_tr, list(groups[tr]), cfg, score_names)
    t = fit_temperature(held["logits"], held["labels"])
    lg_tr, em_tr = outputs(model, f_tr)
    lg_k, em_k = outputs(model, [features[i] for i in te_known])
    lg_u, em_u = outputs(model, [features[i] for i in te_unknown])
    lg_n, em_n = outputs(model, [n["features"] for n in negs]) if negs else (np.zeros((0, len(known))), None)
    out = {"action": action, "group": group, "temperature": t,
           "known_labels": [remap[int(labels[i])] for i in te_known], "known_probs": softmax(lg_k / t).tolist(),
           "negative_kinds": [n["kind"] for n in negs], "scores": {}}
    for name in score_names:
        s = fit_score(name, model, f_tr, y_tr, (lg_tr, em_tr), cfg)
        out["scores"][name] = {"threshold": threshold_for(held["scores"][name]),
                               "held_out": held["scores"][name].tolist(),
                               "known": s.score(em_k, lg_k).tolist(), "unknown": s.score(em_u, lg_u).tolist(),
                               "negatives": s.score(em_n, lg_n).tolist() if negs else []}
    return out


def summarize(folds: list[dict], classes: list[str], score_names) -> dict:
    """Per score and left-out action: AUROC (known vs left-out action, and vs negatives), known accuracy
    (accepted and right), unknown and negative rejection; ECE of the calibrated known answers."""
    result = {"folds": len(folds), "scores": {}, "fold_details": folds}  # raw scores: other threshold rules
    for name in score_names:
        per_action = {}
        for action in classes:
            fs = [f for f in folds if f["action"] == action]
            parts = ("known", "unknown", "negatives")
            k, u, n = (np.concatenate([f["scores"][name][part] for f in fs]) for part in parts)
            thr = {part: np.concatenate([np.full(len(f["scores"][name][part]), f["scores"][name]["threshold"])
                                         for f in fs]) for part in parts}
            k_ok, u_rej, n_rej = k <= thr["known"], u > thr["unknown"], n > thr["negatives"]
            right = np.concatenate([np.argmax(f["known_probs"], 1) == np.array(f["known_labels"]) for f in fs])
            kinds = np.concatenate([f["negative_kinds"] for f in fs]) if len(n) else np.array([])
            per_action[action] = {
                "auroc": auroc(k, u), "auroc_negatives": auroc(k, n),
                "known_accuracy": float((k_ok & right).mean()), "known_top1": float(right.mean()),
                "unknown_rejection": float(u_rej.mean()),
                "negative_rejection": float(n_rej.mean()) if len(n) else None,
                "negative_rejection_by_kind": {kd: float(n_rej[kinds == kd].mean()) for kd in sorted(set(kinds))},
                "known_clips": int(len(k)), "unknown_clips": int(len(u)), "negative_clips": int(len(n))}
        keys = ("auroc", "auroc_negatives", "known_accuracy", "known_top1", "unknown_rejection", "negative_rejection")
        mean = {m: float(np.mean([v[m] for v in per_action.values() if v[m] is not None])) for m in keys
                if any(v[m] is not None for v in per_action.values())}
        result["scores"][name] = {"per_action": per_action, "mean": mean}
    probs = np.concatenate([f["known_probs"] for f in folds])
    known_labels = np.concatenate([f["known_labels"] for f in folds])
    result["ece"] = expected_calibration_error(probs, known_labels)
    result["ece_interval"] = ece_interval(probs, known_labels)
    result["default_score"] = DEFAULT_SCORE
    return result

