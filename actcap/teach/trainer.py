"""One teach job: a few labelled example videos (+ the base model's examples) → a checked, saved model.

    extracting  each example's per-frame stream features, with the base model's stream config
    checking    per-label accuracy on examples held out in turn: by person when every label has examples of
                at least two people, else leave-one-example-out (at most MAX_FOLDS folds); the base's own
                examples stay in training (their accuracy on new people is in docs/model-card.md). Each round
                fits a head with held_out.fit_head (same settings; no files, no calibration)
    training    the final head on everything, with the base model's training settings, via actcap.training.train.train
                (which also fits calibration and the open-set score: held_out.calibrate_run)
    saving      into the model store in one rename

Training goes through `actcap.training.train.train` (the same code as `actcap train`), so whatever that adds to a model
(calibration, an open-set score) a taught model gets too.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from actcap.config import TrainConfig
from actcap.data.folders import ClipRecord
from actcap.models.recognizer import ModelConfig, Recognizer
from actcap.models.store import ModelStore, name_problem
from actcap.teach.examples import EXAMPLES_FILE, Examples, load_examples
from actcap.training.metrics import classification_metrics

log = logging.getLogger(__name__)
BASES = ("default", "none")
LABEL_RULE = "letters, digits, spaces, '_' and '-', 1 to 40 characters"
_LABEL = re.compile(r"[A-Za-z0-9_ -]{1,40}")
MIN_EXAMPLES = 2
MAX_FOLDS = 10
Progress = Callable[[str, float], None]


class TeachError(ValueError):
    """A teach request that breaks a rule; `problems` are lines that each name the field and the rule."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class TeachExample:
    path: Path
    label: str
    group: str = ""
    """Who is in the clip ('' when not said); examples of one person are held out together."""
    name: str = ""
    """What to call the clip in messages (the uploaded file name); the path's name when empty."""


@dataclass
class TeachRequest:
    name: str
    examples: list[TeachExample] = field(default_factory=list)
    base: str = "default"


def check_request(req: TeachRequest) -> None:
    """Raise TeachError listing every broken rule (field names as in POST /teach)."""
    problems = []
    if (p := name_problem(req.name)) is not None:
        problems.append(f"name: {p}")
    if req.base not in BASES:
        problems.append(f"base: must be 'default' (keep the shipped actions) or 'none'; got {req.base[:40]!r}")
    bad = sorted({e.label for e in req.examples if not _LABEL.fullmatch(e.label) or not e.label.strip()})
    if bad:
        problems.append(f"labels[]: {', '.join(repr(b[:40]) for b in bad)} not allowed; use {LABEL_RULE}")
    counts = Counter(e.label for e in req.examples)
    if not req.examples:
        problems.append("videos[]: no example videos; send at least 2 per label")
    few = [f"'{lab}' has {n}" for lab, n in counts.items() if n < MIN_EXAMPLES]
    if few:
        problems.append(f"labels[]: each label needs at least {MIN_EXAMPLES} example videos; {', '.join(few)}")
    if req.base == "none" and len(counts) == 1:
        problems.append(f"labels[]: only one label ('{next(iter(counts))}') with base=none; a model needs at "
                        "least 2 labels to tell apart (add another label, or use base=default to add it to the "
                        "shipped actions)")
    if problems:
        raise TeachError(problems)


def base_settings(base_dir: Path) -> tuple[ModelConfig, TrainConfig]:
    """The base model's config and its training settings (whatever fields TrainConfig knows)."""
    config = ModelConfig.from_dict(json.loads((base_dir / "config.json").read_text()), str(base_dir))
    return config, TrainConfig.from_record(config.train, out=Path("."), cache_dir=None)


def fold_of(examples: list[TeachExample], max_folds: int = MAX_FOLDS) -> tuple[list[int], str]:
    """Each example's check fold, and the method: by person when every label has at least 2 people, else
    leave-one-example-out (the k-th example of each label in fold k mod max_folds)."""
    people: dict[str, set[str]] = {}
    for e in examples:
        people.setdefault(e.label, set()).add(e.group)
    if all(len(g) >= 2 and "" not in g for g in people.values()):
        groups = sorted({e.group for e in examples})
        index = {g: i % max_folds for i, g in enumerate(groups)}
        return [index[e.group] for e in examples], "leave-one-person-out"
    seen: Counter = Counter()
    folds = []
    for e in examples:
        folds.append(seen[e.label] % max_folds)
        seen[e.label] += 1
    return folds, "leave-one-example-out" if max(seen.values()) <= max_folds else f"{max_folds}-fold"


