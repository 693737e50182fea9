"""Record, or check, what the shipped model answers on real clips: the proof that a refactor changed nothing.

    python scripts/shipped_predictions.py --out answers.json [DATA]      # record
    python scripts/shipped_predictions.py --check answers.json [DATA]    # compare; exit 1 on any difference

DATA defaults to ../shared/data/utd-mhad-5. Every clip goes through each inference path a user reaches:
a video file (`actcap predict`), its decoded frames (`POST /predict` with frames[]), and, for every fourth
clip, the timeline and the live stream; the clips also go through `evaluate`. Timings are left out; labels,
states, captions, warnings, counts and every other non-float must match exactly. Floats (probabilities, scores,
times) match within FLOAT_TOLERANCE: another CPU of the same kind sums in another order and moves the last bits
(issue 19: a timeline confidence 0.6321146314654184 → 0.6321146220507435), and a value rounded to 4 decimals may
land one step away; a real change of behaviour (a confidence off by 0.01) is 50 times wider.
tests/test_shipped_predictions.py runs the check against tests/golden/shipped_predictions.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "utd-mhad-5"
# abs: one step of the 4-decimal rounding the answers carry, with room for the value to sit on a rounding edge;
# rel: scores and times far from 0 (open-set distances, segment ends in seconds) move by their own last bits
FLOAT_TOLERANCE = {"abs_tol": 2e-4, "rel_tol": 1e-6}


def _clean(out: dict) -> dict:
    return {k: v for k, v in out.items() if k != "timing_ms"}


def answers(data: Path, every: int = 1) -> dict:
    """Every answer of the shipped model on the clips under `data` (one in `every`)."""
    import numpy as np

    from actcap.data.folders import scan_dataset
    from actcap.data.video import open_clip
    from actcap.inference.predictor import Predictor, resolve_model_dir
    from actcap.models.recognizer import Recognizer
    from actcap.training.evaluate import evaluate

    predictor = Predictor.load(None)
    closed = Predictor.load(None, open_set=False)
    everything = scan_dataset(data)
    records = everything[::every]
    out: dict = {"clips": {}, "timeline": {}, "live": {}}
    for i, r in enumerate(everything):
        if i % every:
            continue
        name = f"{r.label}/{r.path.name}"
        clip = open_clip(r.path)
        frames = np.stack(list(clip.iter_frames()))
        out["clips"][name] = {"file": _clean(predictor.predict_paths([r.path])),
                              "frames": _clean(predictor.predict_frames(frames)),
                              "closed": _clean(closed.predict_paths([r.path]))}
        if i % 4 == 0:
            out["timeline"][name] = _clean(predictor.predict_timeline(open_clip(r.path), window=1.0, stride=0.4))
            live, steps = predictor.new_stream(), []
            for a in range(0, len(frames), 8):
                live.push_many(list(frames[a:a + 8]))
                steps.append(_clean(live.predict()))
            out["live"][name] = steps
    with tempfile.TemporaryDirectory() as cache:
        metrics = evaluate(Recognizer.load(resolve_model_dir(None)), records, cache_dir=Path(cache), progress=False)
    out["evaluate"] = {f"{p['label']}/{Path(p['clip']).name}": p["predicted"] for p in metrics["predictions"]}
    if every == 1:  # figures over the whole set
        out["evaluate_all"] = {k: metrics[k] for k in ("top1", "top5", "mean_class_accuracy", "num_clips",
                                                       "per_class", "confusion", "calibration") if k in metrics}
    return json.loads(json.dumps(out))  # as it reads back from disk


def differences(expected, found, where: str = "", partial: bool = False) -> list[str]:
    """Every place two JSON values differ, as 'path: expected → found'; `partial`: `found` answers for some
    of the clips only (--every), so the top two levels compare only what it holds."""
    if isinstance(expected, dict) and isinstance(found, dict):
        out = [] if partial else [f"{where}/{k}: missing" for k in expected if k not in found]
        out += [f"{where}/{k}: new" for k in found if k not in expected]
        if partial:
            return out + [d for k in expected.keys() & found.keys()
                          for d in differences(expected[k], found[k], f"{where}/{k}", partial=where == "")]

        for k in expected.keys() & found.keys():
            out += differences(expected[k], found[k], f"{where}/{k}")
        return out
    if isinstance(expected, list) and isinstance(found, list) and len(expected) == len(found):
        return [d for i, (a, b) in enumerate(zip(expected, found)) for d in differences(a, b, f"{where}[{i}]")]
    if _is_float_pair(expected, found) and math.isclose(expected, found, **FLOAT_TOLERANCE):
        return []
    return [] if expected == found and type(expected) is type(found) else [f"{where}: {expected!r} → {found!r}"]


def _is_float_pair(a, b) -> bool:
    """Both numbers and at least one a float (JSON writes 1.0 as 1.0, but a float may round to an int-valued
    one); booleans and int counts are never floats here."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
    return numbers and (isinstance(a, float) or isinstance(b, float))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--out", type=Path, help="record the answers to this JSON file")
    g.add_argument("--check", type=Path, help="compare the answers with this JSON file")
    p.add_argument("--every", type=int, default=1, help="use one clip in EVERY (default: all)")
    args = p.parse_args(argv)
    found = answers(args.data, args.every)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
        print(f"recorded {len(found['clips'])} clips to {args.out}")
        return 0
    diffs = differences(json.loads(args.check.read_text()), found, partial=args.every > 1)
    print("\n".join(diffs[:50]) if diffs else f"identical: {len(found['clips'])} clips, every path")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
