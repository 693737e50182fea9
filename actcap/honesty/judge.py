"""From the head's output to an honest answer: calibrated probabilities and a state.

    judge = Judge(model)                       # reads the model's temperature and open-set score
    v = judge(slots)                            # (T, D + 1): the head's time slots + a motion column
    v = judge.window([slots, ...])              # a live or timeline window's views: the window threshold
    v.state                                     # "action" | "unknown" | "idle"

- `idle`: nothing moves (motion.py): every slot's motion level is under `IDLE_LEVEL`; no model needed. Or, for a
  model with a pose stream, nobody is in view: no slot shows a person (`in_view`, set by the pipeline from the
  stream; the verdict's `nobody` is then true, and the caption says "Nobody is in view.").
- `unknown`: something moves, but the open-set score (openset.py) is above the threshold fitted at training
  (held_out.py). Models without one, or `--open-set off`, never answer unknown. A whole clip is judged by
  `threshold`; a window cut from a longer stream (live video, timelines) by its most familiar view
  (held_out.window_views) against `window_threshold`, fitted the same way on sliding windows of held-out clips.
  Models saved before it existed judge the whole window by `threshold`.
- `action`: otherwise; `probs` are the head's softmax at the model's fitted temperature.

The predictor appends each frame's motion level as a last column to the stream features, so the motion
travels through the same slot pooling, live window and timeline as the features do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from actcap.honesty.calibration import softmax
from actcap.honesty.motion import IDLE_LEVEL, is_idle
from actcap.honesty.openset import head_outputs, load_score
from actcap.models.recognizer import Recognizer

STATES = ("action", "unknown", "idle")


@dataclass
class Verdict:
    probs: np.ndarray  # (C,) calibrated
    open_set_score: float | None  # None: the model has no open-set score, or it is switched off
    motion: float  # motion level of the busiest slot
    state: str
    nobody: bool = False  # a pose model saw no person in any slot (state "idle")


class Judge:
    def __init__(self, model: Recognizer, open_set: bool = True, idle_level: float = IDLE_LEVEL):
        self.model = model
        self.temperature = float(model.config.calibration.get("temperature", 1.0))
        self.idle_level = idle_level
        self.in_view: Callable[[np.ndarray], bool] | None = None
        """(T, D) slot features → whether they show a person; set by the pipeline for a model with a pose stream."""
        self.score, self.threshold, self.window_threshold = None, None, None
        spec = model.config.open_set
        if open_set and spec:
            tensors = {k.removeprefix("open_set."): v for k, v in model.extra_tensors.items()}
            self.score = load_score(spec, tensors)
            self.threshold = float(spec["threshold"])
            self.window_threshold = float(spec.get("window_threshold", spec["threshold"]))
        self.best_view = bool(spec.get("window_threshold")) and self.score is not None

    @torch.no_grad()
    def __call__(self, slots: np.ndarray, windowed: bool = False) -> Verdict:
        """(T, D + 1) slot features whose last column is the motion level → Verdict; `windowed`: the slots come
        from a window of a longer stream, not from a whole clip."""
        x = torch.from_numpy(np.ascontiguousarray(slots[:, :-1], dtype=np.float32))[None]  # (1, T, D)
        logits, emb = head_outputs(self.model.eval().head, x)
        logits, emb = logits.numpy(), emb.numpy()
        score = float(self.score.score(emb, logits)[0]) if self.score is not None else None
        nobody = self.in_view is not None and not self.in_view(slots[:, :-1])
        return self.decide(softmax(logits[0] / self.temperature), score, float(np.max(slots[:, -1])), windowed,
                           nobody)

    @torch.no_grad()
    def window(self, views: list[np.ndarray]) -> Verdict:
        """(T, D + 1) slots of a window's views (held_out.window_views; the whole window first) → Verdict of the
        most familiar view (lowest open-set score: its probabilities, judged by the window threshold) with the
        whole window's motion."""
        whole = self(views[0], windowed=True)
        if not self.best_view or len(views) == 1:
            return whole
        best = min([whole] + [self(v, windowed=True) for v in views[1:]], key=lambda v: v.open_set_score)
        return self.decide(best.probs, best.open_set_score, whole.motion, windowed=True, nobody=whole.nobody)

    def decide(self, probs: np.ndarray, score: float | None, motion: float, windowed: bool = False,
               nobody: bool = False) -> Verdict:
        if nobody or is_idle(np.array([motion]), self.idle_level):
            state = "idle"
        elif score is not None and score > (self.window_threshold if windowed else self.threshold):
            state = "unknown"
        else:
            state = "action"
        return Verdict(probs, score, motion, state, nobody)

    def combine(self, verdicts: list[Verdict], windowed: bool = False) -> Verdict:
        """Several views of one clip (or the windows of a timeline: `windowed`): mean probabilities and score, the
        busiest motion, the state anew."""
        scores = [v.open_set_score for v in verdicts if v.open_set_score is not None]
        return self.decide(np.mean([v.probs for v in verdicts], axis=0), float(np.mean(scores)) if scores else None,
                           max(v.motion for v in verdicts), windowed, all(v.nobody for v in verdicts))
