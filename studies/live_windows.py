"""Live answers on people the model never saw: each cross-validation fold's model watches its held-out subject's
clips played back to back through the real live stream.

    python studies/live_windows.py ../shared/data/utd-mhad-5 runs/default-model-cv [STEP]

For every fold of an `actcap cv --out` folder (fold1 … foldN, trained without the subject it validates on), the
held-out subject's clips are joined trial by trial, action after action, and fed to `Predictor.new_stream()`
STEP frames at a time (default 3, as the page sends a webcam's frames); once the window is full every update is
answered. A window lies *inside* one clip or *straddles* two. Counted per kind: right (state action, a label of a
clip it covers), wrong (action, another label), unknown, idle. docs/model-card.md, "Windows".
"""

import json
import re
import sys
from collections import Counter
from pathlib import Path

from actcap.data.folders import scan_dataset
from actcap.data.video import open_clip
from actcap.inference.predictor import Predictor


def subject(path: Path) -> str:
    return re.search(r"_s(\d+)_", path.name).group(1)


def trial(path: Path) -> int:
    return int(re.search(r"_t(\d+)_", path.name).group(1))


def fold_windows(predictor: Predictor, records, step: int) -> Counter:
    frames, spans = [], []  # spans: (first frame, end frame, label) per clip
    for r in sorted(records, key=lambda r: (trial(r.path), r.label)):
        f = open_clip(r.path).read_all()
        spans.append((len(frames), len(frames) + len(f), r.label))
        frames.extend(f)
    live = predictor.new_stream()
    size = live.window.maxlen
    tally = Counter()
    for end in range(step, len(frames) + 1, step):
        live.push_many(frames[end - step:end])
        if end < size:
            continue
        answer = live.predict()
        start = end - size
        covered = [lab for a, b, lab in spans if a < end and b > start]
        kind = "inside" if len(covered) == 1 else "straddling"
        if answer["state"] == "action":
            tally[kind, "right" if answer["prediction"] in covered else "wrong"] += 1
        else:
            tally[kind, answer["state"]] += 1
    return tally


def main(data: str, cv_dir: str, step: str = "3") -> None:
    records = scan_dataset(data)
    folds = json.loads((Path(cv_dir) / "cv.json").read_text())["folds"]
    total = Counter()
    for k, fold in enumerate(folds, 1):
        held = [r for r in records if subject(r.path) in fold["val_groups"]]
        tally = fold_windows(Predictor.from_dir(Path(cv_dir) / f"fold{k}"), held, int(step))
        total += tally
        print(f"fold {k} (subject {','.join(fold['val_groups'])}): {dict(sorted(tally.items()))}", flush=True)
    for kind in ("inside", "straddling"):
        n = sum(v for (k, _), v in total.items() if k == kind)
        parts = ", ".join(f"{s} {total[kind, s]} ({total[kind, s] / max(n, 1):.0%})"
                          for s in ("right", "wrong", "unknown", "idle"))
        print(f"{kind}: {n} windows: {parts}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
