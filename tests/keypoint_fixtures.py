"""Tiny keypoint files built by the tests, and a stand-in `pose` stream while none is registered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from actcap.pose.skeleton import FEATURE_DIM, JOINTS, mirror_features

STANDING = np.array([[100, 20], [80, 50], [120, 50], [75, 80], [125, 80], [72, 110], [128, 110],
                     [90, 120], [110, 120], [90, 160], [110, 160], [90, 200], [110, 200]], np.float32)
CLASSES = ("reach_left", "reach_right")


def reach_clip(direction: int, frames: int, rng: np.random.Generator) -> np.ndarray:
    """(frames, 13, 3) pixels + visible: a standing person whose right wrist moves left (-1) or right (+1)."""
    pts = np.repeat(STANDING[None], frames, 0) + rng.normal(0, 1.5, (frames, len(JOINTS), 2))
    pts += rng.uniform(-50, 50, 2)  # standing anywhere in the frame
    pts[:, JOINTS.index("right_wrist"), 0] += direction * np.linspace(0, 60, frames)
    return np.concatenate([pts, np.ones((frames, len(JOINTS), 1))], -1).astype(np.float32)


def keypoint_arrays(clips_per_class: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    """The fields of a valid keypoint file: 2 classes, subjects 1-4, one stored split (subjects 1-3 train)."""
    rng = np.random.default_rng(seed)
    clips, labels, subjects = [], [], []
    for k in range(clips_per_class):
        for y, direction in enumerate((-1, 1)):
            clips.append(reach_clip(direction, int(rng.integers(12, 30)), rng))
            labels.append(y)
            subjects.append(k % 4 + 1)
    subjects = np.array(subjects, np.int16)
    return {"points": np.concatenate(clips), "offsets": np.cumsum([0] + [len(c) for c in clips]).astype(np.int64),
            "label": np.array(labels, np.int16), "classes": np.array(CLASSES),
            "joints": np.array(JOINTS), "channels": np.array(["x", "y", "visible"]),
            "split": np.where(subjects <= 3, 1, 2).astype(np.int8)[:, None], "split_names": np.array(["official"]),
            "subject": subjects, "clip": np.array([f"c{i:03d}" for i in range(len(clips))]),
            "coords": np.array("pixels")}


def write_keypoints(path: Path, **changes) -> Path:
    """A keypoint file at `path`; `changes` replace fields (None drops one)."""
    arrays = {**keypoint_arrays(), **changes}
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


@pytest.fixture
def pose_stream():
    """The registered `pose` stream, or a stand-in with its features' size while the pose stream is absent
    (keypoint clips never reach `extract`)."""
    from actcap.features.streams import STREAMS, Stream

    if "pose" in STREAMS.list():
        yield STREAMS.get("pose")
        return

    class StandInPose(Stream):
        name, dim = "pose", FEATURE_DIM

        def __init__(self, **_):
            pass

        def config(self) -> dict:
            return {"name": "pose"}

        def extract(self, frames, previous=None):
            raise AssertionError("keypoint clips must not decode video")

        def mirror(self, features):
            return mirror_features(features)

    STREAMS.register("pose")(StandInPose)
    yield StandInPose
    STREAMS._entries.pop("pose")
