"""Pose-stream features of keypoint-file clips: what the `pose` stream would give for the same joints, computed
from the joints instead of from frames (no video is decoded).

A clip `FILE.npz::<clip>` (actcap/data/keypoints.py) is mapped onto the shared skeleton, thinned to the frames a
video's cache would keep (`kept_indices(n, cache_frames)`), and turned into `frame_features`, rounded as the cache
stores features. 3D camera-space skeletons (Kinect) are projected and their bones rescaled to BlazePose's
proportions (actcap/pose/bridge.py), since a model trained on them is meant to answer the pose stream.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from actcap.data.keypoints import KeypointSet, parse_ref, read_keypoints
from actcap.data.sampling import kept_indices
from actcap.pose.bridge import to_blazepose_proportions
from actcap.pose.skeleton import FEATURE_DIM, frame_features

STREAM = "pose"
"""The stream whose features keypoint clips stand in for."""


def clip_points(kset: KeypointSet, i: int) -> np.ndarray:
    """Clip i as the pose stream would see the same body: (T, 13, 3) canonical points."""
    points = kset.canonical(i)
    if "z" in [c.lower() for c in kset.channels]:
        points = to_blazepose_proportions(points)
    return points


def check_streams(streams, example: Path) -> None:
    names = [s.name for s in streams]
    if names != [STREAM] or streams[0].dim != FEATURE_DIM:
        raise ValueError(f"{example}: clips of a keypoint file give `{STREAM}` stream features only, not "
                         f"{'+'.join(names)}; train on it with `--streams {STREAM}`")


def keypoint_features(paths: list[Path], streams, cache_frames: int
                      ) -> dict[Path, tuple[np.ndarray, np.ndarray, int]]:
    """{path: (features (L, FEATURE_DIM) float32, kept frame indices (L,), source frame count)}."""
    if paths:
        check_streams(streams, paths[0])
    out = {}
    for path in paths:
        file, clip = parse_ref(path)
        kset = read_keypoints(file)
        points = clip_points(kset, kset.index(clip))
        idx = np.asarray(kept_indices(len(points), cache_frames))
        feats = frame_features(points[idx]).astype(np.float16).astype(np.float32)  # as the cache stores them
        out[path] = (feats, idx, len(points))
    return out
