"""Does compression change the answers? Held-out people's clips re-encoded as MJPG and as H.264.

    python studies/reencode.py runs/pose-cv          # an `actcap cv --out` folder; data: ../shared/data/utd-mhad-5

Each fold's model answers its held-out subject's clips as filmed, re-encoded as MJPG by OpenCV's `VideoWriter` at
its default quality, and as H.264 by PyAV (libx264, crf 23), all through `Predictor.predict_frames` (the path
uploads take). Printed: right answers for each, and how many answers (state or label) the re-encoding changed.
docs/model-card.md ("Body pose").
"""

import json
import re
import sys
import tempfile
from pathlib import Path

import av
import cv2
import numpy as np

from actcap.data.folders import scan_dataset
from actcap.data.video import open_clip
from actcap.inference.predictor import Predictor

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "utd-mhad-5"


def mjpg(frames: np.ndarray, path: Path) -> np.ndarray:
    """(T, H, W, 3) RGB → written as MJPG at OpenCV's default quality → decoded again."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (frames.shape[2], frames.shape[1]))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    return open_clip(path).read_all()


def h264(frames: np.ndarray, path: Path) -> np.ndarray:
    """(T, H, W, 3) RGB → H.264 (libx264, crf 23, yuv420p) → decoded again."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=15)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": "23"}
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return open_clip(path).read_all()


def main(cv_dir: Path) -> None:
    records = scan_dataset(DATA)
    folds = json.loads((cv_dir / "cv.json").read_text())["folds"]
    right = {"filmed": 0, "mjpg": 0, "h264": 0}
    changed = {"mjpg": 0, "h264": 0}
    tmp = Path(tempfile.mkdtemp())
    n = 0
    for k, fold in enumerate(folds, 1):
        predictor = Predictor.from_dir(cv_dir / f"fold{k}")
        for r in records:
            if re.search(r"_s(\d+)_", r.path.name).group(1) not in fold["val_groups"]:
                continue
            frames = open_clip(r.path).read_all()
            n += 1
            answers = {"filmed": predictor.predict_frames(frames),
                       "mjpg": predictor.predict_frames(mjpg(frames, tmp / "clip.avi")),
                       "h264": predictor.predict_frames(h264(frames, tmp / "clip.mp4"))}
            for key, a in answers.items():
                right[key] += a["state"] == "action" and a["prediction"] == r.label
            first = (answers["filmed"]["state"], answers["filmed"]["prediction"])
            for key in changed:
                changed[key] += (answers[key]["state"], answers[key]["prediction"]) != first
        print(f"fold {k} done", flush=True)
    print(json.dumps({"clips": n, "right": right, "answers_changed": changed}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
