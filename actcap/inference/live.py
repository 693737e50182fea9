"""Live video: each frame goes through the streams once, when it arrives; the head runs over the last window.

    live = predictor.new_stream()          # window: a typical training clip's length
    live.push_many(frames)                 # consecutive (H, W, 3) uint8 frames, batched through the streams
    live.predict()                         # the answer dict over the window, or None before any frame
                                           # (+ `segments` and `narrative` of the last HISTORY_S seconds);
                                           # an action being said is held a little past the threshold
                                           # (verdict.py `Rules.hold`)
    live.keypoints()                       # the person's skeleton in the newest frame (`pose` of an answer)
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from actcap.inference.timeline import FOLDER_FPS, narrate_windows

if TYPE_CHECKING:
    from actcap.honesty.judge import Verdict
    from actcap.inference.predictor import Predictor
    from actcap.inference.result import Prediction

HISTORY_S = 20.0
"""Seconds of the stream a live answer's `narrative` tells (at the page's 15 frames/s: 300 frames' features)."""


class LiveStream:
    """Per-connection state for live video: each frame's features are computed once, when it arrives;
    the last `window` are kept (bounded memory) and the head runs over them on demand."""

    def __init__(self, predictor: Predictor, window: int):
        self.predictor = predictor
        self.window: deque[np.ndarray] = deque(maxlen=window)
        # the recent past the narrative tells: every frame's inputs, and each update's window as (first frame,
        # end frame) counted from the stream's start, with its verdict
        self.history: deque[np.ndarray] = deque(maxlen=max(window, round(HISTORY_S * FOLDER_FPS)))
        self.verdicts: deque[tuple[int, int, Verdict]] = deque()
        self.last_frame: np.ndarray | None = None
        self.said: Verdict | None = None  # the last answer's verdict: an action being said is held (Rules.hold)
        self.frames_seen = 0
        self._tracker = None  # follows the person for keypoints() when the model has no pose stream

    def push(self, frame: np.ndarray) -> None:
        """Add one (H, W, 3) uint8 frame."""
        self.push_many([frame])

    def push_many(self, frames: list[np.ndarray]) -> None:
        """Add consecutive (H, W, 3) uint8 frames: the streams see them as one batch, which costs less per
        frame than one at a time (a client that sends faster than the CNN runs gets its backlog batched)."""
        i = 0
        while i < len(frames):  # a run of frames of one size (a client may switch cameras mid-stream)
            j = i + 1
            while j < len(frames) and frames[j].shape == frames[i].shape:
                j += 1
            run = np.stack(frames[i:j])  # (t, H, W, 3)
            rows = self.predictor.inputs_after(run, self.last_frame)  # (t, D + 1)
            self.window.extend(rows)
            self.history.extend(rows)
            self.last_frame = run[-1]
            i = j
        self.frames_seen += len(frames)

    def predict(self) -> Prediction | None:
        if not self.window:
            return None
        t0 = time.perf_counter()
        feats = np.stack(self.window)  # (W, D + 1)
        verdict = self.predictor.verdict_of_frames(feats, windowed=True)  # a window: the window threshold
        verdict = self.said = self.predictor.judge.hold(self.said, verdict)
        out = self.predictor.result(verdict, frames_received=self.frames_seen,
                                    frames_used=len(self.window), warnings=[])
        out.update(self.narrate(verdict))
        out["timing_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        return out

    def narrate(self, verdict: Verdict) -> dict:
        """This update's window joins the recent ones; `segments` and `narrative` of the history they cover
        (timeline.narrate_windows: each segment judged on its own frames, so a window straddling two actions
        does not break the story). Segment times are seconds into the history, at 15 frames/s."""
        first = self.frames_seen - len(self.history)  # the oldest frame still held
        if len(self.window) == self.window.maxlen:  # a full window: the first seconds' shorter ones say little
            self.verdicts.append((self.frames_seen - len(self.window), self.frames_seen, verdict))
        while self.verdicts and self.verdicts[0][0] < first:
            self.verdicts.popleft()
        windows = [(a - first, b - first, v) for a, b, v in self.verdicts]
        return narrate_windows(self.predictor, np.stack(self.history), windows)

    def keypoints(self):
        """The `pose` field for the newest frame (inference/keypoints.py), or None before any frame. A model with a
        pose stream found it already (remembered by the stream); otherwise this stream's own tracker finds it."""
        from actcap.inference.keypoints import landmark_keypoints

        if self.last_frame is None:
            return None
        landmarks = None
        for stream in self.predictor.streams:
            known = stream.recall(self.last_frame) if hasattr(stream, "recall") else None
            if known is not None:
                landmarks = known[0]
        if landmarks is None:
            from actcap.pose.tracker import PoseTracker

            self._tracker = self._tracker or PoseTracker()
            landmarks, _flag = self._tracker(self.last_frame)
        return landmark_keypoints(landmarks[None], self.last_frame.shape[:2], [self.frames_seen - 1])
