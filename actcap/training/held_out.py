"""Calibration and the open-set threshold, fitted on clips of people the scoring model never saw.

    fit_honesty(model, features, labels, groups, cfg)     # train.py calls this once, after training (calibrate_run)

A model's answers on its own training clips are overconfident and its open-set scores too low. So the
training clips are split by group (`--group-by`: people, source videos; without groups, 5 folds of clips,
every class spread evenly), a small copy of the head is trained on all other folds with the run's settings,
and it scores the held-out fold. From those held-out answers:

- the temperature that minimises their negative log-likelihood (calibration.py), and
- the open-set threshold: `KNOWN_QUANTILE` of their open-set scores (openset.py, `threshold_for`), and
- the window threshold: the same rule over sliding windows of those clips (`sliding_windows`: the model's
  `clip_frames` long, every `WINDOW_STEP` frames, as the live stream and timelines see them), each scored by
  its most familiar view (`window_views`: the whole window or its first, middle or last `SUB_WINDOW` part). A
  window cuts an action off anywhere, or holds the end of one gesture and the start of the next; judged as a
  whole by the clip threshold, most such windows of known actions were rejected (docs/model-card.md, "Open set").
  These are scored against the whole clips' means. Then the same rule over windows of each clip's middle held
  (`held_windows`: someone going on with the gesture, as in front of a live camera), the whole window scored
  against the middles' means too (its parts against the whole clips', as judge.window does), and the higher
  of the two thresholds is kept: no window is judged more strictly than before the middles, and a held
  gesture is known (a steady wave was 6% `wave` by the first rule alone; docs/model-card.md "Body pose").

The final model's own training clips then become the score's reference (class means, nearest clips).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import torch

from actcap.config import TrainConfig
from actcap.features.threads import torch_threads
from actcap.honesty.calibration import expected_calibration_error, fit_temperature, softmax
from actcap.honesty.openset import (
    DEFAULT_SCORE,
    KNOWN_QUANTILE,
    create_score,
    get_score_kwargs,
    threshold_for,
)
from actcap.honesty.windows import SUB_WINDOW, WINDOW_STEP, clip_middle, held_windows, sliding_windows, window_views
from actcap.models.recognizer import Recognizer, clip_outputs
from actcap.training.distributed import Context
from actcap.training.loop import create_loss, create_optimizer, feature_batches, lr_schedule, run_epochs

log = logging.getLogger(__name__)
CLIP_FOLDS = 5
"""Folds of clips when the data has no groups."""


@dataclass(frozen=True)
class ThresholdRule:
    """Which open-set score a model gets and how its thresholds follow from held-out scores: `margin` times
    their KNOWN_QUANTILE, the clips held out by group when the data has groups (`hold_out="groups"`) or always
    by clip ("clips"). `actcap train` keeps the defaults; taught models use teach/trainer.py's TAUGHT_RULE,
    chosen by measurement in docs/teaching.md."""

    score: str = DEFAULT_SCORE
    margin: float = 1.0
    hold_out: str = "groups"


def fit_head(template: Recognizer, features: list[np.ndarray], labels: list[int], cfg: TrainConfig) -> Recognizer:
    """A fresh head like `template`'s, trained in this process with cfg's settings (label smoothing, class
    weights, sampling) for cfg.epochs through the one training loop (loop.py), the last epoch kept."""
    torch.manual_seed(cfg.seed)
    model = Recognizer(replace(template.config))
    allf = np.concatenate(features)  # (ΣL, D)
    model.head.fit_input_stats(torch.from_numpy(allf).float())
    run_epochs(model, create_optimizer(model.parameters(), cfg), create_loss(cfg, labels, len(model.config.classes),
                                                                              Context()),
               feature_batches(features, labels, cfg, cfg.seed), first=1, last=cfg.epochs,
               lr_factor=lr_schedule(cfg))
    return model.eval()


def outputs(model: Recognizer, features: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(N, C) logits and (N, E) embeddings of clips, from their deterministic test view (`clip_outputs`)."""
    logits, emb = clip_outputs(model, features)  # (N, 1, C), (N, 1, E)
    return logits[:, 0], emb[:, 0]


def fold_ids(labels: list[int], groups: list[str] | None, keys: list | None = None) -> np.ndarray:
    """One fold per group when there are 2+ groups; else CLIP_FOLDS folds dealt class by class, clips with the
    same key (a clip and its `--mirror` copy: the same record) in the same fold, so no head is scored on the
    mirror image of a clip it trained on."""
    if groups is not None and len(set(groups)) >= 2:
        names = sorted(set(groups))
        return np.array([names.index(g) for g in groups])
    ids, first, dealt = np.zeros(len(labels), int), {}, {}
    for i, (y, key) in enumerate(zip(labels, keys if keys is not None else range(len(labels)))):
        if key in first:
            ids[i] = ids[first[key]]
            continue
        first[key] = i
        ids[i] = dealt.get(y, 0) % CLIP_FOLDS
        dealt[y] = dealt.get(y, 0) + 1
    return ids


