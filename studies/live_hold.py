"""Hysteresis for live answers: how far past the window threshold should a live stream keep saying the action it is
saying? Measured on held-out people's real gestures and on footage of other things.

    python studies/live_hold.py runs/default-model-cv FOOTAGE_DIR [--holds 1.0,1.05,1.1,1.2]

Each fold's model of an `actcap cv --out` folder streams its held-out subject's clips of every action, 3 frames per
update as the page's 15 frames/s and 5 updates/s give: once, three times in a row, and as a steady gesture (the
clip's middle half played forwards and backwards for three windows; studies/live_wave.py). The shipped model
streams every clip of FOOTAGE_DIR once (docs/model-card.md, "Footage of other actions"). Each update's verdict is
computed once (`Predictor.verdict_of_frames`, what `LiveStream.predict` runs); then, for each hold factor,
`Rules.hold` (honesty/verdict.py; 1.0 never holds) turns them into the stream's answers in order. Printed per
factor: the share of wave updates answered wave (one pass: every update, and full windows; three passes; steady),
of all actions' full-window updates answered right and wrong (three passes; steady), and of the footage's
full-window updates that are not idle answered as an action, with the clips. Session 11's figures:
docs/model-card.md ("Live").
"""

import argparse
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from actcap.data.video import open_clip
from actcap.inference.predictor import Predictor

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "utd-mhad-5"


def verdicts(predictor: Predictor, frames, passes: int = 1) -> list[tuple[bool, object]]:
    """(window full, verdict before any hold) of each update of a live stream fed `frames` `passes` times."""
    live, out = predictor.new_stream(), []
    for _ in range(passes):
        for a in range(0, len(frames), 3):
            live.push_many(list(frames[a:a + 3]))
            out.append((len(live.window) == live.window.maxlen,
                        predictor.verdict_of_frames(np.stack(live.window), windowed=True)))
    return out


def said(predictor: Predictor, updates, factor: float) -> list[tuple[bool, str, str]]:
    """(window full, state, label) of each answer, the verdicts held in order as LiveStream holds them."""
    out, last = [], None
    for full, v in updates:
        last = predictor.judge.hold(last, v, factor)
        out.append((full, last.state, predictor.classes[int(np.argmax(last.probs))]))
    return out


def recorded(cv_dir: Path, footage: Path) -> tuple[list, list]:
    """Known streams as (predictor, action, kind, updates); footage as (predictor, clip name, updates)."""
    known = []
    for k, fold in enumerate(json.loads((cv_dir / "cv.json").read_text())["folds"], 1):
        predictor = Predictor.from_dir(cv_dir / f"fold{k}")
        window = predictor.new_stream().window.maxlen
        for clip in sorted(DATA.glob("*/*.avi")):
            if re.search(r"_s(\d+)_", clip.name).group(1) not in fold["val_groups"]:
                continue
            frames = open_clip(clip).read_all()
            middle = frames[len(frames) // 4: 3 * len(frames) // 4]
            steady = np.concatenate([middle, middle[::-1]] * (3 * window // (2 * len(middle)) + 1))
            for kind, fed, passes in (("once", frames, 1), ("three passes", frames, 3), ("steady", steady, 1)):
                known.append((predictor, clip.parent.name, kind, verdicts(predictor, fed, passes)))
        print(f"fold {k} done", flush=True)
    shipped = Predictor.load()
    return known, [(shipped, clip.name, verdicts(shipped, open_clip(clip).read_all()))
                   for clip in sorted(footage.iterdir())]


def report(known: list, footage: list, factor: float) -> None:
    tally = defaultdict(Counter)
    for predictor, truth, kind, updates in known:
        for full, state, label in said(predictor, updates, factor):
            answer = "right" if (state, label) == ("action", truth) else "wrong" if state == "action" else state
            keys = ([f"{kind}, every update"] if kind == "once" else []) + ([kind] if full else [])
            for key in keys:
                if state != "idle" or key == "once, every update":
                    tally[key][answer] += 1
                    if truth == "wave":
                        tally["wave: " + key][answer] += 1
    clips = Counter()
    for predictor, name, updates in footage:
        for full, state, _ in said(predictor, updates, factor):
            if full and state != "idle":
                tally["footage"][state] += 1
                clips[name] += state == "action"

    def share(key, answer="right"):
        return f"{tally[key][answer] / max(sum(tally[key].values()), 1):.3f}"

    print(f"hold {factor:.2f} | wave: every update {share('wave: once, every update')}, one pass "
          f"{share('wave: once')}, three passes {share('wave: three passes')}, steady {share('wave: steady')} | "
          f"all actions: three passes {share('three passes')} (wrong {share('three passes', 'wrong')}), steady "
          f"{share('steady')} (wrong {share('steady', 'wrong')}) | footage as an action {share('footage', 'action')} "
          f"({', '.join(f'{n} {c}' for n, c in clips.items() if c)})", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cv_dir", type=Path)
    ap.add_argument("footage", type=Path)
    ap.add_argument("--holds", default="1.0,1.05,1.1,1.2", help="hold factors to compare (1.0: never hold)")
    args = ap.parse_args()
    known, footage = recorded(args.cv_dir, args.footage)
    for factor in (float(f) for f in args.holds.split(",")):
        report(known, footage, factor)


if __name__ == "__main__":
    main()
