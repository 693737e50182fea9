"""Following one person through frames: detect once, then track from the previous frame's landmarks.

    tracker = PoseTracker()
    for frame in frames:                       # (H, W, 3) uint8 RGB, consecutive (or nearly) frames
        landmarks, flag = tracker(frame)      # (33, 4) x, y pixels, z, visibility; zeros and 0 when nobody
    estimate_poses(frames)                     # the same over (T, H, W, 3): (T, 33, 4), (T,)

As MediaPipe's pose solution does: the detector runs on the first frame and whenever the person is lost; in
between, the landmark model's own landmarks 33 and 34 place the next frame's crop, so a person who moves, or a
camera that pans or zooms, is followed at the landmark model's cost alone (no smoothing filter: actcap's
features take velocities, which a filter would delay). When the tracked crop loses the body (pose flag < 0.5)
the detector looks at the same frame again. Several people: the detector's most prominent one (detector.py),
then that person is followed while the pose flag holds.

`estimate_poses` from a fresh tracker remembers its last few answers by the frames' content: an upload's answer
and its `pose=true` keypoints (inference/keypoints.py) look at the same frames, and a pose model has just
followed the person through them, so the second look costs a hash, not the models again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np

from actcap.pose.detector import detect
from actcap.pose.landmarks import BODY, MIN_FLAG, Roi, estimate

NOBODY = np.zeros((BODY, 4), np.float32)
"""The landmarks of a frame with nobody in view: every visibility 0."""


class PoseTracker:
    """The person followed from frame to frame; `roi` is where the next frame is looked at (None: detect)."""

    def __init__(self, roi: Roi | None = None):
        self.roi = roi
        self.detections = 0  # how often the detector ran (tracking keeps this low)

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        """(H, W, 3) uint8 RGB → (33, 4) float32 landmarks and the pose flag (NOBODY and 0.0: nobody)."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"a pose frame must be (H, W, 3) uint8 RGB; got {frame.shape} {frame.dtype}")
        if self.roi is not None:
            pose = estimate(frame, self.roi)
            if pose.flag >= MIN_FLAG:
                self.roi = pose.next_roi
                return pose.landmarks, pose.flag
        roi, _score = detect(frame)
        self.detections += 1
        if roi is None:
            self.roi = None
            return NOBODY.copy(), 0.0
        pose = estimate(frame, roi)
        self.roi = pose.next_roi  # None when even the detected crop holds no body: detect again next frame
        if pose.flag < MIN_FLAG:
            return NOBODY.copy(), 0.0
        return pose.landmarks, pose.flag


RECENT = 4
"""Runs from a fresh tracker remembered by content (each is a few KB of landmarks)."""
_recent: OrderedDict[bytes, tuple[np.ndarray, np.ndarray, Roi | None, int]] = OrderedDict()
_lock = threading.Lock()


def forget_recent() -> None:
    """Drop the remembered runs (`actcap bench` times the landmark model, not the memory)."""
    with _lock:
        _recent.clear()


def estimate_poses(frames: np.ndarray, tracker: PoseTracker | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(T, H, W, 3) uint8 RGB frames in order → landmarks (T, 33, 4) float32 and pose flags (T,) float32.
    From a fresh tracker (none given, or one that has seen nothing) the same frames give the remembered answer,
    and the tracker is left as the run left it (where to look next, how often it detected)."""
    tracker = tracker or PoseTracker()
    key = None
    if len(frames) and tracker.roi is None and tracker.detections == 0:
        key = repr(frames.shape).encode() + hashlib.sha1(np.ascontiguousarray(frames)).digest()
        with _lock:
            hit = _recent.get(key)
        if hit is not None:
            tracker.roi, tracker.detections = hit[2], hit[3]
            return hit[0].copy(), hit[1].copy()
    out = [tracker(f) for f in frames]
    if not out:
        return np.zeros((0, BODY, 4), np.float32), np.zeros(0, np.float32)
    landmarks, flags = np.stack([p for p, _ in out]), np.array([f for _, f in out], np.float32)
    if key is not None:
        with _lock:
            _recent[key] = (landmarks.copy(), flags.copy(), tracker.roi, tracker.detections)
            while len(_recent) > RECENT:
                _recent.popitem(last=False)
    return landmarks, flags