def score_options(name: str, cfg: TrainConfig | None = None) -> dict:
    """The options score `name` is fitted with: openset.py's defaults, and `--open-set-clusters` for prototypes."""
    options = get_score_kwargs(name)
    if name == "prototype" and cfg is not None and cfg.open_set_clusters > 1:
        options["clusters"] = cfg.open_set_clusters
    return options


def fit_score(name: str, head: Recognizer, features: list[np.ndarray], labels, answers=None,
              cfg: TrainConfig | None = None):
    """The open-set score `name` with its training options (`score_options`), fitted on `head`'s
    answers to its training clips (`answers`: their (logits, embeddings) when already computed) and, for a
    score that wants them (`parts`), on its answers to the clips' middles (windows.py `clip_middle`)."""
    score = create_score(name, **score_options(name, cfg))
    lg, em = answers if answers is not None else outputs(head, features)
    labels, kinds = np.asarray(labels), np.zeros(len(lg), int)
    middles = [(y, m) for f, y in zip(features, labels)
               if score.parts and (m := clip_middle(f, head.config.num_slots)) is not None]
    if middles:
        lg_m, em_m = outputs(head, [m for _, m in middles])
        lg, em = np.concatenate([lg, lg_m]), np.concatenate([em, em_m])
        labels = np.concatenate([labels, [y for y, _ in middles]])
        kinds = np.concatenate([kinds, np.ones(len(middles), int)])
    return score.fit(em, lg, labels, kinds)


def held_out_answers(model: Recognizer, features: list[np.ndarray], labels: list[int], groups: list[str] | None,
                     cfg: TrainConfig, score_names: tuple[str, ...] = (DEFAULT_SCORE,), keys: list | None = None,
                     windows: bool = True) -> dict:
    """Logits and open-set scores (one array per score name) of every clip from a head trained without its
    fold, and the scores of those clips' sliding windows (`window_scores`, `held_window_scores`; empty when not
    `windows`: a caller that needs the clips' scores only skips the windows' heads and scores)."""
    folds = fold_ids(labels, groups, keys)
    y = np.array(labels)
    logits = np.zeros((len(labels), len(model.config.classes)), np.float32)
    scores = {name: np.zeros(len(labels), np.float32) for name in score_names}
    window_scores = {name: [] for name in score_names}
    held_scores = {name: [] for name in score_names}
    length, n = model.config.clip_frames or model.config.num_slots, model.config.num_slots
    for f in np.unique(folds):
        tr, te = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
        if len(set(y[tr])) < len(model.config.classes):
            log.warning("held-out fold %d leaves a class without training clips; its answers are skipped", f)
            logits[te] = np.nan
            continue
        head = fit_head(model, [features[i] for i in tr], [labels[i] for i in tr], cfg)
        lg_tr, em_tr = outputs(head, [features[i] for i in tr])
        lg_te, em_te = outputs(head, [features[i] for i in te])
        logits[te] = lg_te
        if windows:
            slid = [w for i in te for w in sliding_windows(features[i], length)]
            held = [w for i in te for w in held_windows(features[i], length, n)]
            views = [window_views(w, n) for w in slid + held]
            lg_w, em_w = outputs(head, [v for vs in views for v in vs])
            first = np.cumsum([0] + [len(vs) for vs in views[:-1]])  # each window's first view: the whole window
            is_first = np.zeros(len(lg_w), bool)
            is_first[first] = True
        for name in score_names:
            fitted = fit_score(name, head, [features[i] for i in tr], y[tr], (lg_tr, em_tr), cfg)
            scores[name][te] = fitted.score(em_te, lg_te)
            if not windows:
                continue
            # each window's best view: windows as filmed against the whole clips' means (the rule before the
            # middles' means, so it never gets stricter), windows of a held gesture as judge.window scores them
            # (the whole window against the middles' means too, its parts against the whole clips')
            whole_means = fitted.score(em_w, lg_w)
            held_views = np.where(is_first, fitted.score(em_w, lg_w, windowed=True), whole_means)
            window_scores[name].append(np.minimum.reduceat(whole_means, first)[:len(slid)])
            held_scores[name].append(np.minimum.reduceat(held_views, first)[len(slid):])
    ok = ~np.isnan(logits[:, 0])
    return {"logits": logits[ok], "labels": y[ok], "scores": {k: v[ok] for k, v in scores.items()},
            "window_scores": {k: np.concatenate(v) if v else np.zeros(0, np.float32)
                              for k, v in window_scores.items()},
            "held_window_scores": {k: np.concatenate(v) if v else np.zeros(0, np.float32)
                                   for k, v in held_scores.items()},
            "folds": int(len(np.unique(folds)))}


