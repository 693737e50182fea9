"""Reading a body: BlazePose's landmark model (full) on a rotated 256 × 256 crop around the person.

    pose = estimate(frame, roi)                # → Pose: 33 landmarks (x, y in frame pixels, z, visibility),
                                               #   the pose flag and the region for the next frame

The model gives 39 landmarks × (x, y, z, visibility, presence) in crop pixels: the first 33 are the body
(MediaPipe's order, skeleton.BLAZEPOSE_JOINTS), 33 and 34 are the hips' centre and the point above the head that
set the next frame's region by the detector's rule (roi_from_points). A 64 × 64 heatmap refines each landmark's
x, y (MediaPipe's RefineLandmarksFromHeatmapCalculator, kernel 7), and a pose flag (0–1) says whether a body is
in the crop at all: below 0.5 the person is lost (tracker.py detects again).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from actcap.pose.runtime import get_model

SIZE = 256
BODY = 33
ROI_SCALE = 1.25
"""The region is the body's extent (2·|kp1 − kp0|) enlarged by this (MediaPipe's RectTransformation)."""
MIN_FLAG = 0.5
"""Below this pose flag the crop holds no body: the tracker re-detects."""
HEATMAP_KERNEL = 7
HEATMAP_MIN = 0.5


@dataclass(frozen=True)
class Roi:
    """A square region of the frame, in pixels: centre, side and rotation (radians; the body upright in it)."""
    cx: float
    cy: float
    side: float
    rotation: float

    def to_crop(self) -> np.ndarray:
        """(2, 3) affine map from crop pixels (0..SIZE) to frame pixels."""
        s, c, n = self.side / SIZE, math.cos(self.rotation), math.sin(self.rotation)
        half = self.side / 2
        return np.array([[s * c, -s * n, self.cx - half * c + half * n],
                         [s * n, s * c, self.cy - half * n - half * c]], np.float64)


@dataclass
class Pose:
    landmarks: np.ndarray  # (33, 4) float32: x, y in frame pixels, z (crop-relative depth), visibility 0–1
    flag: float  # the model's pose flag: is there a body in the crop (0–1)
    next_roi: Roi | None  # where to look in the next frame (landmarks 33 and 34); None when the flag is low


def roi_from_points(centre: np.ndarray, top: np.ndarray) -> Roi:
    """The region set by the hips' centre and the point above the head (pixels): MediaPipe's
    AlignmentPointsRectsCalculator (target angle 90°) then RectTransformation (×1.25, square)."""
    dx, dy = float(top[0] - centre[0]), float(top[1] - centre[1])
    rotation = math.pi / 2 - math.atan2(-dy, dx)
    rotation = rotation - 2 * math.pi * math.floor((rotation + math.pi) / (2 * math.pi))  # to [−π, π)
    side = 2.0 * math.hypot(dx, dy) * ROI_SCALE
    return Roi(float(centre[0]), float(centre[1]), max(side, 1.0), rotation)


def crop(frame: np.ndarray, roi: Roi) -> np.ndarray:
    """(H, W, 3) uint8 → (1, 256, 256, 3) float32 in [0, 1]: the region, rotated upright, black outside the frame."""
    patch = cv2.warpAffine(frame, roi.to_crop(), (SIZE, SIZE), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return (patch.astype(np.float32) / 255.0)[None]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


def refine(points: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """Landmarks (L, 2) in crop pixels, moved to the confidence-weighted centre of their heatmap window when the
    window's peak reaches HEATMAP_MIN. heatmap: (64, 64, ≥L) logits."""
    hm_h, hm_w = heatmap.shape[:2]
    out = points.copy()
    off = (HEATMAP_KERNEL - 1) // 2
    for i, (x, y) in enumerate(points):
        col, row = int(x / SIZE * hm_w), int(y / SIZE * hm_h)
        if not (0 <= col < hm_w and 0 <= row < hm_h):
            continue
        r0, r1 = max(0, row - off), min(hm_h, row + off + 1)
        c0, c1 = max(0, col - off), min(hm_w, col + off + 1)
        conf = _sigmoid(heatmap[r0:r1, c0:c1, i])  # (h, w)
        total = conf.sum()
        if conf.max() >= HEATMAP_MIN and total > 0:
            rows, cols = np.mgrid[r0:r1, c0:c1]
            out[i] = [((cols * conf).sum() / total) / hm_w * SIZE,
                      ((rows * conf).sum() / total) / hm_h * SIZE]
    return out


def estimate(frame: np.ndarray, roi: Roi) -> Pose:
    """The body in `roi` of an (H, W, 3) uint8 RGB frame."""
    out = get_model("landmarks")(crop(frame, roi))
    raw = out["Identity"][0].reshape(-1, 5)  # (39, 5): x, y, z, visibility, presence in crop pixels
    flag = float(out["Identity_1"][0, 0])
    xy = refine(raw[:BODY, :2].astype(np.float64), out["Identity_3"][0])  # (33, 2) crop pixels
    xy = np.concatenate([xy, raw[BODY:, :2]])  # (39, 2): the two region points are not refined
    m = roi.to_crop()  # crop pixels → frame pixels
    frame_xy = xy @ m[:, :2].T + m[:, 2]  # (39, 2)
    landmarks = np.concatenate([frame_xy[:BODY], raw[:BODY, 2:3] / SIZE * roi.side,
                                _sigmoid(raw[:BODY, 3:4])], axis=1).astype(np.float32)  # (33, 4)
    next_roi = roi_from_points(frame_xy[BODY], frame_xy[BODY + 1]) if flag >= MIN_FLAG else None
    return Pose(landmarks, flag, next_roi)
