"""Body-pose speed (a section of `actcap bench`): BlazePose per frame on one core, and a 16-frame clip through a
pose model's whole path.

- `pose_track_ms`: the landmark model following the person from the previous frame (what every frame but the first
  costs), at the clips' size (640 × 480 for UTD-MHAD), one LiteRT thread; `pose_detect_ms`: the detector plus the
  landmark model (the first frame, and whenever the person is lost).
- `pose_clip_ms`: `Predictor.predict_frames` on 16 frames with the pose model given (or a pose-only model with random
  weights when the given model has no pose stream): tracking, features, head and judge; the landmarks remembered
  from the previous run of the same frames (pose/tracker.py `estimate_poses`) are forgotten before each.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import numpy as np

from actcap.bench.common import BenchPlan, timed
from actcap.data.video import open_clip


def pose_model(model_dir: Path, tmp: Path) -> Path:
    """`model_dir` if it has a pose stream, else a 5-class pose model with random weights saved under `tmp`."""
    from actcap.features.streams import create_stream
    from actcap.models.recognizer import ModelConfig, Recognizer

    if any(s["name"] == "pose" for s in Recognizer.load(model_dir).config.streams):
        return Path(model_dir)
    stream = create_stream("pose")
    model = Recognizer(ModelConfig(classes=[f"class_{k}" for k in range(5)], streams=[stream.config()],
                                   feature_dim=stream.dim, num_slots=16, head="segments", sampling="dense"))
    return model.save(tmp / "pose-timing")


def bench_pose(model_dir, clips: list[Path], plan: BenchPlan) -> dict:
    from actcap.inference.predictor import Predictor
    from actcap.pose import runtime
    from actcap.pose.detector import detect
    from actcap.pose.landmarks import Roi, estimate
    from actcap.pose.tracker import forget_recent

    frames = open_clip(clips[0]).read_all()  # (T, H, W, 3)
    threads = runtime.threads()
    roi, _ = detect(frames[0])
    if roi is None:  # synthetic clips: no person; time the landmark model on a centred region anyway
        roi = Roi(frames.shape[2] / 2, frames.shape[1] / 2, float(min(frames.shape[1:3])), 0.0)
    state = {"i": 0, "roi": roi}

    def track():
        f = frames[state["i"] % len(frames)]
        state["i"] += 1
        pose = estimate(f, state["roi"])
        state["roi"] = pose.next_roi or roi

    def detect_and_estimate():
        r, _ = detect(frames[0])
        estimate(frames[0], r or roi)

    track_s = timed(track, plan.trials * 5)
    detect_s = timed(detect_and_estimate, plan.trials)
    with tempfile.TemporaryDirectory() as tmp:
        p = Predictor.from_dir(pose_model(Path(model_dir), Path(tmp)))
        clip = frames[np.linspace(0, len(frames) - 1, 16).round().astype(int)]
        clip_s = timed(lambda: forget_recent() or p.predict_frames(clip), plan.trials)
    h, w = frames.shape[1:3]
    return {"pose_frame_size": [int(h), int(w)], "pose_threads": threads,
            "pose_track_ms": round(statistics.median(track_s) * 1000, 1),
            "pose_detect_ms": round(statistics.median(detect_s) * 1000, 1),
            "pose_clip_ms": round(statistics.median(clip_s) * 1000, 1),
            "pose_clip_model": "given" if p.name != "pose-timing" else "pose-only, random weights"}

