"""One teach job: a few labelled example videos (+ the base model's examples) → a checked, saved model.

    extracting  each example's per-frame stream features, with the base model's stream config (whatever its
                config.json names: the teach stream is the base's)
    comparing   with base=default: new labels that duplicate a base action stop the job (duplicates.py) unless
                the request allows them
    checking    accuracy on examples held out in turn, by person when every label has 2+ people (check.py)
    training    the final head on everything, with the base model's training settings, via actcap.training.train.train
                (which also fits calibration and the open-set score: held_out.calibrate_run, by TAUGHT_RULES)
    saving      into the model store in one rename, with the labels' captions

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
from actcap.features.threads import torch_threads
from actcap.models.recognizer import ModelConfig
from actcap.models.store import ModelStore, name_problem
from actcap.teach.check import check_examples, with_threshold
from actcap.teach.duplicates import find_duplicates
from actcap.teach.examples import EXAMPLES_FILE, Examples, load_examples
from actcap.training.held_out import ThresholdRule

log = logging.getLogger(__name__)
BASES = ("default", "none")
LABEL_RULE = "letters, digits, spaces, '_' and '-', 1 to 40 characters"
_LABEL = re.compile(r"[A-Za-z0-9_ -]{1,40}")
MIN_EXAMPLES = 2
MAX_CAPTION = 200
Progress = Callable[[str, float], None]
# The open-set rule of taught models, chosen by measurement over 40 teach scenarios on UTD-MHAD (docs/teaching.md):
# taught from 1-3 people, the quantile of held-out scores rejects most clips of new people, and held out by person
# (1 person per fold) it is erratic. Mahalanobis distances held out by clip, ×7 (session 9, pose): new people's known
# actions answered within 0.01 of top-1 and 0.94 of the 12 real clips of other footage `unknown` (×10: 0.71; ×5 all,
# at a cost of 0.03-0.10 to new people).
TAUGHT_RULE = ThresholdRule("mahalanobis", 7.0, hold_out="clips")
FEW_PEOPLE = 5
"""A pose model taught from fewer people than this (or from examples that do not say who is in them) trains with
FEW_PEOPLE_RECIPE; with more (a base=default job: the shipped examples' six people) it keeps the base's settings.
Measured on new people (docs/teaching.md): taught from 1, 2, 3 people, 0.825, 0.892, 0.963 of their clips right
with it against 0.447, 0.674, 0.762 with the shipped settings; from 5 (the shipped model's folds), 0.95 either way."""
FEW_PEOPLE_RECIPE = {"head": "tcn", "head_kwargs": {"width": 32, "novelty": "shape"}, "lr": 2e-3,
                     "lr_schedule": "cosine", "epochs": 60, "batch_size": 16, "augment": True,
                     "open_set_clusters": 1}
"""Taught from few people: the `tcn` head with pose augmentation (`--augment`: speed, rotation, scale, noise), as
the keypoint datasets are learned, with its open set reading the body's shape (`novelty=shape`: the `skeleton` head's
description, which keeps footage of other actions apart where the tcn's learned embedding does not). Taught from
subjects 1-2, subjects 3-6's clips: 0.90 right as filmed and panned (the shipped settings: 0.69; with augmentation
0.775), and none of 12 clips of other footage answered as an action under TAUGHT_RULE (docs/teaching.md). One
open-set mean per class, as measured (the shipped model's two, for its whole and framed clips, are its own)."""


class DuplicateLabelsError(ValueError):
    """New labels that duplicate the base model's actions; `warnings` are the sentences that say which."""

    def __init__(self, warnings: list[str]):
        self.warnings = warnings
        super().__init__("; ".join(warnings) + ". Teach them anyway (allow_duplicates, --allow-duplicates), or "
                         "start from nothing (base none: only your labels)")


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
    captions: dict[str, str] = field(default_factory=dict)
    """Label → the sentence said for it ("A person is waving hello."); others get derived ones."""
    allow_duplicates: bool = False
    """Train even when a new label duplicates a base action (duplicates.py); else the job stops and says so."""


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
    problems += _caption_problems(req.captions, set(counts))
    if problems:
        raise TeachError(problems)


def _caption_problems(captions: dict[str, str], labels: set[str]) -> list[str]:
    problems = []
    strange = sorted(set(captions) - labels)
    if strange:
        problems.append(f"captions[]: {', '.join(repr(c[:40]) for c in strange)} not among the labels "
                        f"({', '.join(sorted(labels)) or 'none'}); write LABEL=SENTENCE for a label you teach")
    bad = sorted(lab for lab, text in captions.items() if not text.strip() or len(text) > MAX_CAPTION)
    if bad:
        problems.append(f"captions[]: the sentence for {', '.join(repr(b[:40]) for b in bad)} must be 1 to "
                        f"{MAX_CAPTION} characters, e.g. 'A person is waving hello.'")
    return problems


def parse_captions(items: list[str], field_name: str = "captions[]") -> dict[str, str]:
    """['hello=A person is waving hello.'] → {'hello': 'A person is waving hello.'}; ValueError naming the field."""
    out, problems = {}, []
    for item in items:
        label, sep, text = item.partition("=")
        if not sep or not label.strip():
            problems.append(f"{field_name}: {item[:60]!r}: expected LABEL=SENTENCE, e.g. 'hello=A person is waving "
                            "hello.'")
        elif label.strip() in out:
            problems.append(f"{field_name}: two captions for '{label.strip()[:40]}'; give one")
        else:
            out[label.strip()] = " ".join(text.split())
    if problems:
        raise TeachError(problems)
    return out


def base_settings(base_dir: Path) -> tuple[ModelConfig, TrainConfig]:
    """The base model's config and its training settings (whatever fields TrainConfig knows)."""
    config = ModelConfig.from_dict(json.loads((base_dir / "config.json").read_text()), str(base_dir))
    return config, TrainConfig.from_record(config.train, out=Path("."), cache_dir=None)


def teach(req: TeachRequest, store: ModelStore, base_dir: Path, progress: Progress = lambda stage, f: None
          ) -> dict:
    """Run the job; returns {"model": name, "metrics": …}. Raises on failure, leaving the store as it was.
    The head is tiny: one torch thread trains it several times faster than threads fighting over loaded cores,
    and the count is restored after, so the process (a server predicting beside the job) keeps its own."""
    with torch_threads(1):
        return _teach(req, store, base_dir, progress)


def _teach(req: TeachRequest, store: ModelStore, base_dir: Path, progress: Progress) -> dict:
    check_request(req)
    times, t0 = {}, time.perf_counter()
    config, cfg = base_settings(base_dir)
    base = load_examples(base_dir / EXAMPLES_FILE) if req.base == "default" else None
    if base is not None and base.streams != config.streams:
        raise ValueError(f"{base_dir / EXAMPLES_FILE} was made with other streams than {base_dir / 'config.json'}; "
                         "rebuild it (python scripts/make_default_examples.py)")
    taught = sorted({e.label for e in req.examples})
    classes = sorted(set(base.classes if base else []) | set(taught))
    if few_people(req.examples, base, cfg.streams):
        cfg = few_people_settings(cfg)
    staging = store.staging()
    work = store.work_dir("staging")  # in the store, not /tmp: swept after a kill like the rest
    try:
        cfg = dataclasses.replace(cfg, cache_dir=work / "cache", progress=False, keep="last", resume=False,
                                  captions={**(config.captions if base else {}), **req.captions},
                                  open_set_margin=1.0)  # a taught model's threshold is TAUGHT_RULE's, not the base's
        feats = _extract(req.examples, cfg, config, work, progress)
        times["extract_s"] = time.perf_counter() - t0
        if base is not None and not req.allow_duplicates:
            progress("comparing with the base model's actions", 0.3)
            warnings = find_duplicates(req.examples, feats, base_dir, config.classes)
            if warnings:
                raise DuplicateLabelsError(warnings)
        check = check_examples(req.examples, feats, base, classes, cfg, config, TAUGHT_RULE, progress)
        times["check_s"] = time.perf_counter() - t0 - times["extract_s"]
        progress("training", 0.85)
        _train(dataclasses.replace(cfg, out=staging), req.examples, feats, base, classes)
        times["train_s"] = time.perf_counter() - t0 - times["extract_s"] - times["check_s"]
        open_set = json.loads((staging / "config.json").read_text()).get("open_set") or {}
        metrics = with_threshold(check, open_set.get("threshold"))
        metrics.update({"base": req.base, "taught_labels": taught, "examples": len(req.examples),
                        "augmented": cfg.augment, "head": cfg.head,
                        "base_examples": len(base.labels) if base else 0, "open_set_rule": open_set.get("rule"),
                        "seconds": {k: round(v, 2) for k, v in times.items()}})
        progress("saving", 0.98)
        if base is not None:  # so that this model can be the base of another one later
            shutil.copy2(base_dir / EXAMPLES_FILE, staging / f"base-{EXAMPLES_FILE}")
        replaced = store.commit(staging, req.name, {"base": req.base, "metrics": metrics})
        return {"model": req.name, "metrics": metrics, "replaced": replaced and (replaced.get("created") or "before")}
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when committed
        shutil.rmtree(work, ignore_errors=True)


def few_people(examples: list[TeachExample], base: Examples | None, streams: list[str]) -> bool:
    """Whether a job teaching a pose model learns from fewer than FEW_PEOPLE people (FEW_PEOPLE's note)."""
    people = {e.group for e in examples if e.group} | {f"base-{g}" for g in (base.groups if base else []) if g}
    return "pose" in streams and len(people) < FEW_PEOPLE


def few_people_settings(cfg: TrainConfig) -> TrainConfig:
    """cfg with FEW_PEOPLE_RECIPE; a base whose frame count the body-shape description cannot split (`--frames`
    not a multiple of SHAPE_SEGMENTS) keeps its own head, with pose augmentation, rather than an open set that
    lets footage through."""
    from actcap.models.pose_heads import SHAPE_SEGMENTS

    if cfg.num_slots % SHAPE_SEGMENTS:
        log.warning("the base model's %d frames cannot be split into %d segments: teaching from few people keeps its "
                    "%s head (with pose augmentation) instead of FEW_PEOPLE_RECIPE", cfg.num_slots, SHAPE_SEGMENTS,
                    cfg.head)
        return dataclasses.replace(cfg, augment=True)
    return dataclasses.replace(cfg, **FEW_PEOPLE_RECIPE)


def _extract(examples: list[TeachExample], cfg: TrainConfig, config: ModelConfig, work: Path,
             progress: Progress) -> list[np.ndarray]:
    from actcap.features.cache import FeatureCache
    from actcap.features.labelled import build_streams

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


def _train(cfg: TrainConfig, examples: list[TeachExample], feats: list[np.ndarray], base: Examples | None,
           classes: list[str]) -> None:
    """Train through actcap.training.train.train with every clip's features given (nothing re-extracted). Each clip
    record carries its person when every example says who is in it (base examples their subjects); calibration and
    the open-set threshold follow TAUGHT_RULE."""
    from actcap.features.labelled import LabelledFeatures
    from actcap.training.train import train

    labels = [e.label for e in examples] + (base.labels if base else [])
    names = [e.name or e.path.name for e in examples] + ([f"base/{n}" for n in base.names] if base else [])
    groups: list[str | None] = [None] * len(labels)
    if all(e.group for e in examples):
        groups = [e.group for e in examples] + ([f"base-{g}" for g in base.groups] if base else [])
    records = [ClipRecord(Path(n), lab, n, g) for n, lab, g in zip(names, labels, groups)]
    extra = LabelledFeatures(feats + (base.features if base else []), [classes.index(lab) for lab in labels],
                             records, [], [])
    train(dataclasses.replace(cfg, group_by=None), [], [], classes, extra=extra, threshold_rule=TAUGHT_RULE)
