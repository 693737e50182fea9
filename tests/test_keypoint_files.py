"""Keypoint files: the reader refuses malformed files naming file and field; clips become records, splits and
pose features; `actcap train --data FILE.npz` learns a synthetic motion end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SHARED_DATA
from keypoint_fixtures import keypoint_arrays, write_keypoints

from actcap.data.keypoints import KeypointFileError, keypoint_records, official_split, read_keypoints
from actcap.data.splits import resolve_split
from actcap.pose.skeleton import FEATURE_DIM, JOINTS

SHARED = SHARED_DATA / "keypoints"


def refused(tmp_path, **changes) -> str:
    path = write_keypoints(tmp_path / "bad.npz", **changes)
    with pytest.raises(KeypointFileError) as e:
        read_keypoints(path)
    assert str(path) in str(e.value)
    return str(e.value)


def test_a_valid_file_reads(tmp_path):
    kset = read_keypoints(write_keypoints(tmp_path / "ok.npz"))
    assert len(kset) == 16 and kset.classes == ["reach_left", "reach_right"]
    assert kset.canonical(0).shape == (len(kset.clip_points(0)), len(JOINTS), 3)


def test_missing_fields_are_named(tmp_path):
    text = refused(tmp_path, offsets=None, label=None)
    assert "missing field `offsets` (int (clips + 1)" in text and "missing field `label`" in text


def test_wrong_dtypes_are_named(tmp_path):
    a = keypoint_arrays()
    text = refused(tmp_path, points=a["points"].astype(np.int32), classes=np.array([1, 2]))
    assert "field `points` has dtype int32; expected float" in text
    assert "field `classes` has dtype int64; expected str" in text


@pytest.mark.parametrize("change, message", [
    (lambda o: o[:-1], "field `offsets` runs from 0 to"),
    (lambda o: np.concatenate([o[:-1], [o[-1] + 5]]), "offsets out of range"),
    (lambda o: np.concatenate([o[:3], [o[2]], o[4:]]), "field `offsets` is not increasing at clip 2"),
])
def test_bad_offsets_are_refused(tmp_path, change, message):
    assert message in refused(tmp_path, offsets=change(keypoint_arrays()["offsets"]))


def test_nan_points_are_refused_with_where(tmp_path):
    a = keypoint_arrays()
    pts = a["points"].copy()
    pts[a["offsets"][3] + 2, 5, 0] = np.nan
    assert ("field `points` has 1 NaN or infinite values (first: clip 3, frame "
            f"{a['offsets'][3] + 2}, joint left_wrist)") in refused(tmp_path, points=pts)


def test_joint_and_channel_mismatches_are_refused(tmp_path):
    assert "field `joints` names 12 joints but `points` has 13" in refused(
        tmp_path, joints=np.array(JOINTS[:12]))
    assert "field `channels` names 2 channels but `points` has 3" in refused(tmp_path, channels=np.array(["x", "y"]))
    names = np.array([j if j != "left_knee" else "knee_l" for j in JOINTS])
    assert "field `joints` lacks left_knee" in refused(tmp_path, joints=names)


def test_labels_and_splits_are_checked(tmp_path):
    assert "field `label` has values 0..7; expected 0..1" in refused(
        tmp_path, label=np.arange(16, dtype=np.int16) % 8)
    assert "field `split` has values other than 0" in refused(tmp_path, split=np.full((16, 1), 3, np.int8))
    assert "cannot be read as a keypoint .npz" in refused_text(tmp_path)


def refused_text(tmp_path) -> str:
    path = tmp_path / "junk.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(KeypointFileError) as e:
        read_keypoints(path)
    return str(e.value)


def test_records_splits_and_groups(tmp_path):
    path = write_keypoints(tmp_path / "ok.npz")
    records = keypoint_records(path)
    assert records[0].path.name == "ok.npz::c000" and records[0].name == "s1_c000"
    split = official_split(records, "npz:official")
    assert (len(split.train), len(split.val)) == (12, 4)
    assert {r.name.split("_")[0] for r in split.val} == {"s4"}
    same = resolve_split(records, split="npz:official")
    assert [r.name for r in same.val] == [r.name for r in split.val]
    by_person = resolve_split(records, group_by=r"^s(\d+)_", val_groups="2")
    assert {r.name[:2] for r in by_person.val} == {"s2"} and len(by_person.train) == 12
    with pytest.raises(KeypointFileError, match="no official split 'split9'; splits stored: npz:official"):
        official_split(records, "npz:split9")
    with pytest.raises(KeypointFileError, match="`--classes` names not found: jump"):
        keypoint_records(path, ["jump"])


def test_clips_give_pose_features_without_video(tmp_path, pose_stream):
    from actcap.features.cache import FeatureCache
    from actcap.features.streams import create_stream

    path = write_keypoints(tmp_path / "ok.npz")
    records = keypoint_records(path)
    cache = FeatureCache(tmp_path / "cache", [create_stream("pose")], cache_frames=16)
    found, skipped = cache.extract([r.path for r in records[:3]], progress=False)
    assert skipped == []
    n = read_keypoints(path).offsets[1]
    f = found[records[0].path]
    assert f.features.shape == (min(n, 16), FEATURE_DIM) and f.num_source_frames == n
    flow = FeatureCache(tmp_path / "cache", [create_stream("flow")], cache_frames=16)
    with pytest.raises(ValueError, match="give `pose` stream features only, not flow; train on it with"):
        flow.extract([records[0].path], progress=False)


def test_train_and_evaluate_on_a_keypoint_file(tmp_path, pose_stream, capsys):
    """Which way the right wrist moves is all that separates the classes; the person stands anywhere."""
    from actcap.cli import main

    path = write_keypoints(tmp_path / "reach.npz")
    out = tmp_path / "run"
    assert main(["train", "--data", str(path), "--split", "npz:official", "--head", "mean", "--frames", "8",
                 "--cache-frames", "16", "--epochs", "15", "--lr", "3e-3", "--augment", "--no-progress",
                 "--cache-dir", str(tmp_path / "cache"), "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["classes"] == ["reach_left", "reach_right"] and config["streams"][0]["name"] == "pose"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["validation"]["num_clips"] == 4 and metrics["validation"]["top1"] == 1.0
    assert config["calibration"]["temperature"] > 0 and config["train"]["augment"] is True
    capsys.readouterr()
    assert main(["evaluate", "--model", str(out), "--data", str(path), "--split", "npz:official", "--no-progress",
                 "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "eval")]) == 0
    ev = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert ev["num_clips"] == 4 and ev["top1"] == 1.0


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared keypoint data absent")
@pytest.mark.parametrize("name, clips, classes", [("jhmdb", 804, 21), ("penn_action", 2326, 15),
                                                  ("utd_mhad_skeleton", 646, 27), ("utkinect", 199, 10),
                                                  ("msr_action3d", 567, 20)])
def test_the_shared_keypoint_files_read(name, clips, classes):
    kset = read_keypoints(SHARED / f"{name}.npz")
    assert len(kset) == clips and len(kset.classes) == classes
    points = kset.canonical(0)
    assert points.shape[1:] == (len(JOINTS), 3) and np.isfinite(points).all()
    head, ankle = points[:, 0, 1].mean(), points[:, JOINTS.index("left_ankle"), 1].mean()
    assert head < ankle  # y points down in every source, Kinect's projected ones included


def test_save_keypoints_round_trips_an_openpose_layout(tmp_path):
    from actcap.data.keypoints import save_keypoints
    from actcap.pose.skeleton import LAYOUTS, map_joints

    body25 = LAYOUTS["openpose_body25"]
    rng = np.random.default_rng(1)
    clips = [rng.uniform(0, 1, (t, len(body25), 3)).astype(np.float32) for t in (5, 9)]
    kset = save_keypoints(tmp_path / "mine.npz", clips, ["wave", "clap"], body25, ("x", "y", "c"),
                          subjects=[1, 2], clip_ids=["take1", "take2"])
    assert kset.classes == ["clap", "wave"] and kset.labels.tolist() == [1, 0]
    np.testing.assert_array_equal(kset.clip_points(1), clips[1])
    wrist = body25.index("RWrist")
    np.testing.assert_array_equal(kset.canonical(0)[:, JOINTS.index("right_wrist")], clips[0][:, wrist])
    np.testing.assert_array_equal(kset.canonical(0), map_joints(clips[0], body25, ("x", "y", "c")))
    assert [r.name for r in keypoint_records(tmp_path / "mine.npz")] == ["s1_take1", "s2_take2"]
