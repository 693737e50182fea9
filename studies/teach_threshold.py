"""Which open-set rule should a taught model get? Measured over teach scenarios on the real UTD-MHAD clips.

    python studies/teach_threshold.py --footage DIR [--data ../shared/data/utd-mhad-5]

A taught model learns from a few people; a user then shows it someone new. For every scenario — taught from
1 subject (6 of them), 2 subjects (15 pairs), 3 subjects (4 triples), and 2 subjects with one action left out
(subjects 1-2, 3-4, 5-6 × 5 actions) — a head is trained with the shipped model's settings on the taught
subjects' clips (held_out.fit_head, as a teach job's check rounds do), and each candidate rule sets its threshold
from held-out scores of those same clips: by clip (5 folds) or by person (one fold per subject), times a margin.
Then, per rule:

- new people: the share of the other subjects' clips answered as an action *and* right (top-1 is the ceiling),
- footage: the share of the clips in --footage (other scenes: docs/model-card.md, "Footage of other actions")
  answered unknown — every one should be,
- another gesture: the share of the left-out action's clips (by the other subjects) answered unknown.

Features come from the feature cache (ACTCAP_CACHE) with the shipped model's streams; docs/teaching.md has the
table this prints and the rule it chose (actcap/teach/trainer.py TAUGHT_RULE).
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actcap.config import cache_root  # noqa: E402
from actcap.features.cache import FeatureCache  # noqa: E402
from actcap.features.labelled import build_streams  # noqa: E402
from actcap.features.threads import torch_threads  # noqa: E402
from actcap.honesty.openset import KNOWN_QUANTILE, create_score, get_score_kwargs  # noqa: E402
from actcap.models.recognizer import ModelConfig, Recognizer  # noqa: E402
from actcap.models.store import SHIPPED_DIR  # noqa: E402
from actcap.teach.trainer import FEW_PEOPLE_RECIPE, base_settings  # noqa: E402
from actcap.training.held_out import fit_head, held_out_answers, outputs  # noqa: E402

SUBJECT = re.compile(r"_s(\d+)_")
SCORES = ("prototype", "mahalanobis")
RULES = [("prototype", "clips", 1.0), ("prototype", "people", 1.0), ("prototype", "people", 1.1),
         ("prototype", "clips", 1.3), ("prototype", "clips", 1.5), ("mahalanobis", "people", 3.0),
         ("mahalanobis", "people", 5.0), ("mahalanobis", "clips", 1.0), ("mahalanobis", "clips", 5.0),
         ("mahalanobis", "clips", 7.0), ("mahalanobis", "clips", 10.0), ("mahalanobis", "clips", 12.0),
         ("mahalanobis", "clips", 15.0), ("mahalanobis", "clips", 1.5), ("mahalanobis", "clips", 2.0),
         ("mahalanobis", "clips", 2.5), ("mahalanobis", "clips", 3.0), ("prototype", "clips", 2.0),
         ("prototype", "clips", 3.0)]


def scenarios(actions: list[str]) -> list[tuple[tuple[str, ...], str | None]]:
    subjects = "123456"
    return ([((s,), None) for s in subjects] + [(p, None) for p in itertools.combinations(subjects, 2)]
            + [(t, None) for t in (("1", "2", "3"), ("4", "5", "6"), ("1", "3", "5"), ("2", "4", "6"))]
            + [(p, a) for p in (("1", "2"), ("3", "4"), ("5", "6")) for a in actions])


def run(clips, feats, footage, config, cfg, subjects, left) -> dict:
    """Scores and answers of one scenario: held-out (by clip, by person), new people, footage, left-out action."""
    classes = sorted({lab for lab, _, _ in clips if lab != left})
    train = [(lab, p, s) for lab, p, s in clips if s in subjects and lab != left]
    test = [(lab, p, s) for lab, p, s in clips if s not in subjects and lab != left]
    other = [p for lab, p, s in clips if s not in subjects and lab == left]
    template = Recognizer(ModelConfig(classes=classes, streams=config.streams, feature_dim=config.feature_dim,
                                      num_slots=cfg.num_slots, sampling=cfg.sampling, head=cfg.head,
                                      head_kwargs=cfg.head_kwargs, clip_frames=config.clip_frames))
    f, y = [feats[p] for _, p, _ in train], [classes.index(lab) for lab, _, _ in train]
    model = fit_head(template, f, y, cfg)
    lg, em = outputs(model, f)
    fitted = {n: create_score(n, **get_score_kwargs(n)).fit(em, lg, np.array(y)) for n in SCORES}

    def scored(items):
        lg_, em_ = outputs(model, items)
        return lg_.argmax(1), {n: s.score(em_, lg_) for n, s in fitted.items()}

    out = {"n": len(subjects), "left": left, "s12": subjects == ("1", "2") and left is None}
    out["held"] = {"clips": held_out_answers(model, f, y, None, cfg, SCORES)["scores"]}
    if len(subjects) > 1:
        out["held"]["people"] = held_out_answers(model, f, y, [s for *_, s in train], cfg, SCORES)["scores"]
    pred, out["test"] = scored([feats[p] for _, p, _ in test])
    out["right"] = pred == np.array([classes.index(lab) for lab, _, _ in test])
    out["footage"] = scored([feats[p] for p in footage])[1]
    out["other"] = scored([feats[p] for p in other])[1] if other else None
    return out


def table(results: list[dict]) -> str:
    rows = ["| score | held out by | × | 1 person (6) | 2 people (15) | 3 people (4) | footage unknown: mean, worst "
            "| another gesture unknown (15) | subjects 1–2 |", "|---|---|---|---|---|---|---|---|---|"]
    for score, by, margin in RULES:
        cells: dict = {}
        for r in results:
            if by not in r["held"]:
                continue
            t = margin * np.quantile(r["held"][by][score], KNOWN_QUANTILE)
            kind = "other" if r["left"] else r["n"]
            cells.setdefault(kind, []).append((np.mean(r["right"] & (r["test"][score] <= t)),
                                               np.mean(r["footage"][score] > t),
                                               np.mean(r["other"][score] > t) if r["left"] else np.nan))
            if r["s12"]:
                s12 = cells[kind][-1][0]
        mean = {k: f"{np.mean([c[0] for c in v]):.3f}" for k, v in cells.items()}
        foot = [c[1] for k, v in cells.items() if k != "other" for c in v]
        rows.append(f"| {score} | {by} | {margin:g} | {mean.get(1, '—')} | {mean[2]} | {mean[3]} | "
                    f"{np.mean(foot):.2f}, {min(foot):.2f} | {np.nanmean([c[2] for c in cells['other']]):.2f} | "
                    f"{s12:.3f} |")
    tops = {n: np.mean([r["right"].mean() for r in results if r["n"] == n and not r["left"]]) for n in (1, 2, 3)}
    rows.append("\ntop-1 on new people (the ceiling): " + ", ".join(f"{n} taught: {t:.3f}" for n, t in tops.items()))
    return "\n".join(rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "utd-mhad-5")
    p.add_argument("--footage", type=Path, required=True, help="a folder of videos of other actions")
    p.add_argument("--tcn", action="store_true", help="train with teaching's few-people recipe (the tcn head, "
                   "actcap/teach/trainer.py FEW_PEOPLE_RECIPE) instead of the shipped settings (docs/teaching.md)")
    args = p.parse_args()
    config, cfg = base_settings(SHIPPED_DIR)
    if args.tcn:
        cfg = replace(cfg, **FEW_PEOPLE_RECIPE)
    cache = FeatureCache(cache_root(), build_streams(cfg.streams, cfg.backbone, cfg.engine), cfg.cache_frames)
    clips = [(d.name, f, SUBJECT.search(f.name).group(1)) for d in sorted(args.data.iterdir()) if d.is_dir()
             for f in sorted(d.glob("*.avi"))]
    footage = sorted(f for f in args.footage.iterdir() if f.is_file())
    got, skipped = cache.extract([c[1] for c in clips] + footage, progress=False)
    if skipped:
        raise SystemExit(f"could not read: {skipped}")
    feats = {path: cf.features for path, cf in got.items()}
    results = []
    with torch_threads(1):
        for subjects, left in scenarios(sorted({c[0] for c in clips})):
            results.append(run(clips, feats, footage, config, cfg, subjects, left))
            print(f"taught from subjects {'+'.join(subjects)}{f' without {left}' if left else ''}", file=sys.stderr)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
