"""Kinect-to-BlazePose proportions: bones take the given lengths, keep their directions, and the hips stay put."""

import numpy as np
from keypoint_fixtures import STANDING

from actcap.pose.bridge import bone_lengths, to_blazepose_proportions
from actcap.pose.skeleton import JOINTS


def standing(t=3):
    pts = np.repeat(STANDING[None], t, 0).astype(np.float32)
    return np.concatenate([pts, np.ones((t, len(JOINTS), 1), np.float32)], -1)


def test_bones_take_the_given_lengths_and_keep_directions():
    points = standing()
    before = bone_lengths(points)
    assert before["shoulder_centre"] == 1.0 and abs(before["left_knee"] - 40 / 70) < 1e-6
    target = {**before, "left_knee": 0.9, "head": 0.2}
    out = to_blazepose_proportions(points, target)
    after = bone_lengths(out)
    assert abs(after["left_knee"] - 0.9) < 1e-5 and abs(after["head"] - 0.2) < 1e-5
    knee, hip, ankle = (JOINTS.index(j) for j in ("left_knee", "left_hip", "left_ankle"))
    np.testing.assert_allclose(out[:, hip], points[:, hip])  # the hips stay where they were
    assert np.allclose(out[:, knee, 0], points[:, knee, 0]) and out[0, knee, 1] > points[0, knee, 1]  # straight down
    np.testing.assert_allclose(out[:, ankle, 1] - out[:, knee, 1], points[:, ankle, 1] - points[:, knee, 1],
                               atol=1e-4)  # the shin kept its length, moved down with the knee


def test_missing_joints_and_no_lengths_change_nothing():
    points = standing()
    np.testing.assert_array_equal(to_blazepose_proportions(points, {}), points)
    points[1, JOINTS.index("left_elbow"), 2] = 0
    out = to_blazepose_proportions(points, {"left_elbow": 0.1, "left_wrist": 0.5})
    np.testing.assert_array_equal(out[1, JOINTS.index("left_elbow")], points[1, JOINTS.index("left_elbow")])
    assert out[0, JOINTS.index("left_elbow"), 2] == 1 and out[1, JOINTS.index("left_elbow"), 2] == 0


def test_kinect_clips_reach_training_with_blazepose_proportions(tmp_path):
    """A file with a z channel (Kinect) is bridged; its bones come out at BLAZEPOSE_BONES."""
    from actcap.data.keypoints import save_keypoints
    from actcap.features.keypoints import clip_points
    from actcap.pose.bridge import BLAZEPOSE_BONES

    rng = np.random.default_rng(0)
    pixels = standing(4)[..., :2] + rng.normal(0, 3, (4, len(JOINTS), 2))
    kinect = np.concatenate([(pixels - 100) / -200, np.full((4, len(JOINTS), 1), 2.5)], -1)  # metres, y up
    kset = save_keypoints(tmp_path / "k.npz", [kinect.astype(np.float32)], ["wave"], JOINTS, ("x", "y", "z"))
    lengths = bone_lengths(clip_points(kset, 0))
    assert {k: round(v, 3) for k, v in lengths.items()} == BLAZEPOSE_BONES


def test_one_factor_per_clip_keeps_foreshortening():
    """A forearm turned towards the camera in 2 of 5 frames (image length halved) stays half as long as in the
    other frames; its median takes the target. The per-frame bridge draws it full length in every frame."""
    points = standing(5)
    elbow, wrist = JOINTS.index("left_elbow"), JOINTS.index("left_wrist")
    points[3:, wrist, :2] = (points[3:, wrist, :2] + points[3:, elbow, :2]) / 2

    def forearm(p):  # (T,) in torso lengths (the standing torso is 70 px and does not change)
        return np.linalg.norm(p[:, wrist, :2] - p[:, elbow, :2], axis=-1) / 70

    out = to_blazepose_proportions(points, {"left_wrist": 0.6})
    np.testing.assert_allclose(forearm(out), [0.6, 0.6, 0.6, 0.3, 0.3], atol=1e-5)
    assert abs(bone_lengths(out)["left_wrist"] - 0.6) < 1e-5
    np.testing.assert_allclose(forearm(to_blazepose_proportions(points, {"left_wrist": 0.6}, per_frame=True)),
                               [0.6] * 5, atol=1e-5)
