"""The one set of rules from a head's output to a verdict: calibrated probabilities, open-set score and state.

    rules = Rules.from_config(config.calibration, config.open_set, tensors)    # a model's fitted values
    v = rules.verdict(logits, embedding, motion)        # (C,) logits, (E,) embedding → Verdict
    v.state                                             # "action" | "unknown" | "idle"

- `idle`: nothing moves (motion.py): the busiest time slot's motion level is under `idle_level`; or, for a
  model with a pose stream, nobody is in view (the caller's `nobody`, from the stream; the verdict's `nobody`).
- `unknown`: something moves, but the open-set score (openset.py) is above the threshold fitted at training
  (training/held_out.py); a window cut from a longer stream (live video, timelines) is judged by
  `window_threshold`; or, for a model trained with `--unknown-below`, its calibrated confidence is under
  that. Models without a score, or `--open-set off`, never answer unknown.
- `action`: otherwise; `probs` are the head's softmax at the model's fitted temperature.
- A live stream holds an action it is saying (`Rules.hold`): the next window stays `action` while the head still
  names that action and its score stays within `LIVE_HOLD` of the window threshold (a gesture going on is not
  dropped for one less familiar window); saying an action in the first place still takes the window threshold.

numpy only: the Predictor's Judge (judge.py, which runs the torch head), `actcap evaluate` and the exported
bundle's runner (inference/export.py copies this module into bundle/runner.py) all decide with this code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from actcap.honesty.motion import IDLE_LEVEL, is_idle
from actcap.honesty.openset import Score, load_score

STATES = ("action", "unknown", "idle")
LIVE_HOLD = 1.1
"""How far past the window threshold a live stream keeps saying the action it is saying (× the threshold, on
its scale: threshold + 0.1 × |threshold|). Measured (studies/live_hold.py; docs/model-card.md, "Session 11"): each
held-out person's real waves, a steady wave 0.81 → 0.91 of full-window updates, one pass 0.92 → 0.98; footage
of other things answered as an action in 0.176 → 0.189 of its updates, by the same four clips."""


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


@dataclass
class Verdict:
    probs: np.ndarray  # (C,) calibrated
    open_set_score: float | None  # None: the model has no open-set score, or it is switched off
    motion: float | None  # motion level of the busiest slot; None: not measured (cached features), never idle
    state: str
    nobody: bool = False  # a pose model saw no person in any slot (state "idle")


class Rules:
    """A model's temperature, fitted open-set score with its thresholds, and the idle level."""

    def __init__(self, temperature: float = 1.0, score: Score | None = None, threshold: float | None = None,
                 window_threshold: float | None = None, idle_level: float = IDLE_LEVEL):
        self.temperature, self.score, self.idle_level = float(temperature), score, idle_level
        self.threshold = threshold
        self.window_threshold = threshold if window_threshold is None else window_threshold
        self.best_view = False  # judge windows by their most familiar view (models with a window threshold)
        self.unknown_below = 0.0  # a calibrated confidence under it is unknown too (open_set.unknown_below)

    @classmethod
    def from_config(cls, calibration: dict, open_set: dict, tensors: dict, use_open_set: bool = True,
                    idle_level: float = IDLE_LEVEL) -> "Rules":
        """From a model's `calibration` and `open_set` config and its `open_set.*` tensors (prefix removed)."""
        rules = cls(float(calibration.get("temperature", 1.0)), idle_level=idle_level)
        if use_open_set and open_set:
            rules.score = load_score(open_set, tensors)
            rules.threshold = float(open_set["threshold"])
            rules.window_threshold = float(open_set.get("window_threshold", open_set["threshold"]))
            rules.best_view = bool(open_set.get("window_threshold"))
            rules.unknown_below = float(open_set.get("unknown_below", 0.0))
        return rules

    def verdicts(self, logits: np.ndarray, emb: np.ndarray, motion: np.ndarray | None = None,
                 windowed: bool = False, nobody: list[bool] | None = None, held: bool | None = None
                 ) -> list[Verdict]:
        """(N, C) logits, (N, E) embeddings, (N,) motion levels (None: not measured) and whether nobody is in
        view (None: not known) → N verdicts. `held`: scored against the means of the clips' middles too
        (openset.py; by default a window's is, a clip's not)."""
        held = windowed if held is None else held
        scores = self.score.score(emb, logits, held) if self.score is not None else [None] * len(logits)
        motion = [None] * len(logits) if motion is None else motion
        nobody = [False] * len(logits) if nobody is None else nobody
        return [self.decide(softmax(lg / self.temperature), None if s is None else float(s),
                            None if m is None else float(m), windowed, bool(no))
                for lg, s, m, no in zip(logits, scores, motion, nobody)]

    def decide(self, probs: np.ndarray, score: float | None, motion: float | None, windowed: bool = False,
               nobody: bool = False) -> Verdict:
        if nobody or (motion is not None and is_idle(np.array([motion]), self.idle_level)):  # nothing moves
            state = "idle"
        elif score is not None and (score > (self.window_threshold if windowed else self.threshold)
                                    or probs.max() < self.unknown_below):
            state = "unknown"
        else:
            state = "action"
        return Verdict(probs, score, motion, state, nobody)

    def hold(self, said: Verdict | None, now: Verdict, factor: float = LIVE_HOLD) -> Verdict:
        """A live stream's answer for its newest window: `now`, except that an action the stream was just saying
        (`said`, its previous answer) stays `action` while the head still names it and the window's score is
        within `factor` × the window threshold: hysteresis, so a gesture going on is not dropped for one less
        familiar window. `factor` 1 never holds."""
        if (said is None or said.state != "action" or now.state != "unknown" or now.open_set_score is None
                or int(np.argmax(now.probs)) != int(np.argmax(said.probs)) or now.probs.max() < self.unknown_below
                or now.open_set_score > self.window_threshold + (factor - 1) * abs(self.window_threshold)):
            return now
        return Verdict(now.probs, now.open_set_score, now.motion, "action", now.nobody)

    def best_of(self, views: list[Verdict]) -> Verdict:
        """A window's views (the whole window first) → the most familiar one's probabilities and score, judged
        by the window threshold, with the whole window's motion."""
        if not self.best_view or len(views) == 1:
            return views[0]
        best = min(views, key=lambda v: v.open_set_score)
        return self.decide(best.probs, best.open_set_score, views[0].motion, windowed=True, nobody=views[0].nobody)

    def combine(self, verdicts: list[Verdict], windowed: bool = False) -> Verdict:
        """Several views of one clip (or the windows of a timeline: `windowed`): mean probabilities and score, the
        busiest motion, the state anew."""
        scores = [v.open_set_score for v in verdicts if v.open_set_score is not None]
        motions = [v.motion for v in verdicts if v.motion is not None]
        return self.decide(np.mean([v.probs for v in verdicts], axis=0), float(np.mean(scores)) if scores else None,
                           max(motions) if motions else None, windowed, all(v.nobody for v in verdicts))
