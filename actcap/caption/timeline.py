"""A timeline for videos longer than one clip: window scores → segments → one narrative sentence.

Pure functions on score sequences; the predictor supplies (W, C) window probabilities and window times.

1. Smooth: a centred moving average over ``smooth`` windows, shrinking at the ends (no padding), so a one-window
   flicker between two agreeing neighbours disappears.
2. Label each window with its arg-max and merge runs of equal labels into segments. Each window owns the time
   from halfway between its centre and its neighbours' centres, so segments tile [first start, last end]
   without overlap even when windows overlap. A segment's confidence is the mean smoothed probability of its
   label over its windows.
3. Drop segments shorter than ``min_duration`` seconds or less confident than ``min_confidence``. Dropped time
   is left as a gap, unless the segments on both sides share a label: then they merge across it (the merged
   confidence is again the mean over all its windows). Steps 3 repeat until nothing changes.
4. Narrate in the simple present: "A person swipes to the left, waves, then claps their hands.".

With ``states`` (one per window: action, unknown or idle; judge.py), a window that is not an action counts as
fully sure of a pseudo-label of its state, so unknown and idle stretches form segments of their own (their
``label`` is empty, their ``state`` says which). The narrative tells action segments, skips idle ones and
says "does something I don't recognise" for unknown ones; a video with no action segment is narrated by
its state: "Nobody is moving." or "I don't recognise this action.".
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from actcap.caption.files import Captions
from actcap.caption.sentences import IDLE, UNCLEAR, UNKNOWN, UNKNOWN_PRESENT
from actcap.config import TimelineConfig

_PSEUDO = ("unknown", "idle")  # states that are not actions, as extra score columns


@dataclass(frozen=True)
class Segment:
    """One action between two times (seconds)."""

    start: float
    end: float
    label: str
    confidence: float
    state: str = "action"

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "label": self.label, "confidence": self.confidence,
                "state": self.state}


@dataclass(frozen=True)
class Timeline:
    segments: list[Segment]
    narrative: str

    def to_dict(self) -> dict:
        return {"segments": [s.to_dict() for s in self.segments], "narrative": self.narrative}


def smooth_scores(scores: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average of (W, C) scores over ``window`` windows; the average shrinks at the ends."""
    if window < 1:
        raise ValueError(f"smoothing window must be at least 1, got {window}")
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    if window == 1 or n == 0:
        return scores.copy()
    csum = np.concatenate([np.zeros((1, scores.shape[1])), np.cumsum(scores, axis=0)])  # (W+1, C)
    idx = np.arange(n)
    lo = np.clip(idx - (window - 1) // 2, 0, n)
    hi = np.clip(idx + window // 2 + 1, 0, n)
    return (csum[hi] - csum[lo]) / (hi - lo)[:, None]  # (W, C)


def narrate(labels: Sequence[str], captions: Captions | None = None, states: Sequence[str] | None = None,
            idle: str = IDLE) -> str:
    """"A person waves, then claps their hands." for labels in time order; no labels → unclear. With
    `states`, idle segments are skipped and unknown ones "do something I don't recognise"; a video that is
    idle throughout is told by `idle` (a pose model that saw nobody says "Nobody is in view.")."""
    states = list(states) if states is not None else ["action"] * len(labels)
    told = [(label, st) for label, st in zip(labels, states) if st != "idle"]
    if not told:
        return idle if states else UNCLEAR
    if all(st == "unknown" for _, st in told):
        return UNKNOWN
    captions = Captions() if captions is None else captions
    phrases = [captions.get(label).present if st == "action" else UNKNOWN_PRESENT for label, st in told]
    phrases = [p for i, p in enumerate(phrases) if i == 0 or p != phrases[i - 1]]  # no "…, then …" of one thing
    if len(phrases) == 1:
        return f"A person {phrases[0]}."
    return f"A person {', '.join(phrases[:-1])}, then {phrases[-1]}."


def merge_segments(segments: Sequence[Segment]) -> list[Segment]:
    """Neighbours of one label and state become one segment (across a gap between them, as build_timeline's
    step 3 merges), its confidence their mean weighted by duration."""
    out: list[Segment] = []
    for seg in segments:
        last = out[-1] if out else None
        if last is not None and (last.label, last.state) == (seg.label, seg.state):
            weight = last.duration + seg.duration
            confidence = (last.confidence * last.duration + seg.confidence * seg.duration) / weight if weight else \
                max(last.confidence, seg.confidence)
            out[-1] = Segment(last.start, seg.end, seg.label, confidence, seg.state)
        else:
            out.append(seg)
    return out


def narrate_segments(segments: Sequence[Segment], captions: Captions | None = None, idle: str = IDLE) -> str:
    """narrate() of segments that carry their states."""
    return narrate([s.label for s in segments], captions, [s.state for s in segments], idle)


def _check_inputs(scores: np.ndarray, times, classes, smooth, min_duration, min_confidence) -> None:
    issues = []
    if scores.ndim != 2:
        issues.append(f"scores must be (windows, classes), got shape {scores.shape}")
    else:
        if scores.shape[1] != len(classes):
            issues.append(f"scores have {scores.shape[1]} columns but there are {len(classes)} classes")
        if len(times) != len(scores):
            issues.append(f"{len(times)} window times for {len(scores)} windows of scores")
        if not np.isfinite(scores).all():
            issues.append("scores contain NaN or infinity")
    if any(len(t) != 2 or not t[1] > t[0] for t in times):
        issues.append("every window time must be (start, end) with end > start")
    elif any(b[0] < a[0] for a, b in zip(times, times[1:])):
        issues.append("windows must be in time order")
    if not isinstance(smooth, numbers.Integral) or smooth < 1:
        issues.append(f"smooth must be a whole number of windows ≥ 1, got {smooth}")
    if min_duration < 0:
        issues.append(f"min_duration must be ≥ 0 seconds, got {min_duration}")
    if not 0 <= min_confidence <= 1:
        issues.append(f"min_confidence must be between 0 and 1, got {min_confidence}")
    if issues:
        raise ValueError("build_timeline: " + "; ".join(issues))


def _merge_equal(pieces: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Merge neighbours with the same label; a piece is (first window, last window + 1, class index)."""
    out: list[tuple[int, int, int]] = []
    for first, stop, c in pieces:
        if out and out[-1][2] == c:
            out[-1] = (out[-1][0], stop, c)
        else:
            out.append((first, stop, c))
    return out


def build_timeline(scores: np.ndarray, times: Sequence[tuple[float, float]], classes: Sequence[str], *,
                   smooth: int = TimelineConfig.smooth, min_duration: float = TimelineConfig.min_duration,
                   min_confidence: float = TimelineConfig.min_confidence,
                   captions: Captions | None = None, states: Sequence[str] | None = None) -> Timeline:
    """Segments and a narrative from (W, C) window probabilities and each window's (start, end) seconds."""
    scores = np.array(scores, dtype=np.float64)  # a copy: states overwrite rows below, not the caller's array
    times = [tuple(map(float, t)) for t in times]
    _check_inputs(scores, times, classes, smooth, min_duration, min_confidence)
    if states is not None:
        bad = sorted({st for st in states if st not in ("action",) + _PSEUDO})
        if len(states) != len(scores) or bad:
            extra = f"; not a state: {', '.join(bad)}" if bad else ""
            raise ValueError(f"build_timeline: states must be one of action, unknown, idle per window; got "
                             f"{len(states)} states for {len(scores)} windows{extra}")
        pseudo = np.zeros((len(scores), len(_PSEUDO)))  # (W, 2)
        for i, st in enumerate(states):
            if st in _PSEUDO:
                scores[i] = 0.0
                pseudo[i, _PSEUDO.index(st)] = 1.0
        scores, classes = np.concatenate([scores, pseudo], axis=1), list(classes) + list(_PSEUDO)
    if len(scores) == 0:
        return Timeline([], UNCLEAR)
    smoothed = smooth_scores(scores, smooth)  # (W, C)
    centres = np.array([(s + e) / 2 for s, e in times])
    bounds = np.concatenate([[times[0][0]], (centres[:-1] + centres[1:]) / 2, [times[-1][1]]])  # (W+1,)

    def keep(piece: tuple[int, int, int]) -> bool:
        first, stop, c = piece
        return (bounds[stop] - bounds[first] >= min_duration
                and smoothed[first:stop, c].mean() >= min_confidence)

    pieces = _merge_equal([(i, i + 1, int(c)) for i, c in enumerate(smoothed.argmax(axis=1))])
    while True:
        kept = _merge_equal([p for p in pieces if keep(p)])
        if kept == pieces:
            break
        pieces = kept
    n_real = len(classes) - (len(_PSEUDO) if states is not None else 0)
    segments = [Segment(float(bounds[first]), float(bounds[stop]), classes[c] if c < n_real else "",
                        float(smoothed[first:stop, c].mean()), "action" if c < n_real else classes[c])
                for first, stop, c in pieces]
    if states is None:
        return Timeline(segments, narrate([s.label for s in segments], captions))
    return Timeline(segments, narrate([s.label for s in segments], captions, [s.state for s in segments]))
