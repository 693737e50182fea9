"""A long video as a timeline: slide a window over it, judge each window, narrate the result.

    out = predict_timeline(predictor, open_clip("long.mp4"), window=3.0, stride=0.5)
    out["segments"], out["narrative"]      # besides the whole video's answer dict

Each frame goes through the streams once (in chunks, so a long video never sits in memory); every window
then pools the model's slots from the inputs it covers (Pipeline.verdict_of_frames, windowed).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from actcap.caption import build_timeline
from actcap.config import TimelineConfig
from actcap.inference.result import Prediction

if TYPE_CHECKING:
    from actcap.inference.pipeline import Pipeline
    from actcap.inference.predictor import Predictor

FOLDER_FPS = 15.0  # a frame folder has no rate; 15 fps is UTD-MHAD's and a common webcam's


def window_starts(n: int, win: int, step: int) -> list[int]:
    """First frames of `win`-frame windows every `step` frames over n frames; the last window ends on the last
    frame, so the video's end is covered too. window_starts(10, 4, 4) -> [0, 4, 6]"""
    starts = list(range(0, max(1, n - win + 1), step))
    if n > win and starts[-1] != n - win:
        starts.append(n - win)
    return starts


def clip_inputs(pipeline: Pipeline, clip, chunk: int = 32) -> np.ndarray:
    """(n, D + 1) inputs of every frame of `clip`, decoded and run through the streams `chunk` frames at a time."""
    feats, buf, last = [], [], None
    for frame in clip.iter_frames():
        buf.append(frame)
        if len(buf) == chunk:
            feats.append(pipeline.inputs_after(np.stack(buf), last))  # (chunk, D + 1)
            buf, last = [], buf[-1]
    if buf:
        feats.append(pipeline.inputs_after(np.stack(buf), last))
    return np.concatenate(feats)  # (n, D + 1)


def predict_timeline(predictor: Predictor, clip, window: float = TimelineConfig.window,
                     stride: float = TimelineConfig.stride, smooth: int = TimelineConfig.smooth,
                     min_duration: float = TimelineConfig.min_duration,
                     min_confidence: float = TimelineConfig.min_confidence, chunk: int = 32) -> Prediction:
    """Slide a `window`-second clip over a long video every `stride` seconds and narrate the result: the
    prediction for the whole video plus `segments` and a one-sentence `narrative`."""
    t0 = time.perf_counter()
    if window <= 0 or stride <= 0:
        raise ValueError(f"--window and --stride must be > 0 seconds; got {window} and {stride}")
    fps = clip.fps or FOLDER_FPS
    n = len(clip)
    allf = clip_inputs(predictor, clip, chunk)  # (n, D + 1)
    win, step = max(1, round(window * fps)), max(1, round(stride * fps))
    warnings = list(clip.warnings)
    least = max(2, predictor.num_slots // 2)  # half the head's slots: fewer distinct frames say little about motion
    if win < least:  # a slide show or a GIF at 1 fps: a 3 s window would hold 3 frames
        warnings.append(f"{clip.name}: at {fps:g} fps a {window:g} s window holds {win} frame{'s' * (win != 1)}; "
                        f"each window holds {least} ({least / fps:g} s), half the model's {predictor.num_slots} slots")
        win = least
    starts = window_starts(n, win, step)
    verdicts = [predictor.verdict_of_frames(allf[a:a + win], windowed=True) for a in starts]
    scores = np.stack([v.probs for v in verdicts])  # (W, C)
    times = [(a / fps, min(a + win, n) / fps) for a in starts]
    timeline = build_timeline(scores, times, predictor.classes, smooth=smooth, min_duration=min_duration,
                              min_confidence=min_confidence, captions=predictor.captions,
                              states=[v.state for v in verdicts])
    out = predictor.result(predictor.judge.combine(verdicts, windowed=True), frames_received=n, frames_used=n,
                           warnings=warnings)
    out.update(timeline.to_dict())
    out["timing_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    return out
