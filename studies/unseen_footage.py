"""What the shipped model (or any model) says about real footage it was never taught: whole clips and timelines.

    python studies/unseen_footage.py CLIP [CLIP ...] [--model RUN_DIR]

For each clip: the whole-clip answer (state, best label, confidence, open-set score against the model's
threshold) and its timeline (`actcap predict --timeline`: 3 s windows every 0.5 s), as the share of the clip's
duration narrated `action`, `unknown` and `idle`. Nothing the model knows should be said about footage of
other actions: the honest answers are `unknown` or `idle`. docs/model-card.md ("Footage of other actions") lists
the clips measured and where they come from (Debian's opencv-doc package: pedestrians, an animated film, a hand
moving objects, faces, a tree).
"""

import argparse
import logging

from actcap.data.video import open_clip
from actcap.inference.predictor import Predictor


def shares(segments: list[dict], total: float) -> dict[str, float]:
    out = {"action": 0.0, "unknown": 0.0, "idle": 0.0}
    for s in segments:
        out[s["state"]] += (s["end"] - s["start"]) / total
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="+")
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    predictor = Predictor.load(args.model)
    threshold = predictor.judge.threshold
    print(f"model {predictor.name}; clip threshold {threshold}")
    print(f"{'clip':28s} {'frames':>6s} {'state':8s} {'label':12s} {'conf':>5s} {'score':>6s} | timeline share "
          f"action / unknown / idle")
    for path in args.clips:
        try:
            clip = open_clip(path)
            whole = predictor.predict_clip(clip)
            timeline = predictor.predict_timeline(open_clip(path))
        except Exception as e:  # a bench reports every clip; the reason is the answer
            print(f"{path.rsplit('/', 1)[-1]:28s} refused: {e}")
            continue
        total = max(s["end"] for s in timeline["segments"]) if timeline["segments"] else 1.0
        sh = shares(timeline["segments"], total)
        print(f"{path.rsplit('/', 1)[-1]:28s} {len(clip):6d} {whole['state']:8s} {whole['prediction']:12s} "
              f"{whole['confidence']:5.2f} {whole['open_set_score']:6.3f} | "
              f"{sh['action']:.2f} / {sh['unknown']:.2f} / {sh['idle']:.2f}  {timeline['narrative']}", flush=True)


if __name__ == "__main__":
    main()
