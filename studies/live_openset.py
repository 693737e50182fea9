"""Live windows of a gesture the model was never taught, against windows of one it knows: the window rule before
and after the means of the clips' middles (session 8).

    ACTCAP_CACHE=/tmp/pose-cache python studies/live_openset.py [--subjects 6,5] [--rule shipped|before]

For each held-out subject and each of the five actions left out: a head (the shipped configuration: pose stream,
`skeleton` head, weight decay 0.1, 30 epochs) trained on the four other actions of the other subjects, with its
calibration and open set fitted by held_out.py (`before`: whole-clip means only, sliding windows only). Then the
held-out subject's clips, from cached pose features (no motion column: nothing is idle), judged as whole clips and
as 46-frame live windows every 3 frames of the clip played once, of its middle half held (played forwards and
backwards: a gesture going on), and of the clip played three times. Printed: the share of known windows answered
`action` with the right label, the share of the left-out action's windows answered as an action (any label: each
is wrong), and the AUROC of the window scores. docs/model-card.md ("Body pose").
"""

import argparse
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

import actcap.training.held_out as held_out
from actcap.config import TrainConfig, cache_root
from actcap.data.folders import scan_dataset
from actcap.features.cache import FeatureCache
from actcap.features.labelled import load_features
from actcap.honesty.judge import Judge
from actcap.honesty.openset import auroc
from actcap.inference.pipeline import Pipeline
from actcap.inference.predictor import DEFAULT_MODEL
from actcap.models.recognizer import Recognizer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "utd-mhad-5"
WINDOW = 46


def plays(f: np.ndarray) -> dict[str, np.ndarray]:
    """(L, D + 1) clip → the sequences a live camera could see of it."""
    mid = f[len(f) // 4: 3 * len(f) // 4]
    return {"once": f, "held": np.concatenate([mid, mid[::-1]] * (3 * WINDOW // (2 * len(mid)) + 1)),
            "three times": np.concatenate([f] * 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", default="6,5")
    ap.add_argument("--rule", choices=("shipped", "before"), default="shipped")
    args = ap.parse_args()
    if args.rule == "before":  # whole-clip means only, the window threshold from sliding windows only
        held_out.held_windows = lambda f, length, min_len: []
        held_out.get_score_kwargs = lambda name: {"match": "predicted"} if name == "prototype" else {}
    shipped = Pipeline(Recognizer.load(DEFAULT_MODEL))
    records = scan_dataset(DATA)
    classes = sorted({r.label for r in records})
    cache = FeatureCache(cache_root(), shipped.streams, shipped.cache_frames)
    data = load_features(records, classes, cache, shipped.num_slots, False, None)
    subject = [re.search(r"_s(\d+)_", r.path.name).group(1) for r in data.records]
    cfg = TrainConfig(out=Path("."), head="skeleton", num_slots=shipped.num_slots, sampling="dense", epochs=30,
                      weight_decay=0.1, seed=0, progress=False)
    said, scores = Counter(), {}
    for s in args.subjects.split(","):
        for left in classes:
            known = [c for c in classes if c != left]
            tr = [i for i in range(len(subject)) if subject[i] != s and classes[data.labels[i]] != left]
            f_tr, y_tr = [data.features[i] for i in tr], [known.index(classes[data.labels[i]]) for i in tr]
            model = held_out.fit_head(Recognizer(replace(shipped.model.config, classes=known)), f_tr, y_tr, cfg)
            held_out.fit_honesty(model, f_tr, y_tr, [subject[i] for i in tr], cfg)
            pipeline = Pipeline.__new__(Pipeline)  # the shipped pipeline's sampling with this head and its rules
            pipeline.__dict__.update(shipped.__dict__, model=model, config=model.config, classes=known)
            pipeline.judge = Judge(model)
            for i in (i for i in range(len(subject)) if subject[i] == s):
                f = np.concatenate([data.features[i], np.ones((len(data.features[i]), 1), np.float32)], axis=1)
                label, kind = classes[data.labels[i]], "left out" if classes[data.labels[i]] == left else "known"
                def right(v, kind=kind, label=label, known=known) -> bool:  # an action: right, or wrong if left out
                    return v.state == "action" and (kind == "left out" or known[int(v.probs.argmax())] == label)

                said[(kind, "whole clip", right(pipeline.verdict_of_frames(f)))] += 1
                for name, seq in plays(f).items():
                    for end in range(min(WINDOW, len(seq)), len(seq) + 1, 3):
                        v = pipeline.verdict_of_frames(seq[max(0, end - WINDOW):end], windowed=True)
                        said[(kind, name, right(v))] += 1
                        scores.setdefault((kind, name), []).append(v.open_set_score)
            print(f"subject {s}, {left} left out: done", flush=True)
    print(f"rule: {args.rule}")
    for name in ("whole clip", "once", "held", "three times"):
        k, u = (said[("known", name, True)], said[("known", name, False)]), (said[("left out", name, True)],
                                                                                   said[("left out", name, False)])
        line = (f"{name:12s} known: right {k[0]}/{sum(k)} = {k[0] / sum(k):.2f}   "
                f"left out: answered as an action {u[0]}/{sum(u)} = {u[0] / sum(u):.2f}")
        if name != "whole clip":
            line += f"   AUROC {auroc(np.array(scores[('known', name)]), np.array(scores[('left out', name)])):.3f}"
        print(line)


if __name__ == "__main__":
    main()
