"""One skeleton for every source of body keypoints: the pose stream (BlazePose on video) and keypoint datasets
(annotated 2D joints, Kinect 3D joints) end up in the same 13 joints and the same per-frame features, so a model
trained on one can be applied to the other (docs/data-formats.md, "Keypoints"; the contract between the two is
notes' SKELETON-CONTRACT).

Layouts are matched by joint names, never by position: `map_joints(points, names)` looks every canonical joint up
in `names` (the canonical name itself first, then its aliases), so any source whose names cover the 13 joints
maps, and one that does not is refused with the joints it lacks. Coordinates are image-like everywhere: x right,
y down; 3D camera-space joints (Kinect, y up) are projected first with `camera_to_image`.

    points (T, J, C) + names ──map_joints──► (T, 13, 3) x, y, confidence ──frame_features──► (T, FEATURE_DIM)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

JOINTS: tuple[str, ...] = (
    "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
"""The canonical joints, in feature order: the 13 every source in the keypoint datasets and BlazePose has."""

BLAZEPOSE_JOINTS: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
"""MediaPipe BlazePose's 33 landmarks in the model's output order."""

ALIASES: dict[str, str] = {
    # head: BlazePose / COCO (MMPose) / OpenPose name the nose, JHMDB the face; Kinect and Penn say head
    "nose": "head", "face": "head", "head_top": "head", "headtop": "head",
    # OpenPose BODY_25 / COCO-18 spell sides with one letter (RShoulder → rshoulder after name_key)
    "rshoulder": "right_shoulder", "lshoulder": "left_shoulder", "relbow": "right_elbow", "lelbow": "left_elbow",
    "rwrist": "right_wrist", "lwrist": "left_wrist", "rhip": "right_hip", "lhip": "left_hip",
    "rknee": "right_knee", "lknee": "left_knee", "rankle": "right_ankle", "lankle": "left_ankle",
    "r_shoulder": "right_shoulder", "l_shoulder": "left_shoulder", "r_elbow": "right_elbow", "l_elbow": "left_elbow",
    "r_wrist": "right_wrist", "l_wrist": "left_wrist", "r_hip": "right_hip", "l_hip": "left_hip",
    "r_knee": "right_knee", "l_knee": "left_knee", "r_ankle": "right_ankle", "l_ankle": "left_ankle",
    # Kinect v2 and some exports call the shoulders/hips by other words
    "shoulder_left": "left_shoulder", "shoulder_right": "right_shoulder", "elbow_left": "left_elbow",
    "elbow_right": "right_elbow", "wrist_left": "left_wrist", "wrist_right": "right_wrist",
    "hip_left": "left_hip", "hip_right": "right_hip", "knee_left": "left_knee", "knee_right": "right_knee",
    "ankle_left": "left_ankle", "ankle_right": "right_ankle",
}
"""Source joint name (after `name_key`) → canonical joint. Canonical names map to themselves without an entry."""

LAYOUTS: dict[str, tuple[str, ...]] = {
    "blazepose": BLAZEPOSE_JOINTS,
    "jhmdb": ("neck", "belly", "face", "right_shoulder", "left_shoulder", "right_hip", "left_hip", "right_elbow",
              "left_elbow", "right_knee", "left_knee", "right_wrist", "left_wrist", "right_ankle", "left_ankle"),
    "penn_action": JOINTS,
    "kinect_v1": ("hip_center", "spine", "shoulder_center", "head", "left_shoulder", "left_elbow", "left_wrist",
                  "left_hand", "right_shoulder", "right_elbow", "right_wrist", "right_hand", "left_hip", "left_knee",
                  "left_ankle", "left_foot", "right_hip", "right_knee", "right_ankle", "right_foot"),
    "utd_mhad": ("head", "shoulder_center", "spine", "hip_center", "left_shoulder", "left_elbow", "left_wrist",
                 "left_hand", "right_shoulder", "right_elbow", "right_wrist", "right_hand", "left_hip", "left_knee",
                 "left_ankle", "left_foot", "right_hip", "right_knee", "right_ankle", "right_foot"),
    "msr_action3d": ("left_shoulder", "right_shoulder", "shoulder_center", "spine", "left_hip", "right_hip",
                     "hip_center", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand",
                     "right_hand", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_foot", "right_foot",
                     "head"),
    "coco17": ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
               "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
               "right_knee", "left_ankle", "right_ankle"),
    "openpose_body25": ("Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip",
                        "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
                        "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel"),
}
"""Joint orders of known sources (the keypoint datasets, BlazePose, MMPose's COCO-17, OpenPose BODY_25), for
converters and docs; `map_joints` needs only the names, so any other order works too."""

CONFIDENCE_CHANNELS = ("visible", "visibility", "confidence", "score", "c")
OCCLUDED = 0.5
"""Confidence of a joint whose `visible` flag is 0 (Penn Action's occluded joints keep their annotated positions,
as BlazePose still places joints it cannot see); `visibility`, `confidence`, `score` and `c` are taken as given,
0 meaning missing."""
COORD_CHANNELS = ("x", "y", "z")
_DEFAULT_CHANNELS = {2: ("x", "y"), 3: ("x", "y", "visible"), 4: ("x", "y", "z", "visibility")}
_MIRROR = [JOINTS.index(j.replace("left_", "#").replace("right_", "left_").replace("#", "right_")) for j in JOINTS]
_SHOULDERS, _HIPS = (1, 2), (7, 8)
SHOULDER_SCALE = 1.2
"""Shoulder width × this stands in for the torso length when the torso is foreshortened (bending to the camera)."""
FEATURE_DIM = len(JOINTS) * 2 * 2 + 2 + len(JOINTS)
"""Per frame: 13 body-relative positions (x, y), their velocities, the body centre's velocity, 13 confidences."""
POSITIONS, VELOCITIES = slice(0, 26), slice(26, 52)
CENTRE, CONFIDENCES = slice(52, 54), slice(54, FEATURE_DIM)
"""Where each part sits in a feature row (positions and velocities joint-major: x0, y0, x1, y1, …)."""


def name_key(name: str) -> str:
    """How joint names compare: case, spaces, hyphens and dots don't matter ('Left Shoulder' = 'left_shoulder')."""
    return "_".join(str(name).strip().lower().replace("-", " ").replace(".", " ").split())


def joint_sources(names: Sequence[str]) -> list[int | None]:
    """For each canonical joint, the index in `names` it comes from (the canonical name itself, else its first
    alias in `names`), or None when the layout has neither."""
    keys = [name_key(n) for n in names]
    found: list[int | None] = []
    for joint in JOINTS:
        candidates = [joint] + [alias for alias, target in ALIASES.items() if target == joint]
        found.append(next((keys.index(c) for c in candidates if c in keys), None))
    return found


def map_joints(points: np.ndarray, names: Sequence[str], channels: Sequence[str] | None = None,
               allow_missing: bool = False) -> np.ndarray:
    """(T, J, C) points of a source layout named `names` → (T, 13, 3) float32 x, y, confidence in `JOINTS` order.

    `channels` names the C channels (default by C: x, y / x, y, visible / x, y, z, visibility — BlazePose's
    runtime output); z is dropped (project 3D camera-space points with `camera_to_image` first). Confidence is the
    source's visibility/confidence channel (a `visible` flag of 0 gives OCCLUDED, unless x = y = 0), 1 where it
    has none; NaN coordinates get confidence 0.
    A layout lacking canonical joints raises ValueError naming them (unless `allow_missing`: confidence 0 there)."""
    points = np.asarray(points, dtype=np.float32)
    if points.ndim != 3:
        raise ValueError(f"points must be (frames, joints, channels), got shape {points.shape}")
    if points.shape[1] != len(names):
        raise ValueError(f"points have {points.shape[1]} joints but {len(names)} joint names were given")
    channels = tuple(name_key(c) for c in (channels or _DEFAULT_CHANNELS.get(points.shape[2], ())))
    if len(channels) != points.shape[2] or "x" not in channels or "y" not in channels:
        raise ValueError(f"channels {list(channels)} do not describe {points.shape[2]} channels with x and y; "
                         "pass channels=('x', 'y', ...) naming each")
    sources = joint_sources(names)
    missing = [j for j, s in zip(JOINTS, sources) if s is None]
    if missing and not allow_missing:
        raise ValueError(f"joint layout lacks {', '.join(missing)} (names given: {', '.join(map(str, names))}); "
                         f"name them as {', '.join(JOINTS)} or an alias in actcap.pose.skeleton.ALIASES")
    conf_channel = next((channels.index(c) for c in CONFIDENCE_CHANNELS if c in channels), None)
    out = np.zeros((points.shape[0], len(JOINTS), 3), np.float32)
    for j, s in enumerate(sources):
        if s is None:
            continue
        out[:, j, 0] = points[:, s, channels.index("x")]
        out[:, j, 1] = points[:, s, channels.index("y")]
        if conf_channel is None:
            out[:, j, 2] = 1.0
        else:
            conf = points[:, s, conf_channel]
            if np.any((conf < 0) | (conf > 1)):
                raise ValueError(f"channel {channels[conf_channel]!r} of joint {names[s]!r} is outside [0, 1] "
                                 f"(max {float(np.nanmax(conf)):.3g}); 3D points? pass channels=('x', 'y', 'z') "
                                 "or project them with camera_to_image")
            if channels[conf_channel] == "visible":  # an occlusion flag: the joint is annotated, only hidden
                conf = np.where(conf > 0, 1.0, np.where((points[:, s, :2] == 0).all(-1), 0.0, OCCLUDED))
            out[:, j, 2] = np.nan_to_num(conf, nan=0.0)
    bad = ~np.isfinite(out[..., :2]).all(-1)
    out[bad] = 0.0
    return out


def camera_to_image(points: np.ndarray) -> np.ndarray:
    """3D camera-space joints (T, J, 3) in metres, Kinect convention (y up, z away from the camera, the subject's
    right at larger x) → (T, J, 3) x, y, confidence as a camera would image them: perspective x/z, y flipped to
    point down and x negated, so the subject's right shoulder lies at smaller image x, as in a video of a person
    facing the camera. Joints at z ≤ 0 (Kinect's all-zero frames) get confidence 0."""
    points = np.asarray(points, dtype=np.float32)
    z = points[..., 2]
    ok = np.isfinite(points).all(-1) & (z > 1e-6)
    safe = np.where(ok, z, 1.0)
    out = np.stack([-points[..., 0] / safe, -points[..., 1] / safe, ok.astype(np.float32)], axis=-1)
    out[~ok] = 0.0
    return out.astype(np.float32)


def mirror_points(points: np.ndarray) -> np.ndarray:
    """Horizontal mirror of canonical points (T, 13, C): x negated about the body centre (the mean x of the
    confident joints over the sequence) and every left_ joint swapped with its right_ twin."""
    points = np.array(points, dtype=np.float32)
    if points.ndim != 3 or points.shape[1] != len(JOINTS):
        raise ValueError(f"mirror_points takes canonical points (T, {len(JOINTS)}, C), got {points.shape}")
    present = points[..., 2] > 0 if points.shape[2] > 2 else np.ones(points.shape[:2], bool)
    centre = float(points[..., 0][present].mean()) if present.any() else 0.0
    out = points[:, _MIRROR].copy()
    out[..., 0] = np.where(present[:, _MIRROR], 2 * centre - out[..., 0], 0.0)
    return out


def mirror_features(features: np.ndarray) -> np.ndarray:
    """`frame_features` of the mirrored points, from the features (T, FEATURE_DIM) alone: x of positions,
    velocities and the centre's motion negated, left and right joints swapped (a stream's `mirror`)."""
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or features.shape[1] != FEATURE_DIM:
        raise ValueError(f"mirror_features takes (T, {FEATURE_DIM}) pose features, got {features.shape}")
    t, j = len(features), len(JOINTS)
    out = features.copy()
    for part in (POSITIONS, VELOCITIES):
        xy = features[:, part].reshape(t, j, 2)[:, _MIRROR] * np.array([-1.0, 1.0], np.float32)  # (T, 13, 2)
        out[:, part] = xy.reshape(t, -1)
    out[:, CENTRE.start] = -features[:, CENTRE.start]
    out[:, CONFIDENCES] = features[:, CONFIDENCES][:, _MIRROR]
    return out


def _centre(points: np.ndarray, pair: tuple[int, int]) -> np.ndarray:
    """(T, 2) mean position of the confident joints of `pair` per frame; NaN where neither is confident."""
    conf = points[:, pair, 2:3] > 0
    total = np.where(conf, points[:, pair, :2], 0.0).sum(1)
    count = conf.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _width(points: np.ndarray, pair: tuple[int, int]) -> np.ndarray:
    """(T,) distance between the two joints of `pair`; NaN where either is missing."""
    both = (points[:, pair, 2] > 0).all(1)
    return np.where(both, np.linalg.norm(points[:, pair[0], :2] - points[:, pair[1], :2], axis=-1), np.nan)


def body_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame origin (T, 2) and scale (T,) from the torso: origin at the hip centre, scale the larger of the
    torso length (shoulder centre to hip centre) and 1.2 × shoulder width. Frames lacking hips put the origin one
    scale below the shoulders; frames lacking a torso carry the previous frame's values forward (the first found
    backward); a sequence without any torso uses the mean of its confident joints and scale 1."""
    points = np.asarray(points, dtype=np.float32)
    shoulders, hips = _centre(points, _SHOULDERS), _centre(points, _HIPS)
    torso = np.linalg.norm(shoulders - hips, axis=-1)
    with np.errstate(invalid="ignore"):
        scale = np.fmax(torso, SHOULDER_SCALE * _width(points, _SHOULDERS))
    scale = np.where(scale > 1e-6, scale, np.nan)
    origin = np.where(np.isnan(hips), shoulders + np.stack([np.zeros_like(scale), scale], -1), hips)
    ok = np.isfinite(scale) & np.isfinite(origin).all(-1)
    if not ok.any():
        conf = points[..., 2] > 0
        centre = points[..., :2][conf].mean(0) if conf.any() else np.zeros(2, np.float32)
        return np.tile(centre, (len(points), 1)).astype(np.float32), np.ones(len(points), np.float32)
    index = np.where(ok, np.arange(len(points)), -1)
    index = np.maximum.accumulate(index)  # last good frame at or before t
    index = np.where(index < 0, int(np.argmax(ok)), index)
    return origin[index].astype(np.float32), scale[index].astype(np.float32)


def normalize(points: np.ndarray) -> np.ndarray:
    """Canonical points (T, 13, 3) → body-relative (T, 13, 3): (x, y − origin) / scale from `body_frame`,
    confidence kept; joints with confidence 0 are set to 0. Invariant to translation and scale of the input."""
    points = np.asarray(points, dtype=np.float32)
    origin, scale = body_frame(points)
    out = points.copy()
    out[..., :2] = (points[..., :2] - origin[:, None]) / scale[:, None, None]
    out[..., :2] *= (points[..., 2:3] > 0)
    return out


def frame_features(points: np.ndarray) -> np.ndarray:
    """Canonical points (T, 13, 3) (from `map_joints`, any coordinates) → (T, FEATURE_DIM) float32 per frame:
    body-relative positions (26), their change since the previous frame (26, 0 where either frame lacks the joint
    and for the first frame), the body centre's motion in torso units (2), confidences (13)."""
    points = np.asarray(points, dtype=np.float32)
    if points.ndim != 3 or points.shape[1:] != (len(JOINTS), 3):
        raise ValueError(f"frame_features takes canonical points (T, {len(JOINTS)}, 3), got {points.shape}")
    origin, scale = body_frame(points)
    rel = normalize(points)
    conf = points[..., 2]
    present = conf > 0
    velocity = np.zeros_like(rel[..., :2])
    velocity[1:] = (rel[1:, :, :2] - rel[:-1, :, :2]) * (present[1:] & present[:-1])[..., None]
    centre = np.zeros_like(origin)
    centre[1:] = (origin[1:] - origin[:-1]) / scale[1:, None]
    t = len(points)
    out = np.concatenate([rel[..., :2].reshape(t, -1), velocity.reshape(t, -1), centre, conf], axis=1)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def features_from_points(points: np.ndarray, names: Sequence[str], channels: Sequence[str] | None = None,
                         allow_missing: bool = False) -> np.ndarray:
    """Any source's (T, J, C) points → (T, FEATURE_DIM): `frame_features(map_joints(points, names, channels))`,
    what the pose stream and the keypoint dataset reader both emit."""
    return frame_features(map_joints(points, names, channels, allow_missing))
