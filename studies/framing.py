"""Does a webcam's framing hide the action? Held-out people's clips seen from the knees, the hips or the waist up.

    python studies/framing.py ../shared/data/utd-mhad-5 runs/default-model-cv [--model RUN_DIR]

A laptop's webcam sees the person from the waist or the chest up; every UTD-MHAD clip shows them whole. For every
fold of an `actcap cv --out` folder (each trained without the subject it validates on), each of the held-out
subject's clips is predicted (`Predictor.predict_frames`, the path uploads take) as filmed and cropped to the top
of the frame — down to 75%, 60% (about the hips) and 50% (the waist) of its height, at the frame's aspect ratio,
centred — and scaled back to the frame's size (actcap/data/framing.py `top_crop`), so the person fills more of it
as they would nearer a webcam.
`--model`: one model for every clip instead (e.g. one trained with framing views; then its own people are not
held out). Printed per framing: right actions, unknowns, wrong actions, idles, and the mean confidence BlazePose
gives the knees and ankles. docs/model-card.md ("Framing").
"""

import argparse
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np

from actcap.data.folders import scan_dataset
from actcap.data.framing import top_crop
from actcap.data.video import open_clip
from actcap.inference.predictor import Predictor

FRAMINGS = {"as filmed": 1.0, "to the knees (top 75%)": 0.75, "to the hips (top 60%)": 0.6,
            "waist up (top 50%)": 0.5}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("cv_dir", type=Path)
    ap.add_argument("--model", type=Path, default=None)
    args = ap.parse_args()
    folds = json.loads((args.cv_dir / "cv.json").read_text())["folds"]
    records = scan_dataset(args.data)
    tally = {name: Counter() for name in FRAMINGS}
    legs = {name: [] for name in FRAMINGS}
    shared = Predictor.from_dir(args.model) if args.model else None
    for k, fold in enumerate(folds, 1):
        predictor = shared or Predictor.from_dir(args.cv_dir / f"fold{k}")
        for r in records:
            if re.search(r"_s(\d+)_", Path(r.path).name).group(1) not in fold["val_groups"]:
                continue
            frames = open_clip(r.path).read_all()
            for name, keep in FRAMINGS.items():
                seen = top_crop(frames, keep)
                out = predictor.predict_frames(seen)
                right = out["prediction"] == r.label
                said = ("right" if right else "wrong") if out["state"] == "action" else out["state"]
                tally[name][said] += 1
                tally[name]["top-1"] += right  # the best label, whatever the state
                rows = predictor.inputs_after(seen, None)[:, :-1]
                legs[name].append(float(rows[:, -4:].mean()))  # confidences of knees and ankles (skeleton.JOINTS)
        print(f"fold {k} done", flush=True)
    for name, said in tally.items():
        print(f"{name:24s} right {said['right']:3d}  unknown {said['unknown']:3d}  wrong {said['wrong']:3d}  "
              f"idle {said['idle']:3d}   best label right {said['top-1']:3d}   "
              f"knees/ankles seen {np.mean(legs[name]):.2f}")


if __name__ == "__main__":
    main()