def fit_honesty(model: Recognizer, features: list[np.ndarray], labels: list[int], groups: list[str] | None,
                cfg: TrainConfig, score_name: str = DEFAULT_SCORE, margin: float = 1.0, keys: list | None = None
                ) -> None:
    """Store the temperature and the open-set score with its thresholds (`margin` × the held-out quantile) in
    `model` (config + tensors). `keys`: clips with equal keys are held out together (fold_ids)."""
    with torch_threads(1):  # the heads are tiny: one thread trains them faster than two contending
        held = held_out_answers(model, features, labels, groups, cfg, (score_name,), keys)
    if not len(held["labels"]):
        log.warning("too few clips to hold any out with every class still in training: the model is saved "
                    "uncalibrated (temperature 1) and without an open-set score, so it never answers unknown; "
                    "give each class clips of 2+ people (`--group-by`) or 2+ clips")
        model.config.calibration, model.config.open_set, model.extra_tensors = {}, {}, {}
        return
    t = fit_temperature(held["logits"], held["labels"])
    before = expected_calibration_error(softmax(held["logits"]), held["labels"])
    after = expected_calibration_error(softmax(held["logits"] / t), held["labels"])
    model.config.calibration = {"temperature": round(t, 4), "held_out_clips": int(len(held["labels"])),
                                "held_out_folds": held["folds"], "ece_before": round(before, 4),
                                "ece_after": round(after, 4)}
    if not cfg.open_set:
        model.config.open_set = {}
        model.extra_tensors = {}
        return
    score = fit_score(score_name, model, features, labels, cfg=cfg)
    windows, held_w = held["window_scores"][score_name], held["held_window_scores"][score_name]
    window_threshold = max(threshold_for(w) for w in (windows, held_w) if len(w))  # each kind's quantile
    clip_threshold = cfg.open_set_margin * threshold_for(held["scores"][score_name])  # --open-set-margin: clips only
    clip_times = f"{cfg.open_set_margin} × " if cfg.open_set_margin != 1.0 else ""
    model.config.open_set = {"score": score_name, "score_kwargs": score_options(score_name, cfg),
                             "threshold": round(margin * clip_threshold, 6),
                             "window_threshold": round(margin * window_threshold, 6),
                             "rule": f"{clip_times}{f'{margin} × ' if margin != 1.0 else ''}quantile {KNOWN_QUANTILE} "
                                     f"of held-out known clips' scores ({'groups' if groups is not None else 'clips'} "
                                     f"held out){' for whole clips' if clip_times else ''}; window_threshold: the same "
                                     f"of their sliding windows ({model.config.clip_frames or model.config.num_slots} "
                                     f"frames every {WINDOW_STEP}), and of their middles held, each window its best "
                                     f"view (whole, first/middle/last {SUB_WINDOW}); the higher of the two",
                             "held_out_clips": int(len(held["labels"])), "held_out_windows": int(len(windows)),
                             "held_out_held_windows": int(len(held_w))}
    if cfg.unknown_below:  # verdict.py: an answer under it is unknown too
        model.config.open_set["unknown_below"] = cfg.unknown_below
        model.config.open_set["rule"] += f"; and unknown under confidence {cfg.unknown_below}"
    model.extra_tensors = {f"open_set.{k}": torch.from_numpy(v) for k, v in score.tensors().items()}
    spec = model.config.open_set
    log.info("calibration: temperature %.3f (held-out ECE %.3f → %.3f); open-set %s threshold %.4f (windows %.4f)",
             t, before, after, score_name, spec["threshold"], spec["window_threshold"])


def calibrate_run(out, cfg: TrainConfig, features: list[np.ndarray], labels: list[int], records,
                  rule: ThresholdRule | None = None) -> None:
    """train.py's one hook: fit calibration and the open-set score on the run's training clips, and save
    them into the model in `out` (the saved epoch), by `rule` (the defaults when not given)."""
    from actcap.data.folders import DatasetError
    from actcap.data.splits import get_groups

    model = Recognizer.load(out)
    rule = rule or ThresholdRule()
    groups = None
    if rule.hold_out == "groups" and (cfg.group_by or (records and all(r.group for r in records))):
        try:
            groups = get_groups(records, cfg.group_by)
        except DatasetError as e:  # e.g. a taught model: the base's subjects plus a user's own clip names
            log.info("calibration holds out clips, not groups: %s", str(e).splitlines()[0])
    keys = [str(r.path) for r in records] if records and len(records) == len(labels) else None  # mirror copies
    fit_honesty(model, features, labels, groups, cfg, rule.score, rule.margin, keys)
    model.save(out)
