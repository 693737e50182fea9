"""Finding a person: BlazePose's detector (SSD, 2254 anchors) on a letterboxed 224 × 224 copy of the frame.

    roi, score = detect(frame)                 # (H, W, 3) uint8 RGB → the most prominent person's Roi, or None

The detector gives, per anchor, a box and 4 keypoints (12 values, in letterbox pixels relative to the anchor)
and a logit. Keypoint 0 is the hips' centre and keypoint 1 a point above the head: they set the region the
landmark model looks at (landmarks.roi_from_points: a square of side 2·|kp1 − kp0|·1.25 centred on kp0, turned
so that the body stands upright). The settings are MediaPipe's (modules/pose_detection/pose_detection_cpu.pbtxt):
anchors of strides 8, 16, 32, 32, 32 with fixed size 1, scale 224, a detection from a sigmoid score of 0.5.

Several people: the most prominent one is kept, i.e. the detection with the highest score (MediaPipe's pose
solution keeps one person the same way); overlapping boxes of that person are averaged first, weighted by
score (MediaPipe's weighted non-maximum suppression, for the one box we keep).
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

from actcap.pose.landmarks import Roi, roi_from_points
from actcap.pose.runtime import get_model

SIZE = 224
MIN_SCORE = 0.5
"""A detection needs this sigmoid score (MediaPipe's min_score_thresh); grey or noise frames score ≤ 0.04."""
NMS_IOU = 0.3
STRIDES = (8, 16, 32, 32, 32)


@cache
def anchors() -> np.ndarray:
    """(2254, 2) anchor centres in [0, 1] (x, y), in the detector's output order (SsdAnchorsCalculator with
    fixed_anchor_size: every anchor is 1 × 1, so only centres matter)."""
    out = []
    layer = 0
    while layer < len(STRIDES):
        stride, per_cell = STRIDES[layer], 0
        while layer < len(STRIDES) and STRIDES[layer] == stride:  # layers of one stride share a grid
            per_cell += 2  # aspect ratio 1 plus the interpolated scale
            layer += 1
        n = int(np.ceil(SIZE / stride))
        ys, xs = np.meshgrid((np.arange(n) + 0.5) / n, (np.arange(n) + 0.5) / n, indexing="ij")  # (n, n)
        centres = np.stack([xs, ys], -1).reshape(-1, 1, 2)  # (n·n, 1, 2)
        out.append(np.repeat(centres, per_cell, axis=1).reshape(-1, 2))
    return np.concatenate(out).astype(np.float32)


def letterbox(frame: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float]]:
    """(H, W, 3) uint8 → (1, 224, 224, 3) float32 in [−1, 1] (aspect kept, black borders), and (scale, pad_x,
    pad_y) to map letterbox pixels back: x = (x_lb − pad_x) / scale."""
    h, w = frame.shape[:2]
    scale = SIZE / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    canvas = np.zeros((SIZE, SIZE, 3), np.uint8)
    px, py = (SIZE - nw) // 2, (SIZE - nh) // 2
    canvas[py:py + nh, px:px + nw] = small
    x = canvas.astype(np.float32) / 127.5 - 1.0  # (224, 224, 3)
    return x[None], (scale, float(px), float(py))


def decode(raw: np.ndarray, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw outputs (2254, 12), (2254,) → boxes (2254, 4) as x0, y0, x1, y1, keypoints (2254, 4, 2), scores
    (2254,), all in letterbox pixels."""
    a = anchors() * SIZE  # (2254, 2) centres in pixels
    centre = raw[:, 0:2] + a
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = raw[:, 4:12].reshape(-1, 4, 2) + a[:, None, :]
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))
    return boxes, keypoints, scores


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    lo, hi = np.maximum(box[:2], boxes[:, :2]), np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = lambda b: np.prod(np.clip(b[..., 2:] - b[..., :2], 0, None), axis=-1)  # noqa: E731
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-9)


def best_detection(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray
                   ) -> tuple[np.ndarray, float] | None:
    """The highest-scoring detection's keypoints (4, 2), averaged with the boxes that overlap it by IoU > 0.3
    (weighted by score), and its score; None when no anchor reaches MIN_SCORE."""
    keep = np.flatnonzero(scores >= MIN_SCORE)
    if keep.size == 0:
        return None
    top = keep[np.argmax(scores[keep])]
    near = keep[_iou(boxes[top], boxes[keep]) > NMS_IOU]
    w = scores[near] / scores[near].sum()
    return np.tensordot(w, keypoints[near], axes=1), float(scores[top])  # (4, 2)


def detect(frame: np.ndarray) -> tuple[Roi, float] | tuple[None, float]:
    """(H, W, 3) uint8 RGB frame → the most prominent person's region and the detector's score; (None, best
    score) when nobody is found."""
    x, (scale, px, py) = letterbox(frame)
    out = get_model("detector")(x)
    raw, logits = out["Identity"][0], out["Identity_1"][0, :, 0]  # (2254, 12), (2254,)
    boxes, keypoints, scores = decode(raw, logits)
    found = best_detection(boxes, keypoints, scores)
    if found is None:
        return None, float(scores.max())
    kp, score = found
    kp = (kp - np.array([px, py], np.float32)) / scale  # (4, 2) frame pixels
    return roi_from_points(kp[0], kp[1]), score
