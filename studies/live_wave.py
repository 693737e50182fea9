"""A steady wave in front of a live camera: what share of the live stream's updates say `wave`?

    python studies/live_wave.py runs/default-model-cv      # an `actcap cv --out` folder; ../shared/data/utd-mhad-5

Each fold's model gets its held-out subject's four wave clips as a live stream (`Predictor.new_stream()`, what
/stream runs), 3 frames per update as the page's 15 frames/s and 5 updates/s give. Three readings per clip:
every update of one pass (the first ones see a person standing still, and a window of a few frames);
the updates of one pass once the window is full (it spans a typical training clip); the clip played three
times in a row — a person raising the arm, waving and lowering it again and again — counted from the first full
window; and a steady wave: the clip's middle half (the arm up, the hand waving) played forwards and backwards
until it lasts three windows, counted from the first full window. Printed: the share of updates answered
`action` wave, and what the others said. docs/model-card.md ("Body pose").
"""

import json
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from actcap.data.video import open_clip
from actcap.inference.predictor import Predictor

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "utd-mhad-5"


def updates(predictor: Predictor, frames, passes: int) -> list[tuple[bool, str]]:
    """(window full, state/label) of each update of a live stream fed `frames` `passes` times, 3 at a time."""
    live, out = predictor.new_stream(), []
    for _ in range(passes):
        for a in range(0, len(frames), 3):
            live.push_many(list(frames[a:a + 3]))
            r = live.predict()
            out.append((len(live.window) == live.window.maxlen,
                        "wave" if (r["state"], r["prediction"]) == ("action", "wave") else r["state"]))
    return out


def main(cv_dir: str) -> None:
    folds = json.loads((Path(cv_dir) / "cv.json").read_text())["folds"]
    tally = {k: Counter() for k in ("one pass, every update", "one pass, full window", "three passes, full window",
                                    "steady wave, full window")}
    for k, fold in enumerate(folds, 1):
        predictor = Predictor.from_dir(Path(cv_dir) / f"fold{k}")
        for clip in sorted((DATA / "wave").glob("*.avi")):
            if re.search(r"_s(\d+)_", clip.name).group(1) not in fold["val_groups"]:
                continue
            frames = open_clip(clip).read_all()
            once, thrice = updates(predictor, frames, 1), updates(predictor, frames, 3)
            tally["one pass, every update"].update(said for _, said in once)
            tally["one pass, full window"].update(said for full, said in once if full)
            tally["three passes, full window"].update(said for full, said in thrice if full)
            middle = frames[len(frames) // 4: 3 * len(frames) // 4]
            steady = np.concatenate([middle, middle[::-1]] * (3 * predictor.new_stream().window.maxlen
                                                              // (2 * len(middle)) + 1))
            tally["steady wave, full window"].update(said for full, said in updates(predictor, steady, 1) if full)
        print(f"fold {k} done", flush=True)
    for name, said in tally.items():
        n, others = sum(said.values()), {k: v for k, v in said.items() if k != "wave"}
        print(f"{name:27s} wave {said['wave']}/{n} = {said['wave'] / n:.2f}   others: {others}")


if __name__ == "__main__":
    main(sys.argv[1])
