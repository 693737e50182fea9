"""Bridges from annotated joints to the joints the pose stream estimates from video.

Kinect's skeleton is not BlazePose's: its head, shoulder and hip joints sit elsewhere, so its bones measured
in torso lengths are 1.3-1.9× BlazePose's (issue 23's probe). `to_blazepose_proportions` rescales every bone of
a canonical skeleton to BlazePose's median proportions, keeping each bone's direction and, by one factor per bone
per clip, its foreshortening, walking out from the hips.
"""

from __future__ import annotations

import numpy as np

from actcap.pose.skeleton import JOINTS

_J = {name: i for i, name in enumerate(JOINTS)}
_P = {**_J, "hip_centre": len(JOINTS), "shoulder_centre": len(JOINTS) + 1}  # joints and the two midpoints
BONES: tuple[tuple[str, str], ...] = (
    ("hip_centre", "left_hip"), ("hip_centre", "right_hip"), ("hip_centre", "shoulder_centre"),
    ("shoulder_centre", "left_shoulder"), ("shoulder_centre", "right_shoulder"), ("shoulder_centre", "head"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
)
"""Parent → child, parents first; hip_centre and shoulder_centre are the midpoints of the pairs."""
BLAZEPOSE_BONES: dict[str, float] = {
    "left_hip": 0.186, "right_hip": 0.186, "shoulder_centre": 1.0, "left_shoulder": 0.331, "right_shoulder": 0.331,
    "head": 0.382, "left_elbow": 0.50, "right_elbow": 0.50, "left_wrist": 0.45, "right_wrist": 0.45,
    "left_knee": 0.735, "right_knee": 0.735, "left_ankle": 0.69, "right_ankle": 0.69,
}
"""Child joint → bone length in torso lengths (shoulder centre to hip centre): medians of the pose stream's
joints on the shared UTD-MHAD RGB clips of subjects 1-5, left and right averaged (`python
scripts/pose_proportions.py --clips ../shared/data/utd-mhad-5 --keypoints …/utd_mhad_skeleton.npz --skip _s6_`).
The same people's Kinect skeletons measure 1.3× (arms, shins), 1.6× (thighs) and 2.1× (head) these."""


def bone_lengths(points: np.ndarray) -> dict[str, float]:
    """Median length of each bone (child joint → length) in torso lengths over the frames of canonical points
    (T, 13, 3) where both ends are present: what BLAZEPOSE_BONES holds for BlazePose."""
    pos, ok = _with_centres(np.asarray(points, dtype=np.float32))
    torso = np.linalg.norm(pos[:, _P["shoulder_centre"]] - pos[:, _P["hip_centre"]], axis=-1)
    out = {}
    for parent, child in BONES:
        both = ok[:, _P[parent]] & ok[:, _P[child]] & (torso > 1e-6)
        if both.any():
            length = np.linalg.norm(pos[both, _P[child]] - pos[both, _P[parent]], axis=-1) / torso[both]
            out[child] = float(np.median(length))
    return out


def to_blazepose_proportions(points: np.ndarray, lengths: dict[str, float] | None = None, per_frame: bool = False
                             ) -> np.ndarray:
    """Canonical points (T, 13, 3) with each bone rescaled to `lengths` (child joint → length in the frame's
    torso lengths; default BLAZEPOSE_BONES), directions kept, walking out from the hip centre. A bone whose ends
    are missing, or whose length is not given, keeps its length; confidences are unchanged.

    Each bone is scaled by one factor for the clip (`lengths` over the bone's median length in the clip,
    `bone_lengths`), so its image length still shrinks as it turns towards the camera (foreshortening) and its
    median becomes the target. `per_frame` (the bridge before session 8): every frame's bone gets exactly the
    target length, so a forearm pointing at the camera is drawn at full length; measured worse on skeletons of
    people left out (docs/model-card-keypoints.md, "UTD-MHAD, 27 actions")."""
    lengths = BLAZEPOSE_BONES if lengths is None else lengths
    points = np.array(points, dtype=np.float32)
    if not lengths:
        return points
    pos, ok = _with_centres(points)
    new = pos.copy()
    torso = np.linalg.norm(pos[:, _P["shoulder_centre"]] - pos[:, _P["hip_centre"]], axis=-1)  # (T,)
    medians = {} if per_frame else bone_lengths(points)
    for parent, child in BONES:
        p, c = _P[parent], _P[child]
        bone = pos[:, c] - pos[:, p]  # (T, 2)
        norm = np.linalg.norm(bone, axis=-1, keepdims=True)
        if per_frame:
            scaled = bone / np.maximum(norm, 1e-9) * (lengths.get(child, 0.0) * torso)[:, None]
        else:
            scaled = bone * (lengths.get(child, 0.0) / max(medians.get(child, 0.0), 1e-6))
        known = per_frame or medians.get(child, 0.0) > 1e-3  # a bone never seen at any length keeps its own
        use = (ok[:, p] & ok[:, c] & (torso > 1e-6) & (norm[:, 0] > 1e-9) & (child in lengths) & known)[:, None]
        new[:, c] = new[:, p] + np.where(use, scaled, bone)
    out = points.copy()
    out[:, :, :2] = np.where(ok[:, :len(JOINTS), None], new[:, :len(JOINTS)], points[:, :, :2])
    return out


def _with_centres(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 15, 2) positions and (T, 15) presence: the 13 joints, then hip_centre and shoulder_centre."""
    ok = points[..., 2] > 0
    pos = points[..., :2]
    centres, present = [], []
    for a, b in (("left_hip", "right_hip"), ("left_shoulder", "right_shoulder")):
        both = ok[:, _J[a]] & ok[:, _J[b]]
        centres.append(np.where(both[:, None], (pos[:, _J[a]] + pos[:, _J[b]]) / 2, 0.0))
        present.append(both)
    return (np.concatenate([pos, np.stack(centres, 1)], 1).astype(np.float32),
            np.concatenate([ok, np.stack(present, 1)], 1))
