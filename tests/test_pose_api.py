"""Keypoints in answers when asked: `pose=true` on POST /predict and `actcap predict --pose` (docs/api.md)."""

import json

import numpy as np
from serve_fixtures import encode, frame_files, moving_frames
from test_pose_runtime import read_frames

from actcap.cli import main
from actcap.pose.skeleton import JOINTS


def test_predict_answers_without_pose_unless_asked(client):
    files = frame_files(moving_frames(8, seed=1))
    assert "pose" not in client.post("/predict", files=files).json()
    out = client.post("/predict", files=files, data={"pose": "true"}).json()
    pose = out["pose"]
    assert pose["joints"] == list(JOINTS) and pose["frames"] == list(range(8))  # the tiny model reads all 8
    assert np.array(pose["points"]).shape == (8, 13, 3) and not np.array(pose["points"]).any()  # nobody there


def test_pose_of_a_real_person_in_uploaded_frames(client, utd_root):
    frames = read_frames(utd_root / "wave" / "a3_s1_t1_color.avi")[12:20]
    out = client.post("/predict", files=frame_files(frames, fmt="JPEG"), data={"pose": "1"}).json()
    points = np.array(out["pose"]["points"])  # (8, 13, 3) fractions of the frame
    head, l_shoulder, r_shoulder, l_hip = (points[:, JOINTS.index(j)] for j in
                                           ("head", "left_shoulder", "right_shoulder", "left_hip"))
    assert points[..., 2].min() > 0.5 and points[..., :2].max() <= 1.0
    assert (0.4 < head[:, 0]).all() and (head[:, 0] < 0.6).all() and (head[:, 1] < l_shoulder[:, 1]).all()
    assert (r_shoulder[:, 0] < l_shoulder[:, 0]).all() and (l_shoulder[:, 1] < l_hip[:, 1]).all()


def test_cli_predict_pose(utd_root, capsys):
    clip = utd_root / "clap" / "a4_s5_t2_color.avi"
    assert main(["predict", str(clip), "--pose"]) == 0
    out = json.loads(capsys.readouterr().out)
    pose = out["pose"]
    assert len(pose["frames"]) == out["frames_used"] == len(pose["points"])
    assert pose["frames"] == sorted(pose["frames"]) and np.array(pose["points"])[..., 2].min() > 0.5


def test_live_updates_carry_the_newest_frames_keypoints_when_asked(make_client, utd_root):
    # stream_queue 32: nothing dropped, as in test_stream (at the default 4, frames sent while the first batch's pose
    # ran were dropped as stale, the second update never came and the stream closed idle: a flaky test)
    client = make_client(stream_every=3, stream_interval_ms=1e6, stream_min_interval_ms=0, stream_queue=32)
    frames = read_frames(utd_root / "wave" / "a3_s1_t1_color.avi")[18:24]
    with client.websocket_connect("/stream?pose=true") as ws:
        ws.receive_json()
        for f in frames:
            ws.send_bytes(encode(f, "JPEG"))
        updates = [ws.receive_json() for _ in range(2)]
    assert [u["pose"]["frames"] for u in updates] == [[2], [5]]  # the newest frame of each update
    points = np.array(updates[-1]["pose"]["points"][0])  # (13, 3)
    assert points[:, 2].min() > 0.5 and points[JOINTS.index("left_wrist"), 1] < points[JOINTS.index("left_shoulder"), 1]
    with client.websocket_connect("/stream") as ws:  # not asked: no keypoints
        ws.receive_json()
        for f in frames[:3]:
            ws.send_bytes(encode(f, "JPEG"))
        assert "pose" not in ws.receive_json()
    with client.websocket_connect("/stream?pose=maybe") as ws:
        assert ws.receive_json() == {"type": "error", "detail": "pose must be true or false; got 'maybe'"}


def test_an_uploads_keypoints_reuse_the_pose_models_look(make_client, utd_root, monkeypatch):
    """The shipped model is a pose model: `pose=true` on an upload must not run the landmark model a second time
    over the frames the model has just followed the person through."""
    import actcap.pose.tracker as tracking
    from actcap.inference.predictor import DEFAULT_MODEL

    calls = []
    real = tracking.estimate
    monkeypatch.setattr(tracking, "estimate", lambda frame, roi: calls.append(1) or real(frame, roi))
    client = make_client(model=DEFAULT_MODEL)
    clip = utd_root / "wave" / "a3_s4_t2_color.avi"
    out = client.post("/predict", files={"video": (clip.name, clip.read_bytes())}, data={"pose": "true"}).json()
    assert out["prediction"] == "wave" and len(out["pose"]["frames"]) == out["frames_used"]
    assert len(calls) == out["frames_used"]  # once per frame the model read, not twice
