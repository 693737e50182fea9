"""Re-score open-set and calibration rules on the heads studies/openset_folds.py kept: no training, seconds.

    ACTCAP_CACHE=/path/to/cache python studies/openset_rules.py ../shared/data/utd-mhad-5 runs/openset-folds.pt \
        [runs/default-model-cv [NAME_PART]]

A rule is an open-set score (fitted on a fold's training clips) and a threshold policy (fitted on the scores of
the fold's inner held-out subjects, as training does). Every threshold comes from held-out known clips only:
the left-out action and the synthetic negatives never choose anything. Printed per rule: for the
leave-one-subject-out folds (LOSO) the known accuracy (accepted as an action and right) and the share of known
clips rejected; for the protocol (one action × one subject left out) AUROC and rejection of the left-out action
per action and their mean, AUROC and rejection of the negatives, known accuracy. Then the ECE of LOSO answers
under several calibration rules. docs/model-card.md, "Open set"; the measured table is in the notes.
"""

import sys
from pathlib import Path

import numpy as np
import torch

from actcap.config import cache_root
from actcap.data.pooling import slot_features
from actcap.features.labelled import build_streams
from actcap.honesty.calibration import expected_calibration_error, fit_temperature, softmax
from actcap.honesty.openset import auroc
from actcap.honesty.windows import window_views
from actcap.models.recognizer import Recognizer
from actcap.training.held_out import outputs
from actcap.training.protocol import negative_features

sys.path.insert(0, str(Path(__file__).parent))
import openset_candidates as R  # noqa: E402
from openset_folds import load_data, shipped_config, template  # noqa: E402


def head(state: dict, known: list[int], dim: int):
    model = template([str(c) for c in known], dim, shipped_config())
    model.load_state_dict(state)
    return model.eval()


def slot_inputs(feats, model) -> np.ndarray:
    """(N, T, D) what the head reads for each clip's deterministic test view."""
    if not feats:
        return np.zeros((0, model.config.num_slots, 1), np.float32)
    return np.stack([slot_features(f, model.config.num_slots, model.config.sampling)[0] for f in feats])


def answers(model, feats, labels=None) -> dict:
    """Logits and embeddings of whole clips, and of each clip's views (windows.window_views: the clip, its
    first, middle and last 60%) for the rules that take a clip's most familiar view."""
    lg, em = outputs(model, feats) if feats else (np.zeros((0, 1)), np.zeros((0, 1)))
    views = [window_views(f, model.config.num_slots) for f in feats]
    vl, ve = outputs(model, [v for vs in views for v in vs]) if feats else (lg, em)
    inputs = slot_inputs(feats, model)
    return {"logits": lg, "emb": em, "labels": labels, "view_logits": vl, "view_emb": ve, "inputs": inputs,
            "view_first": np.cumsum([0] + [len(vs) for vs in views[:-1]])}


def prepare(folds, features, labels, negs_by_group, cv_dir: str = "") -> list[dict]:
    """Each fold's answers: its head on train / known / unknown / negatives, its inner heads on theirs. With
    `cv_dir` (an `actcap cv --out` folder of the same configuration), the leave-one-subject-out folds use the
    heads `actcap cv` trained (train.py's loop) instead of fit_head's."""
    dim, out = features[0].shape[1], []
    subjects = sorted({f["group"] for f in folds})
    for f in folds:
        remap = np.vectorize(lambda c, k=f["known"]: k.index(int(c)))
        m = head(f["head"], f["known"], dim)
        if cv_dir and f["action"] == -1:
            m = Recognizer.load(Path(cv_dir) / f"fold{subjects.index(f['group']) + 1}").eval()
        d = {"action": f["action"], "group": f["group"],
             "train": answers(m, [features[i] for i in f["train"]], remap(labels[f["train"]])),
             "known": answers(m, [features[i] for i in f["test_known"]], remap(labels[f["test_known"]])),
             "unknown": answers(m, [features[i] for i in f["test_unknown"]]),
             "negatives": answers(m, [n["features"] for n in negs_by_group[f["group"]]]),
             "negative_kinds": np.array([n["kind"] for n in negs_by_group[f["group"]]]), "inner": []}
        for g in f["inner"]:
            mi = head(g["head"], f["known"], dim)
            d["inner"].append({"train": answers(mi, [features[i] for i in g["train"]], remap(labels[g["train"]])),
                               "test": answers(mi, [features[i] for i in g["test"]], remap(labels[g["test"]]))})
        out.append(d)
    return out


