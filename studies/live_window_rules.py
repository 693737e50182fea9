"""How should a live window be judged? The open-set score against the window threshold (shipped), with a floor on
the classifier's confidence, or looser: measured on looped known gestures and on footage of other things.

    python studies/live_window_rules.py runs/default-model-cv FOOTAGE_DIR [--model RUN_DIR]

Known: each fold's model of an `actcap cv --out` folder, its held-out subject's clips of every action played
three times in a row through `Predictor.new_stream()` (3 frames per update), full-window updates that are not idle.
Footage: the model (default: the shipped one) streaming every clip of FOOTAGE_DIR once (docs/model-card.md,
"Footage of other actions"), full-window updates that are not idle. For each rule: the share of known updates
answered as the right action and as a wrong one, of wave's, and of footage updates answered as an action (and by
which clips). Session 10's figures: docs/model-card.md ("Session 10"); a confidence floor costs the known windows
more than the footage ones.
"""

import argparse
import json
import re
from pathlib import Path

import numpy as np

from actcap.data.video import open_clip
from actcap.inference.predictor import Predictor

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "utd-mhad-5"


def full_windows(predictor: Predictor, frames, passes: int) -> list[tuple[str, float, float]]:
    """(label, confidence, open-set score) of each full-window, non-idle update of a live stream fed `frames`."""
    live, out = predictor.new_stream(), []
    for _ in range(passes):
        for a in range(0, len(frames), 3):
            live.push_many(list(frames[a:a + 3]))
            r = live.predict()
            if len(live.window) == live.window.maxlen and r["state"] != "idle":
                out.append((r["prediction"], r["confidence"], r["open_set_score"]))
    return out


def window_threshold(run_dir: Path) -> float:
    return json.loads((run_dir / "config.json").read_text())["open_set"]["window_threshold"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cv_dir", type=Path)
    ap.add_argument("footage", type=Path)
    ap.add_argument("--model", type=Path, default=None, help="the model streaming the footage (default: shipped)")
    args = ap.parse_args()
    known = []  # (truth, label, confidence, score, that fold's window threshold)
    for k, fold in enumerate(json.loads((args.cv_dir / "cv.json").read_text())["folds"], 1):
        run = args.cv_dir / f"fold{k}"
        predictor, wt = Predictor.from_dir(run), window_threshold(run)
        for clip in sorted(DATA.glob("*/*.avi")):
            if re.search(r"_s(\d+)_", clip.name).group(1) in fold["val_groups"]:
                known += [(clip.parent.name, *u, wt) for u in full_windows(predictor, open_clip(clip).read_all(), 3)]
        print(f"fold {k} done", flush=True)
    model = Predictor.from_dir(args.model) if args.model else Predictor.load()
    wt = window_threshold(args.model) if args.model else model.config.open_set["window_threshold"]
    footage = [(clip.name, *u) for clip in sorted(args.footage.iterdir())
               for u in full_windows(model, open_clip(clip).read_all(), 1)]
    rules = {"score < window threshold (shipped)": lambda c, s, w: s < w}
    for floor in (0.7, 0.9, 0.95):
        rules[f"  and confidence >= {floor}"] = lambda c, s, w, f=floor: s < w and c >= f
    for m in (1.1, 1.2):
        rules[f"score < {m} x window threshold"] = lambda c, s, w, m=m: s < m * w
    print(f"known full-window updates {len(known)}, footage {len(footage)}")
    for name, rule in rules.items():
        right = np.mean([rule(c, s, w) and label == truth for truth, label, c, s, w in known])
        wrong = np.mean([rule(c, s, w) and label != truth for truth, label, c, s, w in known])
        wave = np.mean([rule(c, s, w) and label == truth for truth, label, c, s, w in known if truth == "wave"])
        taken = [name for name, _, c, s in footage if rule(c, s, wt)]
        print(f"{name:36s} known right {right:.3f} wrong {wrong:.3f} wave {wave:.3f} | footage as an action "
              f"{len(taken) / len(footage):.3f} {sorted(set(taken))}")


if __name__ == "__main__":
    main()
