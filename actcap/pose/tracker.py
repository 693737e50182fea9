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
"""

from __future__ import annotations

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


def estimate_poses(frames: np.ndarray, tracker: PoseTracker | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(T, H, W, 3) uint8 RGB frames in order → landmarks (T, 33, 4) float32 and pose flags (T,) float32."""
    tracker = tracker or PoseTracker()
    out = [tracker(f) for f in frames]
    if not out:
        return np.zeros((0, BODY, 4), np.float32), np.zeros(0, np.float32)
    return np.stack([p for p, _ in out]), np.array([f for _, f in out], np.float32)