def evaluate(rule, folds: list[dict], classes: list[str]) -> dict:
    per = {}
    for d in folds:
        decide = rule(d)  # fitted on the fold's training clips and inner held-out answers only
        res = {part: decide(d[part]) for part in ("known", "unknown", "negatives")}  # (score, rejected) each
        right = d["known"]["logits"].argmax(1) == d["known"]["labels"]
        per.setdefault(d["action"], []).append((res, right, d["negative_kinds"]))
    table = {}
    for a, rows in per.items():
        cat = {p: (np.concatenate([r[0][p][0] for r in rows]), np.concatenate([r[0][p][1] for r in rows]))
               for p in ("known", "unknown", "negatives")}
        right = np.concatenate([r[1] for r in rows])
        kinds = np.concatenate([r[2] for r in rows])
        table[classes[a] if a >= 0 else "LOSO"] = {
            "known_acc": float((~cat["known"][1] & right).mean()), "known_rej": float(cat["known"][1].mean()),
            "top1": float(right.mean()),
            "auroc": auroc(cat["known"][0], cat["unknown"][0]) if a >= 0 else float("nan"),
            "unk_rej": float(cat["unknown"][1].mean()) if a >= 0 else float("nan"),
            "auroc_neg": auroc(cat["known"][0], cat["negatives"][0]), "neg_rej": float(cat["negatives"][1].mean()),
            "neg_by_kind": {k: round(float(cat["negatives"][1][kinds == k].mean()), 2) for k in sorted(set(kinds))}}
    acts = [k for k in table if k != "LOSO"]
    table["mean"] = {m: float(np.mean([table[a][m] for a in acts])) for m in
                     ("known_acc", "known_rej", "top1", "auroc", "unk_rej", "auroc_neg", "neg_rej")}
    return table


def show(name: str, t: dict) -> None:
    lo, mn = t["LOSO"], t["mean"]
    per = " ".join(f"{a[:7]} {t[a]['auroc']:.2f}/{t[a]['unk_rej']:.2f}" for a in t if a not in ("LOSO", "mean"))
    print(f"{name:34s} LOSO acc {lo['known_acc']:.3f} rej {lo['known_rej']:.3f} neg {lo['neg_rej']:.2f} | "
          f"protocol acc {mn['known_acc']:.3f} AUROC {mn['auroc']:.3f} unk {mn['unk_rej']:.3f} "
          f"AUROCneg {mn['auroc_neg']:.3f} neg {mn['neg_rej']:.3f} | {per}", flush=True)


def calibration_table(folds: list[dict]) -> None:
    loso = [d for d in folds if d["action"] == -1]
    proto = [d for d in folds if d["action"] != -1]
    y = np.concatenate([d["known"]["labels"] for d in loso])
    yp = np.concatenate([d["known"]["labels"] for d in proto]) if proto else np.zeros(0, int)
    for name, fit in R.CALIBRATIONS.items():
        probs = np.concatenate([fit(d)(d["known"]["logits"]) for d in loso])
        line = (f"calibration {name:30s} LOSO ECE {expected_calibration_error(probs, y):.3f} "
                f"top-1 {(probs.argmax(1) == y).mean():.3f}")
        if proto:
            pp = np.concatenate([fit(d)(d["known"]["logits"]) for d in proto])
            line += (f" | protocol ECE {expected_calibration_error(pp, yp):.3f} top-1 {(pp.argmax(1) == yp).mean():.3f}"
                     f" ({len(yp)} answers)")
        print(line, flush=True)
    best = fit_temperature(np.concatenate([d["known"]["logits"] for d in loso]), y)
    print(f"(oracle: one temperature fitted on the test answers themselves {best:.3f}, ECE "
          f"{expected_calibration_error(softmax(np.concatenate([d['known']['logits'] for d in loso]) / best), y):.3f})")


def main(root: str, path: str, cv_dir: str = "", only: str = "") -> None:
    features, labels, groups, classes, records = load_data(root)
    saved = torch.load(path, weights_only=False)
    cfg = shipped_config()
    negs = negative_features(records, list(groups), build_streams(cfg.streams, cfg.backbone), cfg.cache_frames,
                             cache_root())
    by_group = {g: [n for n in negs if n["group"] == g] for g in sorted(set(groups))}
    folds = prepare(saved["folds"], features, labels, by_group, cv_dir)
    calibration_table(folds)
    for name, rule in R.candidates(features).items():
        if only in name:
            show(name, evaluate(rule, folds, classes))


if __name__ == "__main__":
    main(*sys.argv[1:5])
