"""Motion stream: dense optical flow (OpenCV Farnebäck) pooled on a coarse grid.

For each frame, flow is computed from the previous source frame on a small grayscale copy
(`width` pixels wide) and averaged over a `grid` × `grid` layout of cells: per cell the mean
horizontal and vertical displacement and the mean magnitude, in units of frame widths, so the
features do not depend on the camera's resolution. A swipe to the left and to the right give
opposite signs in the same cells, which appearance features cannot see.
"""

from __future__ import annotations

import cv2
import numpy as np

from actcap.frames import to_gray_small
from actcap.streams.base import STREAMS, Stream, previous_frames


@STREAMS.register("flow")
class FlowStream(Stream):
    name = "flow"

    def __init__(self, grid: int = 4, width: int = 160, **_ignored):
        if grid < 1 or width < 16:
            raise ValueError(f"flow stream needs grid >= 1 and width >= 16; got grid={grid}, width={width}")
        self.grid, self.width = int(grid), int(width)
        self.dim = 3 * self.grid * self.grid

    def config(self) -> dict:
        return {"name": self.name, "grid": self.grid, "width": self.width, "method": "farneback-v1"}

    def extract(self, frames: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
        prev = to_gray_small(previous_frames(frames, previous), self.width)  # (T, h, w)
        cur = to_gray_small(frames, self.width)
        return np.stack([self._pooled(p, c) for p, c in zip(prev, cur)]).astype(np.float32)  # (T, dim)

    def _pooled(self, prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
        flow = cv2.calcOpticalFlowFarneback(prev, cur, None, pyr_scale=0.5, levels=3, winsize=13,
                                            iterations=3, poly_n=5, poly_sigma=1.1, flags=0)  # (h, w, 2)
        flow /= self.width  # displacement in frame widths
        mag = np.linalg.norm(flow, axis=2, keepdims=True)
        cells = np.concatenate([flow, mag], axis=2)  # (h, w, 3)
        pooled = cv2.resize(cells, (self.grid, self.grid), interpolation=cv2.INTER_AREA)  # (g, g, 3)
        return pooled.transpose(2, 0, 1).reshape(-1) * 100.0  # (3·g·g,), percent of frame width
