"""A long video as a timeline: slide a window over it, judge each window, narrate the result.

    out = predict_timeline(predictor, open_clip("long.mp4"), window=3.0, stride=0.5)
    out["segments"], out["narrative"]      # besides the whole video's answer dict

Each frame goes through the streams once (in chunks, so a long video never sits in memory); every window
then pools the model's slots from the inputs it covers (Pipeline.verdict_of_frames, windowed).

Windows say *where* each action is; each segment is then judged on its own frames. A window that straddles
two actions (most do, when actions last about as long as a window) looks like neither and used to read
"unknown", so known actions were narrated "…, does something I don't recognise, then …" and the whole
video's answer, the mean over windows, named a third action. Now the windows' labels (idle windows kept as
such) cut the video into segments, each segment's frames get one verdict (action, with its label, or
unknown), and the whole video's answer is its longest action segment's verdict: the headline never
contradicts the narrative. Footage unlike the training clips stays unknown: its segments are judged too.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from actcap.caption import Segment, build_timeline, merge_segments, narrate_segments
from actcap.caption.policy import IDLE, NOBODY
from actcap.config import TimelineConfig
from actcap.inference.result import Prediction

if TYPE_CHECKING:
    from actcap.honesty.judge import Verdict
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
    found = build_timeline(scores, times, predictor.classes, smooth=smooth, min_duration=min_duration,
                           min_confidence=min_confidence,
                           states=["idle" if v.state == "idle" else "action" for v in verdicts])
    segments, own = judge_segments(predictor, allf, fps, found.segments)
    out = predictor.result(headline(predictor, verdicts, segments, own), frames_received=n, frames_used=n,
                           warnings=warnings)
    out.update(told(predictor, segments, nobody=all(v.nobody for v in verdicts)))
    out["timing_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    return out


def judge_segments(predictor: Predictor, inputs: np.ndarray, fps: float,
                   segments: list[Segment]) -> tuple[list[Segment], dict[int, Verdict]]:
    """Each action segment judged on the (L, D + 1) `inputs` of its own frames, as a window of the stream: an
    action (its label the verdict's) or unknown; idle segments stay. Neighbours that end up alike merge.
    Returns the segments and, by index into them, the verdict of each action segment."""
    judged: list[tuple[Segment, Verdict | None]] = []
    for seg in segments:
        a, b = round(seg.start * fps), max(round(seg.start * fps) + 1, round(seg.end * fps))
        if seg.state != "action":
            judged.append((seg, None))
            continue
        verdict = predictor.verdict_of_frames(inputs[a:b], windowed=True)
        if verdict.state == "action":
            best = int(np.argmax(verdict.probs))
            judged.append((replace(seg, label=predictor.classes[best], confidence=float(verdict.probs[best])),
                           verdict))
        else:  # its own frames are unfamiliar (or still): not an action, whatever the windows' labels said
            judged.append((replace(seg, label="", state=verdict.state), None))
    merged = merge_segments([seg for seg, _ in judged])
    longest: dict[int, tuple[float, Verdict]] = {}
    for seg, verdict in judged:  # the verdict of a merged action segment: that of its longest part
        if verdict is not None:
            i = next(k for k, m in enumerate(merged) if m.start <= seg.start and seg.end <= m.end)
            if i not in longest or seg.duration > longest[i][0]:
                longest[i] = (seg.duration, verdict)
    return merged, {i: verdict for i, (_, verdict) in longest.items()}


def headline(predictor: Predictor, windows: list[Verdict], segments: list[Segment],
             own: dict[int, Verdict]) -> Verdict:
    """The whole video's verdict, told as the narrative tells it: the longest action segment's; with none, the
    windows' mean probabilities in the state the segments have (unknown before idle)."""
    if own:
        return own[max(own, key=lambda i: segments[i].duration)]
    combined = predictor.judge.combine(windows, windowed=True)
    states = {seg.state for seg in segments}
    for state in ("unknown", "idle"):
        if state in states:
            return replace(combined, state=state)
    return combined


def narrate_windows(predictor: Predictor, inputs: np.ndarray, windows: list[tuple[int, int, Verdict]],
                    fps: float = FOLDER_FPS) -> dict:
    """`segments` and `narrative` of a stream's recent past, as a timeline tells a video: (L, D + 1) `inputs` of
    its last L frames and the verdicts already given on windows of them, (first, end) as row numbers of `inputs`
    (live.py: one per live update). Segment times are seconds from the first of those frames at `fps`."""
    if not windows:
        return told(predictor, [])
    found = build_timeline(np.stack([v.probs for _, _, v in windows]), [(a / fps, b / fps) for a, b, _ in windows],
                           predictor.classes, states=["idle" if v.state == "idle" else "action" for *_, v in windows])
    segments, _ = judge_segments(predictor, inputs, fps, found.segments)
    return told(predictor, segments, nobody=all(v.nobody for *_, v in windows))


def told(predictor: Predictor, segments: list[Segment], nobody: bool = False) -> dict:
    """The `segments` and `narrative` fields of an answer; `nobody`: every window of a pose model saw no person,
    so a video idle throughout is told as the whole answer's caption tells it."""
    return {"segments": [seg.to_dict() for seg in segments],
            "narrative": narrate_segments(segments, predictor.captions, NOBODY if nobody else IDLE)}