def teach(req: TeachRequest, store: ModelStore, base_dir: Path, progress: Progress = lambda stage, f: None
          ) -> dict:
    """Run the job; returns {"model": name, "metrics": …}. Raises on failure, leaving the store as it was."""
    import torch

    check_request(req)
    # the head is tiny: one thread trains it several times faster than threads fighting over loaded cores
    torch.set_num_threads(1)
    times, t0 = {}, time.perf_counter()
    config, cfg = base_settings(base_dir)
    base = load_examples(base_dir / EXAMPLES_FILE) if req.base == "default" else None
    if base is not None and base.streams != config.streams:
        raise ValueError(f"{base_dir / EXAMPLES_FILE} was made with other streams than {base_dir / 'config.json'}; "
                         "rebuild it (python scripts/make_default_examples.py)")
    taught = sorted({e.label for e in req.examples})
    classes = sorted(set(base.classes if base else []) | set(taught))
    staging = store.staging()
    work = store.work_dir("staging")  # in the store, not /tmp: swept after a kill like the rest
    try:
        cfg = dataclasses.replace(cfg, cache_dir=work / "cache", progress=False, keep="last", resume=False)
        feats = _extract(req.examples, cfg, config, work, progress)
        times["extract_s"] = time.perf_counter() - t0
        metrics = _check(req.examples, feats, base, classes, cfg, config, progress)
        times["check_s"] = time.perf_counter() - t0 - times["extract_s"]
        progress("training", 0.85)
        _train(dataclasses.replace(cfg, out=staging), req.examples, feats, base, classes)
        times["train_s"] = time.perf_counter() - t0 - times["extract_s"] - times["check_s"]
        metrics.update({"base": req.base, "taught_labels": taught, "examples": len(req.examples),
                        "base_examples": len(base.labels) if base else 0,
                        "seconds": {k: round(v, 2) for k, v in times.items()}})
        progress("saving", 0.98)
        if base is not None:  # so that this model can be the base of another one later
            shutil.copy2(base_dir / EXAMPLES_FILE, staging / f"base-{EXAMPLES_FILE}")
        replaced = store.commit(staging, req.name, {"base": req.base, "metrics": metrics})
        return {"model": req.name, "metrics": metrics, "replaced": replaced and (replaced.get("created") or "before")}
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when committed
        shutil.rmtree(work, ignore_errors=True)


def _extract(examples: list[TeachExample], cfg: TrainConfig, config: ModelConfig, work: Path,
             progress: Progress) -> list[np.ndarray]:
    from actcap.features.cache import FeatureCache
    from actcap.training.train import build_streams

    streams = build_streams(cfg.streams, cfg.backbone, cfg.engine)
    if [s.config() for s in streams] != config.streams:
        raise ValueError(f"the base model's streams {config.streams} are not the ones `actcap train` builds for "
                         f"{cfg.streams}; teach needs a base trained with the default stream settings")
    cache = FeatureCache(cfg.cache_dir, streams, cfg.cache_frames)
    feats, failed = [], []
    for i, e in enumerate(examples):
        progress("extracting", 0.3 * i / len(examples))
        got, skipped = cache.extract([e.path], progress=False)
        if skipped:
            failed.append(f"{e.name or e.path.name}: {skipped[0][1]}")
        else:
            feats.append(got[e.path].features)
    if failed:
        raise ValueError(f"videos[]: {len(failed)} example video(s) could not be read: {'; '.join(failed)}")
    return feats


def _labelled(features: list[np.ndarray], labels: list[str], names: list[str], classes: list[str]):
    from actcap.training.train import LabelledFeatures

    return LabelledFeatures(list(features), [classes.index(lab) for lab in labels],
                            [ClipRecord(Path(n), lab, n) for n, lab in zip(names, labels)], [], [])


# who is in each clip, written into the clip names the final training sees, for train()'s held-out calibration
GROUP_IN_NAME = r"^([^|]*)\|"


def _train(cfg: TrainConfig, examples: list[TeachExample], feats: list[np.ndarray], base: Examples | None,
           classes: list[str]) -> None:
    """Train through actcap.training.train.train with every clip's features given (nothing re-extracted). When every
    example says who is in it, calibration and the open-set threshold are fitted on held-out people (base
    examples by their subjects), not on held-out clips of the same people, which would be too strict."""
    from actcap.training.train import train

    labels = [e.label for e in examples] + (base.labels if base else [])
    names = [e.name or e.path.name for e in examples] + ([f"base/{n}" for n in base.names] if base else [])
    if all(e.group for e in examples):
        groups = [e.group for e in examples] + ([f"base-{g}" for g in base.groups] if base else [])
        names = [f"{g.replace('|', '/')}|{n}" for g, n in zip(groups, names)]
        cfg = dataclasses.replace(cfg, group_by=GROUP_IN_NAME)
    else:
        cfg = dataclasses.replace(cfg, group_by=None)
    train(cfg, [], [], classes, extra=_labelled(feats + (base.features if base else []), labels, names, classes))


def _check(examples: list[TeachExample], feats: list[np.ndarray], base: Examples | None, classes: list[str],
           cfg: TrainConfig, config: ModelConfig, progress: Progress) -> dict:
    from actcap.honesty.held_out import fit_head
    from actcap.training.train import predict_probs

    folds, method = fold_of(examples)
    k = max(folds) + 1
    probs = np.zeros((len(examples), len(classes)), np.float32)
    # each round only needs the head's answers (no files, no calibration): the lean trainer the held-out
    # calibration uses, with the same settings; the final model goes through train() in full
    template = Recognizer(ModelConfig(classes=classes, streams=config.streams, feature_dim=config.feature_dim,
                                      num_slots=cfg.num_slots, sampling=cfg.sampling, head=cfg.head,
                                      head_kwargs=cfg.head_kwargs))
    base_feats = base.features if base else []
    base_labels = [classes.index(lab) for lab in base.labels] if base else []
    for f in range(k):
        progress("checking", 0.3 + 0.55 * f / k)
        held = [i for i, x in enumerate(folds) if x == f]
        kept = [i for i, x in enumerate(folds) if x != f]
        model = fit_head(template, [feats[i] for i in kept] + base_feats,
                         [classes.index(examples[i].label) for i in kept] + base_labels, cfg)
        probs[held] = predict_probs(model, [feats[i] for i in held])
    y = np.array([classes.index(e.label) for e in examples])
    m = classification_metrics(probs, y, classes)
    taught = sorted({e.label for e in examples})
    return {"method": method, "folds": k, "top1": m["top1"], "classes": classes,
            "per_label": {c: {"accuracy": m["per_class"][c]["recall"], "examples": m["per_class"][c]["support"]}
                          for c in taught},
            "confusion_matrix": [m["confusion_matrix"][classes.index(c)] for c in taught],
            "confusion_rows": taught}
