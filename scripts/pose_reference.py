"""Record MediaPipe's own keypoints on a few real frames: the reference the LiteRT runtime is checked against.

    python3.11 -m venv /tmp/mp && /tmp/mp/bin/pip install mediapipe==0.10.21 opencv-python-headless
    /tmp/mp/bin/python scripts/pose_reference.py [DATA_DIR]        # rewrites tests/golden/pose_mediapipe.json

MediaPipe's pose solution (static images, full model: the same landmark file actcap ships; its wheel's detector
differs from the npm one actcap ships, so the regions differ slightly) on the frames listed below of the shared
UTD-MHAD clips. tests/test_pose_runtime.py runs actcap's detector + landmark model on the same frames and states
the largest difference. Not part of the package: mediapipe is not a dependency of actcap.
"""

import json
import sys
from pathlib import Path

import cv2
import mediapipe as mp

ROOT = Path(__file__).resolve().parents[1]
FRAMES = {"wave/a3_s1_t1_color.avi": [0, 20, 30], "clap/a4_s5_t2_color.avi": [10, 25],
          "throw/a5_s3_t1_color.avi": [15, 30]}


def read_frame(path: Path, index: int):
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = cap.read()
    if not ok:
        raise SystemExit(f"{path}: frame {index} does not decode")
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "utd-mhad-5"
    out = {"reference": f"mediapipe {mp.__version__} solutions.pose, static_image_mode, model_complexity=1",
           "landmarks": {}}
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1, smooth_landmarks=False) as pose:
        for clip, indices in FRAMES.items():
            for i in indices:
                frame = read_frame(data / clip, i)
                h, w = frame.shape[:2]
                found = pose.process(frame).pose_landmarks
                out["landmarks"][f"{clip}:{i}"] = [[round(p.x * w, 2), round(p.y * h, 2), round(p.visibility, 4)]
                                                   for p in found.landmark]  # (33, 3): x, y pixels, visibility
    lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in out["landmarks"].items()]  # one frame a line
    text = f'{{"reference": {json.dumps(out["reference"])},\n "landmarks": {{\n' + ",\n".join(lines) + "}}\n"
    (ROOT / "tests" / "golden" / "pose_mediapipe.json").write_text(text)


if __name__ == "__main__":
    main()
