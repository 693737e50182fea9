"""Body-pose stream: BlazePose keypoints of the person in view, as body-relative positions and velocities.

Each frame goes through the pose runtime (actcap/pose/: the detector finds the most prominent person, the
landmark model follows them from frame to frame), and its 33 landmarks become the shared skeleton's features
(actcap/pose/skeleton.py `features_from_points`: 13 joints relative to the torso, their velocities, the body
centre's motion, the joints' visibilities; FEATURE_DIM values). Being relative to the body, the features do not
change when the camera pans, shakes or zooms, or when the person stands elsewhere in the frame, which the flow
grid's do (docs/model-card.md, "Camera motion"). A frame with nobody in view has every confidence 0: the judge
answers `idle`, "Nobody is in view." (honesty/judge.py).

Velocities are between consecutive frames of the frames given, as the keypoint dataset reader computes them; the
first frame's is measured against `previous[0]` when a caller passes the frame before it (live video, timelines),
else it is 0. The landmarks of the last frames seen are remembered (by content), so a live stream's next batch
starts from where the person was, without running the models on that frame again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from actcap.features.streams.base import STREAMS, Stream
from actcap.pose.skeleton import (
    BLAZEPOSE_JOINTS,
    CENTRE,
    CONFIDENCES,
    FEATURE_DIM,
    features_from_points,
    mirror_features,
)

MEMORY = 8
"""Frames whose landmarks are remembered for the next call (the last frames of a few live streams)."""
PRESENT = 0.2
"""A time slot shows a person when its joints' mean confidence (visibility, 0 without a person) reaches this."""


@STREAMS.register("pose")
class PoseStream(Stream):
    name = "pose"
    dim = FEATURE_DIM
    uses_previous = False  # velocities come from the frames given; `previous`, when passed, only adds the first's

    METHOD = "blazepose-full-skeleton13-v1"

    def __init__(self, method: str = METHOD, centre: bool = True, **_ignored):
        if method != self.METHOD:
            raise ValueError(f"this model's pose stream uses method {method!r}, but this actcap computes "
                             f"{self.METHOD!r}; retrain the model with this version")
        # centre=False zeroes the body centre's motion (skeleton.CENTRE), the one feature that takes the camera's
        # motion for the body's; measured in docs/model-card.md ("Body pose"): no help against a tilt or a zoom
        self.centre = bool(centre)
        self._memory: OrderedDict[bytes, tuple[np.ndarray, np.ndarray, object]] = OrderedDict()
        self._lock = threading.Lock()

    def config(self) -> dict:
        return {"name": self.name, "method": self.METHOD, **({} if self.centre else {"centre": False})}

    def cache_config(self) -> dict:
        from actcap.pose.runtime import model_digest  # the models load only when frames are seen

        return {**self.config(), "models": model_digest()}

    def extract(self, frames: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
        landmarks = self.landmarks(frames, previous)  # (T or T + 1, 33, 4)
        feats = features_from_points(landmarks, BLAZEPOSE_JOINTS)  # (·, FEATURE_DIM)
        if not self.centre:
            feats[:, CENTRE] = 0.0
        return feats[len(feats) - len(frames):]  # without the predecessor's row

    def landmarks(self, frames: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
        """(T, H, W, 3) uint8 → (T, 33, 4) landmarks (x, y pixels, z, visibility), tracked through the frames;
        (T + 1, 33, 4) with the predecessor's first when `previous[0]` is a frame other than `frames[0]`."""
        from actcap.pose.tracker import PoseTracker, estimate_poses

        tracker = PoseTracker()
        lead = []
        if previous is not None and len(frames) and not np.array_equal(previous[0], frames[0]):
            known = self.recall(previous[0])
            if known is not None:
                lead, tracker.roi = [known[0]], known[1]
            else:
                lead = [tracker(previous[0])[0]]
        out, _flags = estimate_poses(frames, tracker)  # (T, 33, 4)
        if len(frames):
            self._remember(frames[-1], out[-1], tracker.roi)
        return np.concatenate([np.stack(lead), out]) if lead else out

    def mirror(self, features: np.ndarray) -> np.ndarray:
        """The mirrored clip's features: x negated, left and right joints swapped (skeleton.mirror_features)."""
        return mirror_features(features)

    @staticmethod
    def in_view(features: np.ndarray) -> bool:
        """Whether (T, FEATURE_DIM) features (per frame or per time slot) show a person: some row's mean joint
        confidence reaches PRESENT (every confidence is 0 in a frame with nobody)."""
        return bool(np.max(features[:, CONFIDENCES].mean(axis=1), initial=0.0) >= PRESENT)

    # --- the last frames' landmarks, by content ----------------------------------------------------------
    @staticmethod
    def _key(frame: np.ndarray) -> bytes:
        return repr(frame.shape).encode() + np.ascontiguousarray(frame[::16, ::16]).tobytes()

    def recall(self, frame: np.ndarray):
        """(landmarks (33, 4), next region) of `frame` if it was the last frame of a recent call, else None."""
        with self._lock:
            hit = self._memory.get(self._key(frame))
        if hit is not None and np.array_equal(hit[2], frame):
            return hit[0], hit[1]
        return None

    def _remember(self, frame: np.ndarray, landmarks: np.ndarray, roi) -> None:
        with self._lock:
            self._memory[self._key(frame)] = (landmarks, roi, frame.copy())
            while len(self._memory) > MEMORY:
                self._memory.popitem(last=False)
