"""The shared skeleton: layouts map by joint names, mirroring swaps sides, features are body-relative."""

from __future__ import annotations

import numpy as np
import pytest

from actcap.pose.skeleton import (
    BLAZEPOSE_JOINTS,
    FEATURE_DIM,
    JOINTS,
    LAYOUTS,
    camera_to_image,
    features_from_points,
    frame_features,
    map_joints,
    mirror_points,
    normalize,
)

# a standing person in image pixels (y down), canonical order
STANDING = np.array([[100, 20], [80, 50], [120, 50], [75, 80], [125, 80], [72, 110], [128, 110],
                     [90, 120], [110, 120], [90, 160], [110, 160], [90, 200], [110, 200]], np.float32)


def canonical(t: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    xy = STANDING[None] + rng.normal(0, 2, (t, len(JOINTS), 2)).astype(np.float32)
    return np.concatenate([xy, np.ones((t, len(JOINTS), 1), np.float32)], axis=-1)


def in_layout(points: np.ndarray, layout: tuple[str, ...]) -> np.ndarray:
    """Canonical points written into another layout's order (unknown joints filled with 999)."""
    from actcap.pose.skeleton import joint_sources
    out = np.full((points.shape[0], len(layout), points.shape[2]), 999.0, np.float32)
    for j, s in enumerate(joint_sources(layout)):
        if s is not None:
            out[:, s] = points[:, j]
    return out


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_known_layout_maps_by_names(layout):
    points = canonical()
    names = LAYOUTS[layout]
    mapped = map_joints(in_layout(points[..., :2], names), names)
    np.testing.assert_array_equal(mapped[..., :2], points[..., :2])
    np.testing.assert_array_equal(mapped[..., 2], 1.0)


def test_jhmdb_face_is_the_head_and_blazepose_nose_too():
    names = LAYOUTS["jhmdb"]
    pts = np.zeros((1, len(names), 2), np.float32)
    pts[0, names.index("face")] = (5, 6)
    assert map_joints(pts, names)[0, 0, :2].tolist() == [5, 6]
    pts = np.zeros((1, 33, 4), np.float32)
    pts[0, BLAZEPOSE_JOINTS.index("nose")] = (7, 8, 0.1, 0.25)
    out = map_joints(pts, BLAZEPOSE_JOINTS)
    assert out[0, 0].tolist() == [7, 8, 0.25]  # z dropped, visibility is the confidence


def test_names_compare_without_case_or_spaces():
    names = [j.replace("_", " ").title() for j in JOINTS]  # 'Left Shoulder'
    points = canonical()[..., :2]
    np.testing.assert_array_equal(map_joints(points, names)[..., :2], points)


def test_missing_joints_are_named():
    names = [n for n in JOINTS if n not in ("left_knee", "right_ankle")] + ["tail"]
    points = np.zeros((2, len(names), 2), np.float32)
    with pytest.raises(ValueError, match=r"joint layout lacks left_knee, right_ankle \(names given: head,"):
        map_joints(points, names)
    out = map_joints(points, names, allow_missing=True)
    assert out[:, JOINTS.index("left_knee"), 2].tolist() == [0, 0]
    assert out[:, JOINTS.index("left_hip"), 2].tolist() == [1, 1]


def test_bad_shapes_and_channels_are_refused():
    with pytest.raises(ValueError, match="points have 13 joints but 12 joint names"):
        map_joints(np.zeros((1, 13, 2)), JOINTS[:12])
    with pytest.raises(ValueError, match=r"channel 'visible' of joint 'head' is outside \[0, 1\].*camera_to_image"):
        map_joints(np.full((1, 13, 3), 2.5), JOINTS)  # Kinect x, y, z mistaken for x, y, visible
    out = map_joints(np.full((1, 13, 3), 2.5), JOINTS, channels=("x", "y", "z"))
    assert out[0, 0].tolist() == [2.5, 2.5, 1.0]


def test_nan_coordinates_get_zero_confidence():
    points = canonical(2)[..., :2].copy()
    points[1, 3] = np.nan
    out = map_joints(points, JOINTS)
    assert out[1, 3].tolist() == [0, 0, 0] and out[0, 3, 2] == 1


def test_camera_to_image_puts_the_subjects_right_on_the_image_left_and_y_down():
    kinect = np.zeros((1, 3, 3), np.float32)
    kinect[0, 0] = (0.0, 0.5, 2.0)    # head, up
    kinect[0, 1] = (0.2, 0.3, 2.0)    # right shoulder: larger x in Kinect space
    kinect[0, 2] = (0.0, 0.0, 0.0)    # no skeleton
    img = camera_to_image(kinect)
    assert img[0, 0].tolist() == [0.0, -0.25, 1.0]
    assert img[0, 1, 0] < 0 and img[0, 1, 1] < 0
    assert img[0, 2].tolist() == [0, 0, 0]


def test_mirroring_swaps_joints_and_negates_x():
    points = canonical()
    mirrored = mirror_points(points)
    centre = points[..., 0].mean()
    left, right = JOINTS.index("left_wrist"), JOINTS.index("right_wrist")
    np.testing.assert_allclose(mirrored[:, left, 0], 2 * centre - points[:, right, 0], atol=1e-4)
    np.testing.assert_allclose(mirrored[:, left, 1], points[:, right, 1])
    np.testing.assert_allclose(mirrored[:, 0, 0], 2 * centre - points[:, 0, 0], atol=1e-4)
    np.testing.assert_allclose(mirror_points(mirrored), points, atol=1e-4)
    # body-relative features of the mirror = the features with x negated and sides swapped
    rel, rel_m = normalize(points), normalize(mirrored)
    np.testing.assert_allclose(rel_m[:, left, 0], -rel[:, right, 0], atol=1e-5)


def test_normalize_is_invariant_to_translation_and_scale():
    points = canonical(5)
    moved = points.copy()
    moved[..., :2] = points[..., :2] * 3.7 + np.array([250.0, -40.0])
    np.testing.assert_allclose(normalize(moved), normalize(points), atol=1e-5)
    np.testing.assert_allclose(frame_features(moved), frame_features(points), atol=1e-5)
    rel = normalize(points)
    hips = rel[:, [JOINTS.index("left_hip"), JOINTS.index("right_hip")], :2].mean(1)
    np.testing.assert_allclose(hips, 0.0, atol=1e-5)  # origin at the hip centre
    assert np.all(rel[:, 0, 1] < -1.0)  # the head above (y down), more than a torso length


def test_normalize_survives_missing_hips_and_empty_frames():
    points = canonical(3)
    points[1, [7, 8], 2] = 0      # hips lost in frame 1
    points[2, :, 2] = 0           # nobody in frame 2
    rel = normalize(points)
    assert np.isfinite(rel).all()
    assert np.all(rel[2, :, :2] == 0)
    nothing = np.zeros((4, len(JOINTS), 3), np.float32)
    assert np.all(frame_features(nothing) == 0)


def test_frame_features_shape_and_velocities():
    points = canonical(6)
    points[3:, JOINTS.index("right_wrist"), 0] += 30  # the wrist jumps right at frame 3
    features = frame_features(points)
    assert features.shape == (6, FEATURE_DIM) and features.dtype == np.float32 and FEATURE_DIM == 67
    vel = features[:, 26:52].reshape(6, len(JOINTS), 2)
    assert np.all(vel[0] == 0)
    wrist = JOINTS.index("right_wrist")
    assert vel[3, wrist, 0] > 0.3 and abs(vel[4, wrist, 0]) < 0.2
    np.testing.assert_array_equal(features[:, -13:], 1.0)


def test_body_centre_motion_is_a_feature():
    points = canonical(3)
    points[2, :, 0] += 70  # the whole body steps right by a torso length
    centre = frame_features(points)[:, 52:54]
    assert centre[2, 0] == pytest.approx(1.0, abs=0.1) and abs(centre[1, 0]) < 0.1


def test_features_from_points_equals_the_composition():
    names = LAYOUTS["coco17"]
    raw = in_layout(canonical(4), names)
    np.testing.assert_array_equal(features_from_points(raw, names), frame_features(map_joints(raw, names)))


def test_mirror_features_equals_features_of_the_mirrored_points():
    from actcap.pose.skeleton import mirror_features
    points = canonical(5, seed=3)
    points[2:, JOINTS.index("left_wrist"), :2] += (15, -20)
    points[4, :, 0] += 40  # the body moves: the centre's motion is mirrored too
    points[1, JOINTS.index("right_knee"), 2] = 0
    np.testing.assert_allclose(mirror_features(frame_features(points)), frame_features(mirror_points(points)),
                               atol=1e-5)
    with pytest.raises(ValueError, match=r"mirror_features takes \(T, 67\) pose features, got \(5, 66\)"):
        mirror_features(np.zeros((5, 66)))


def test_a_visible_flag_of_0_keeps_the_joint_at_lower_confidence():
    from actcap.pose.skeleton import OCCLUDED
    points = canonical(2)
    points[0, 3, 2] = 0             # occluded but annotated (Penn Action)
    points[1, 4] = (0, 0, 0)        # not annotated at all
    out = map_joints(points, JOINTS)
    assert out[0, 3].tolist() == [*points[0, 3, :2].tolist(), OCCLUDED] and out[1, 4].tolist() == [0, 0, 0]
    scores = map_joints(points, JOINTS, channels=("x", "y", "score"))
    assert scores[0, 3, 2] == 0  # a detector's score of 0 means missing
