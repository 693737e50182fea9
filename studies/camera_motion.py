"""Does a moving camera hide the action? Held-out people's clips re-filmed by a synthetic pan, tilt or shake.

    python studies/camera_motion.py ../shared/data/utd-mhad-5 runs/default-model-cv [FOLDS]

FOLDS (e.g. 1,2): only those folds, to share the work between processes; their tallies add up.

For every fold of an `actcap cv --out` folder (fold1 … foldN, each trained without the subject it validates on),
each of the held-out subject's clips is predicted as filmed, then cropped to 90% and the crop window moved every
frame — not at all, a pan of 0.5 / 1 / 2 pixels per frame (of a 640-pixel-wide frame), a tilt of 1 pixel per
frame, a hand shake of up to ±3 pixels — or zoomed in from the whole frame to an 80% crop over the clip, and
predicted (`Predictor.predict_frames`, the path uploads take).
Printed per kind of motion: right actions, unknowns, wrong actions, idles. docs/model-card.md ("Camera motion").

POSE_CACHE=DIR keeps the pose stream's landmarks of every re-filmed clip in DIR (keyed by the frames' bytes), so a
second pose model on the same clips reads them instead of running BlazePose again (the heads differ, the frames not).
"""

import hashlib
import json
import os
import re
import sys
from pathlib import Path

import cv2
import numpy as np

from actcap.data.folders import scan_dataset
from actcap.data.video import open_clip
from actcap.inference.predictor import Predictor

MOTIONS = {
    "as filmed (no crop)": None,
    "still camera (crop only)": lambda t, rng: np.zeros((t, 2)),
    "pan 0.5 px/frame": lambda t, rng: np.stack([0.5 * (np.arange(t) - t / 2), np.zeros(t)], 1),
    "pan 1 px/frame": lambda t, rng: np.stack([1.0 * (np.arange(t) - t / 2), np.zeros(t)], 1),
    "pan 2 px/frame": lambda t, rng: np.stack([2.0 * (np.arange(t) - t / 2), np.zeros(t)], 1),
    "tilt 1 px/frame": lambda t, rng: np.stack([np.zeros(t), 1.0 * (np.arange(t) - t / 2)], 1),
    "shake up to ±3 px": lambda t, rng: rng.uniform(-3, 3, (t, 2)),
    "zoom 100% → 80%": lambda t, rng: np.zeros((t, 2)),
}
ZOOMS = {"zoom 100% → 80%": lambda t: np.linspace(1.0, 0.8, t)}
"""Motions whose crop changes size frame by frame (the others keep the 90% crop)."""


def refilm(frames: np.ndarray, offsets: np.ndarray, zoom: float | np.ndarray = 0.9) -> np.ndarray:
    """(T, H, W, 3) → the same size, seen through a `zoom` crop (a fraction, or one per frame) whose centre moves
    by `offsets` (T, 2) pixels."""
    t, h, w = frames.shape[:3]
    out = np.empty_like(frames)
    zooms = np.broadcast_to(np.asarray(zoom, np.float64), (t,))
    for i, ((dx, dy), zoom) in enumerate(zip(offsets, zooms)):
        m = np.array([[1 / zoom, 0, -(w / zoom - w) / 2 - dx / zoom], [0, 1 / zoom, -(h / zoom - h) / 2 - dy / zoom]])
        out[i] = cv2.warpAffine(frames[i], m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out


def cache_landmarks(folder: str) -> None:
    """Make the pose stream read and write each clip's landmarks in `folder` (see the module's POSE_CACHE)."""
    from actcap.features.streams.pose import PoseStream

    compute = PoseStream.landmarks
    Path(folder).mkdir(parents=True, exist_ok=True)

    def landmarks(self, frames, previous=None):
        if previous is not None:
            return compute(self, frames, previous)
        path = Path(folder) / (hashlib.sha1(np.ascontiguousarray(frames).tobytes()).hexdigest() + ".npy")
        if path.exists():
            return np.load(path)
        out = compute(self, frames)
        np.save(path, out)
        return out

    PoseStream.landmarks = landmarks


def main(data: str, cv_dir: str, only: str | None = None) -> None:
    records = scan_dataset(data)
    folds = json.loads((Path(cv_dir) / "cv.json").read_text())["folds"]
    tally = {k: [0, 0, 0, 0] for k in MOTIONS}  # right, unknown, wrong, idle
    rng = np.random.default_rng(0)
    n = 0
    for k, fold in enumerate(folds, 1):
        if only and str(k) not in only.split(","):
            continue
        predictor = Predictor.from_dir(Path(cv_dir) / f"fold{k}")
        for r in records:
            if re.search(r"_s(\d+)_", r.path.name).group(1) not in fold["val_groups"]:
                continue
            frames = open_clip(r.path).read_all()
            n += 1
            for name, motion in MOTIONS.items():
                if motion is None:
                    a = predictor.predict_frames(frames)
                else:
                    zoom = ZOOMS[name](len(frames)) if name in ZOOMS else 0.9
                    a = predictor.predict_frames(refilm(frames, motion(len(frames), rng), zoom))
                tally[name][0] += a["state"] == "action" and a["prediction"] == r.label
                tally[name][1] += a["state"] == "unknown"
                tally[name][2] += a["state"] == "action" and a["prediction"] != r.label
                tally[name][3] += a["state"] == "idle"
        print(f"fold {k} done", flush=True)
    for name, (right, unknown, wrong, idle) in tally.items():
        print(f"{name:26s} right {right}/{n}  unknown {unknown}/{n}  wrong {wrong}/{n}  idle {idle}/{n}")


if __name__ == "__main__":
    if os.environ.get("POSE_CACHE"):
        cache_landmarks(os.environ["POSE_CACHE"])
    main(*sys.argv[1:4])
