"""From a verdict to the answer's fields: the one function every caller's answer goes through.

    answer(verdict, classes, captions, policy, top_k=5)
    → {"prediction", "confidence", "caption", "state", "open_set_score", "motion", "top_k"}

`Predictor.result` (predict, POST /predict, /stream, timelines) adds the model's name, frame counts, warnings
and timing; the exported bundle's runner carries this module (inference/export.py) and answers with the same
fields. numpy and caption/policy.py only, so that the runner can.
"""

from __future__ import annotations

import numpy as np

from actcap.caption.policy import CaptionPolicy, caption_of
from actcap.honesty.verdict import Verdict


def answer(verdict: Verdict, classes: list[str], captions=None, policy: CaptionPolicy | None = None,
           top_k: int = 5) -> dict:
    """Verdict → the answer's first fields (inference/result.py `Prediction`), probabilities rounded to 4 digits."""
    probs = verdict.probs
    order = np.argsort(-probs)[:top_k]
    top = [(classes[i], float(probs[i])) for i in order]
    score = None if verdict.open_set_score is None else round(verdict.open_set_score, 4)
    return {"prediction": top[0][0], "confidence": round(top[0][1], 4),
            "caption": caption_of(verdict.state, top, captions, policy, verdict.nobody), "state": verdict.state,
            "open_set_score": score, "motion": round(verdict.motion or 0.0, 4),
            "top_k": [{"label": lab, "confidence": round(p, 4)} for lab, p in top]}


def few_frames_warning(n: int, expected: int, where: str = "given") -> str | None:
    """The warning for a clip shorter than the model's time slots (its frames are repeated), else None."""
    if n >= expected:
        return None
    return f"{n} frame{'s' if n != 1 else ''} {where}; {expected} expected; frames were repeated"
