"""Keypoints in an answer, when asked (`pose=true` on POST /predict, `actcap predict --pose`, `/stream?pose=true`):
the tracked person's 13 skeleton joints in the frames the model looked at, for developers and for the page's
skeleton drawing.

    out["pose"] = clip_keypoints(clip, predictor.frames_to_read(len(clip)))   # or frame_keypoints(frames, indices)

Coordinates are fractions of the frame's width and height (0–1, x right, y down), so they draw over the frame at
any display size; a joint nobody was found for is [0, 0, 0]. Computed by the pose runtime (actcap/pose/) for any
model, with or without a pose stream: about one landmark-model run per frame (docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np

from actcap.inference.result import Keypoints


def frame_keypoints(frames: np.ndarray, indices: list[int] | None = None) -> Keypoints:
    """(T, H, W, 3) uint8 frames → the `pose` field for them; `indices`: each frame's index in what the caller
    received (default 0 … T − 1)."""
    from actcap.pose.tracker import estimate_poses

    landmarks, _flags = estimate_poses(frames)  # (T, 33, 4)
    return landmark_keypoints(landmarks, frames.shape[1:3], indices)


def landmark_keypoints(landmarks: np.ndarray, size: tuple[int, int], indices: list[int] | None = None) -> Keypoints:
    """BlazePose landmarks (T, 33, 4) in pixels of frames of `size` (H, W) → the `pose` field."""
    from actcap.pose.skeleton import BLAZEPOSE_JOINTS, JOINTS, map_joints

    h, w = size
    points = map_joints(landmarks, BLAZEPOSE_JOINTS)  # (T, 13, 3): x, y pixels, visibility
    points[..., 0] /= w
    points[..., 1] /= h
    points[points[..., 2] <= 0] = 0.0
    points = np.clip(points, 0.0, 1.0).round(4)
    return {"joints": list(JOINTS), "frames": [int(i) for i in (indices if indices is not None
                                                                 else range(len(landmarks)))],
            "points": points.tolist()}


def clip_keypoints(clip, indices: list[int]) -> Keypoints:
    """The `pose` field for frames `indices` of a Clip (each distinct frame decoded once, in order)."""
    wanted = sorted(set(indices))
    return frame_keypoints(clip.read(wanted), wanted)
