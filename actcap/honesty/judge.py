"""From the head's output to an honest answer: the torch head run on a clip's slots, then verdict.py's rules.

    judge = Judge(model)                       # reads the model's temperature and open-set score
    v = judge(slots)                            # (T, D + 1): the head's time slots + a motion column
    v = judge.window([slots, ...])              # a live or timeline window's views: the window threshold
    v.state                                     # "action" | "unknown" | "idle"

The rules themselves (temperature, open-set threshold, window threshold, idle) are verdict.py's `Rules`, which
`actcap evaluate` and the exported bundle apply too. The predictor appends each frame's motion level as a last
column to the stream features, so the motion travels through the same slot pooling, live window and timeline
as the features do. For a model with a pose stream, `in_view` (set by the pipeline from the stream) says
whether the slots show a person; nobody in view is `idle` too, with the verdict's `nobody` true ("Nobody is in
view."). A window's views are windows.window_views: the whole window, then its first, middle and last parts;
models saved before the window threshold existed judge the whole window by `threshold`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from actcap.honesty.motion import IDLE_LEVEL
from actcap.honesty.verdict import STATES, Rules, Verdict
from actcap.models.heads import head_outputs
from actcap.models.recognizer import Recognizer

__all__ = ["STATES", "Judge", "Verdict", "model_rules"]


def model_rules(model: Recognizer, open_set: bool = True, idle_level: float = IDLE_LEVEL) -> Rules:
    """The rules a saved model's config and `open_set.*` tensors describe."""
    tensors = {k.removeprefix("open_set."): v.numpy() for k, v in model.extra_tensors.items()}
    return Rules.from_config(model.config.calibration, model.config.open_set, tensors, open_set, idle_level)


class Judge(Rules):
    def __init__(self, model: Recognizer, open_set: bool = True, idle_level: float = IDLE_LEVEL):
        self.__dict__.update(model_rules(model, open_set, idle_level).__dict__)
        self.model = model
        self.in_view: Callable[[np.ndarray], bool] | None = None
        """(T, D) slot features → whether they show a person; set by the pipeline for a model with a pose stream."""

    @torch.no_grad()
    def __call__(self, slots: np.ndarray, windowed: bool = False, held: bool | None = None) -> Verdict:
        """(T, D + 1) slot features whose last column is the motion level → Verdict; `windowed`: the slots come
        from a window of a longer stream, not from a whole clip; `held`: Rules.verdicts."""
        x = torch.from_numpy(np.ascontiguousarray(slots[:, :-1], dtype=np.float32))[None]  # (1, T, D)
        logits, emb = head_outputs(self.model.eval().head, x)
        nobody = self.in_view is not None and not self.in_view(slots[:, :-1])
        return self.verdicts(logits.numpy(), emb.numpy(), np.max(slots[:, -1:], axis=0), windowed, [nobody],
                             held)[0]

    def window(self, views: list[np.ndarray]) -> Verdict:
        """(T, D + 1) slots of a window's views (the whole window first) → Verdict of the most familiar view
        (lowest open-set score: its probabilities, judged by the window threshold) with the whole window's
        motion."""
        whole = self(views[0], windowed=True)
        if not self.best_view or len(views) == 1:
            return whole
        # only the whole window is compared with the clips' middles (a gesture held through it); its parts, as
        # before the middles, with the whole clips, so a part never wins by resembling another class's middle
        return self.best_of([whole] + [self(v, windowed=True, held=False) for v in views[1:]])
