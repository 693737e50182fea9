"""studies/live_wave.py's steady wave on cached pose features: minutes instead of re-running BlazePose.

    ACTCAP_CACHE=DIR python studies/live_wave_cached.py runs/default-model-cv    # an `actcap cv --out` folder

Each fold's model judges its held-out subject's clips as `actcap evaluate` does (right answers, unknowns), then the
four wave clips as a live window would see them (`Pipeline.verdict_of_frames(windowed=True)`, the window a
training clip's length, one update every 3 frames): one pass once the window is full; a steady wave (the clip's
middle half played forwards and backwards for three windows); the clip three times in a row. The features come from
the feature cache (the poses of each frame, as the live stream computes them); cached features carry no motion
level, so every frame counts as moving (no `idle` from stillness). For the shipped configuration it gives the same
steady-wave share as live_wave.py (0.69, session 9); docs/model-card.md ("Body pose").
"""

import json
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from actcap.config import cache_root
from actcap.data.folders import scan_dataset
from actcap.features.cache import FeatureCache
from actcap.features.labelled import load_features
from actcap.inference.pipeline import Pipeline
from actcap.models.recognizer import Recognizer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "utd-mhad-5"
SUBJECT = re.compile(r"_s(\d+)_")


def updates(p: Pipeline, rows: np.ndarray, window: int, fold: int) -> Counter:
    """What each full-window update over `rows` (L, D + 1) says: `wave`, or state:label:fold."""
    said = Counter()
    for end in range(window, len(rows) + 1, 3):
        v = p.verdict_of_frames(rows[end - window:end], windowed=True)
        label = p.classes[int(v.probs.argmax())]
        said["wave" if (v.state, label) == ("action", "wave") else f"{v.state}:{label}:{fold}"] += 1
    return said


def main(cv_dir: str) -> None:
    folds = json.loads((Path(cv_dir) / "cv.json").read_text())["folds"]
    records = scan_dataset(DATA)
    tally = {k: Counter() for k in ("clips", "one pass", "steady wave", "three passes")}
    feats = None
    for k, fold in enumerate(folds, 1):
        p = Pipeline(Recognizer.load(Path(cv_dir) / f"fold{k}"))
        if feats is None:
            data = load_features(records, p.classes, FeatureCache(cache_root(), p.streams, p.cache_frames),
                                 p.num_slots, False, None)
            feats = {str(r.path): f for r, f in zip(data.records, data.features)}
        window = p.model.config.clip_frames or p.num_slots
        for r in records:
            if SUBJECT.search(r.path.name).group(1) not in fold["val_groups"]:
                continue
            rows = np.concatenate([feats[str(r.path)], np.ones((len(feats[str(r.path)]), 1), np.float32)], 1)
            v = p.verdict_of_frames(rows)
            tally["clips"]["right" if (v.state, p.classes[int(v.probs.argmax())]) == ("action", r.label)
                           else v.state] += 1
            if r.label != "wave":
                continue
            middle = rows[len(rows) // 4: 3 * len(rows) // 4]
            tally["one pass"] += updates(p, rows, window, k)
            tally["steady wave"] += updates(
                p, np.concatenate([middle, middle[::-1]] * (3 * window // (2 * len(middle)) + 1)), window, k)
            tally["three passes"] += updates(p, np.concatenate([rows] * 3), window, k)
    for name, said in tally.items():
        n = sum(said.values())
        hit = said["right"] if name == "clips" else said["wave"]
        print(f"{name:13s} {'right' if name == 'clips' else 'wave'} {hit}/{n} = {hit / max(n, 1):.2f}   "
              f"{dict(said.most_common())}")


if __name__ == "__main__":
    main(sys.argv[1])
