"""The BlazePose runtime (actcap/pose/): anchors and regions by their definitions, nobody in blank or noise frames,
a real person's keypoints where the body is, tracking through a whole clip, and parity with MediaPipe itself."""

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from actcap.pose.detector import anchors, detect, letterbox
from actcap.pose.landmarks import ROI_SCALE, Roi, estimate, roi_from_points
from actcap.pose.runtime import MODEL_FILES, model_path
from actcap.pose.tracker import PoseTracker, estimate_poses

GOLDEN = Path(__file__).parent / "golden" / "pose_mediapipe.json"
NOSE, L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST, L_HIP, R_HIP = 0, 11, 12, 13, 14, 15, 16, 23, 24


def read_frames(path: Path) -> np.ndarray:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    return np.stack(frames)  # (T, H, W, 3)


def test_the_models_ship_in_the_package_with_their_licence():
    for kind in MODEL_FILES:
        assert model_path(kind).read_bytes()[4:8] == b"TFL3"  # a TFLite flatbuffer
    notice = (model_path("detector").parent / "NOTICE").read_text()
    assert "Apache License" in notice and "@mediapipe/pose" in notice


def test_anchors_follow_the_ssd_layout():
    a = anchors()
    assert a.shape == (2254, 2)  # 28·28·2 + 14·14·2 + 7·7·6
    np.testing.assert_allclose(a[0], [0.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(a[1], a[0])  # two anchors per cell at stride 8
    np.testing.assert_allclose(a[2], [1.5 / 28, 0.5 / 28])  # then the next column
    np.testing.assert_allclose(a[1568], [0.5 / 14, 0.5 / 14])  # stride 16 starts after 28·28·2
    np.testing.assert_allclose(a[1960:1966], [[0.5 / 7, 0.5 / 7]] * 6)  # six per cell at stride 32
    np.testing.assert_allclose(a[-1], [6.5 / 7, 6.5 / 7])


def test_letterbox_keeps_the_aspect_with_black_borders():
    frame = np.full((480, 640, 3), 255, np.uint8)
    x, (scale, px, py) = letterbox(frame)
    assert x.shape == (1, 224, 224, 3) and (scale, px, py) == (0.35, 0.0, 28.0)
    assert x[0, 27].max() == -1.0 and x[0, 28].min() == 1.0 and x[0, 196].max() == -1.0  # 168 rows of image


def test_region_from_two_points_stands_the_body_upright():
    upright = roi_from_points(np.array([100.0, 200.0]), np.array([100.0, 120.0]))  # head straight above the hips
    assert upright == Roi(100.0, 200.0, 2 * 80 * ROI_SCALE, 0.0)
    lying = roi_from_points(np.array([100.0, 200.0]), np.array([180.0, 200.0]))  # head to the right
    assert lying.rotation == pytest.approx(math.pi / 2) and lying.side == pytest.approx(200.0)
    # the crop's centre pixel is the region's centre, and its top edge points towards the head
    m = lying.to_crop()
    np.testing.assert_allclose(m @ [128, 128, 1], [100, 200])
    np.testing.assert_allclose(m @ [128, 0, 1], [200, 200])


@pytest.mark.parametrize("kind", ["black", "grey", "noise"])
def test_no_person_in_an_empty_frame(kind):
    frame = {"black": np.zeros((480, 640, 3), np.uint8), "grey": np.full((480, 640, 3), 128, np.uint8),
             "noise": np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)}[kind]
    roi, score = detect(frame)
    assert roi is None and score < 0.1
    landmarks, flags = estimate_poses(np.stack([frame, frame]))
    assert landmarks.shape == (2, 33, 4) and not landmarks.any() and flags.tolist() == [0.0, 0.0]


def test_a_real_person_gets_keypoints_where_the_body_is(utd_root):
    frames = read_frames(utd_root / "wave" / "a3_s1_t1_color.avi")
    landmarks, flags = estimate_poses(frames)
    assert flags.min() > 0.9  # the person is there in every frame
    # UTD-MHAD's colour video is mirrored (Kinect): the subject's right hand waves, and BlazePose, which names
    # sides as seen in an unmirrored image, calls it the left; it is on the image's right (x larger)
    up = landmarks[20]  # the hand is raised
    assert up[L_WRIST, 1] < up[L_ELBOW, 1] - 20 and up[L_WRIST, 1] < up[L_SHOULDER, 1] - 20
    assert up[R_WRIST, 1] > up[R_SHOULDER, 1] + 50  # the other hand hangs down
    assert up[L_WRIST, 0] > up[NOSE, 0] + 20
    for p in landmarks[[0, 20, 40]]:
        assert p[R_SHOULDER, 0] < p[NOSE, 0] < p[L_SHOULDER, 0]  # facing the camera
        assert p[R_SHOULDER, 0] < (p[L_HIP, 0] + p[R_HIP, 0]) / 2 < p[L_SHOULDER, 0]
        assert p[NOSE, 1] < p[L_SHOULDER, 1] < p[L_HIP, 1]
        assert 250 < p[NOSE, 0] < 370 and 120 < p[NOSE, 1] < 220  # where the head is in these frames


def test_tracking_follows_the_person_through_a_clip_and_a_pan(utd_root):
    frames = read_frames(utd_root / "throw" / "a5_s3_t1_color.avi")
    tracker = PoseTracker()
    landmarks, flags = estimate_poses(frames, tracker)
    assert flags.min() >= 0.5 and tracker.detections == 1  # found once, then tracked in every frame
    # the same frames shifted right by 2 px more each frame (a panning camera): the keypoints follow the shift
    shifted = np.stack([np.roll(f, 2 * i, axis=1) for i, f in enumerate(frames)])
    moved, flags2 = estimate_poses(shifted)
    assert flags2.min() >= 0.5
    dx = moved[:, :25, 0] - landmarks[:, :25, 0] - 2 * np.arange(len(frames))[:, None]
    assert np.median(np.abs(dx)) < 3.0


def test_mirrored_frame_swaps_left_and_right(utd_root):
    frame = read_frames(utd_root / "wave" / "a3_s1_t1_color.avi")[20]
    roi, _ = detect(frame)
    pose = estimate(frame, roi)
    flipped = frame[:, ::-1].copy()
    roi2, _ = detect(flipped)
    mirrored = estimate(flipped, roi2).landmarks
    w = frame.shape[1]
    # the raised wrist is now the right one, at the mirrored place
    assert abs((w - mirrored[R_WRIST, 0]) - pose.landmarks[L_WRIST, 0]) < 8
    assert abs(mirrored[R_WRIST, 1] - pose.landmarks[L_WRIST, 1]) < 8


def test_keypoints_match_mediapipe_on_real_frames(utd_root):
    """Parity with the reference runtime: MediaPipe 0.10.21's own pose solution (scripts/pose_reference.py
    recorded it). Largest difference measured: 3.6 px on 640 × 480 frames (a heel; the body joints ≤ 3.4 px),
    visibility ≤ 0.07."""
    golden = json.loads(GOLDEN.read_text())["landmarks"]
    worst, worst_vis = 0.0, 0.0
    for key, expected in golden.items():
        clip, index = key.rsplit(":", 1)
        frame = read_frames(utd_root / clip)[int(index)]
        roi, _ = detect(frame)
        got = estimate(frame, roi).landmarks
        ref = np.array(expected)  # (33, 3)
        worst = max(worst, float(np.linalg.norm(got[:, :2] - ref[:, :2], axis=1).max()))
        worst_vis = max(worst_vis, float(np.abs(got[:, 3] - ref[:, 2]).max()))
    assert worst < 6.0 and worst_vis < 0.1, (worst, worst_vis)


def test_the_same_frames_from_a_fresh_tracker_are_looked_at_once(utd_root, monkeypatch):
    import actcap.pose.tracker as tracking

    calls = []
    real = tracking.estimate
    monkeypatch.setattr(tracking, "estimate", lambda frame, roi: calls.append(1) or real(frame, roi))
    frames = read_frames(utd_root / "clap" / "a4_s2_t3_color.avi")[:10]
    first = PoseTracker()
    landmarks, flags = estimate_poses(frames, first)
    assert len(calls) == 10  # the landmark model once per frame
    again = PoseTracker()
    landmarks2, flags2 = estimate_poses(frames, again)
    assert len(calls) == 10  # remembered: the models did not run again
    np.testing.assert_array_equal(landmarks2, landmarks)
    np.testing.assert_array_equal(flags2, flags)
    assert (again.roi, again.detections) == (first.roi, first.detections) == (first.roi, 1)
    estimate_poses(frames, first)  # a tracker that has seen frames looks again, from where it is
    assert len(calls) == 20
    estimate_poses(frames[1:])  # other frames: looked at
    assert len(calls) == 29


def test_building_the_interpreters_prints_nothing_and_loses_nothing_else_said_on_stderr():
    """LiteRT writes "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." on the process's stderr for each
    interpreter; a user of `actcap predict` should see only actcap's own output (runtime.py drops that line and
    passes on the rest, whoever wrote it)."""
    import subprocess
    import sys

    code = ("import os, numpy as np\n"
            "from actcap.pose.runtime import _without_delegate_notice\n"
            "from actcap.pose.tracker import PoseTracker\n"
            "print(PoseTracker()(np.zeros((120, 160, 3), np.uint8))[1])\n"
            "with _without_delegate_notice():\n"
            "    os.write(2, b'INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\n')\n"
            "    os.write(2, b'a warning of its own\\n')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("0.0\n", "a warning of its own\n")
