"""From the model's top-k (label, probability) pairs, and the answer's state, to one honest sentence.

    caption_for([("clap", 0.82), ("wave", 0.10)])   → "A person is clapping their hands."
    caption_for([("clap", 0.45), ("wave", 0.20)])   → "A person appears to be clapping their hands."
    caption_for([("wave", 0.41), ("clap", 0.38)])   → "A person is either waving or clapping."
    caption_for([("clap", 0.22), ("wave", 0.20)])   → "The action is unclear."
    caption_of("idle", top_k)                         → "Nobody is moving."

No actcap import at the top: the exported bundle's runner carries this module (inference/export.py), with a
captions table that answers `.get(label)` as `Captions` does.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

UNCLEAR = "The action is unclear."
UNKNOWN = "I don't recognise this action."
"""Said when something moves but matches none of the model's actions (state `unknown`)."""
IDLE = "Nobody is moving."
"""Said when nothing moves: nobody there, a still person, blank or frozen frames (state `idle`)."""
NOBODY = "Nobody is in view."
"""Said (state `idle`) when a model with a pose stream finds no person in the frames."""


@dataclass(frozen=True)
class CaptionPolicy:
    """Thresholds on probabilities that choose the form of a caption. The forms are tried in order:
    either (top two close), confident, unclear, and otherwise hedged."""

    confident: float = 0.6
    """Top probability at or above which the plain sentence is used: "A person is clapping their hands."."""
    unclear: float = 0.3
    """Top probability below which the caption is "The action is unclear."; in between it is hedged:
    "A person appears to be clapping their hands."."""
    close_margin: float = 0.15
    """The top two are close when top1 − top2 < close_margin …"""
    close_min: float = 0.25
    """… and top2 ≥ close_min; then the caption names both: "A person is either waving or clapping."."""

    def __post_init__(self):
        issues = [f"{name} must be between 0 and 1, got {getattr(self, name)}"
                  for name in ("confident", "unclear", "close_margin", "close_min")
                  if not 0.0 <= getattr(self, name) <= 1.0]
        if not issues and self.unclear > self.confident:
            issues.append(f"unclear ({self.unclear}) must not exceed confident ({self.confident})")
        if issues:
            raise ValueError("invalid CaptionPolicy: " + "; ".join(issues))


def _check_scores(top_k: list[tuple[str, float]]) -> list[tuple[str, float]]:
    bad = [f"{label!r}: {p}" for label, p in top_k
           if not isinstance(p, numbers.Real) or math.isnan(p) or not -1e-6 <= p <= 1 + 1e-6]
    if bad:
        raise ValueError(f"caption_for expects probabilities between 0 and 1; got {', '.join(bad)}")
    return sorted(top_k, key=lambda pair: -pair[1])  # stable: ties keep the model's order


def caption_of(state: str, top_k: list[tuple[str, float]], captions=None, policy: CaptionPolicy | None = None,
               nobody: bool = False) -> str:
    """The caption of an answer: what its state says (`unknown`, `idle`; `nobody`: a pose model saw no person),
    else `caption_for` its top-k."""
    fixed = NOBODY if nobody else {"idle": IDLE, "unknown": UNKNOWN}.get(state)
    return fixed or caption_for(top_k, captions, policy)


def caption_for(top_k: list[tuple[str, float]], captions=None, policy: CaptionPolicy | None = None) -> str:
    """The caption for a prediction; ``top_k`` holds (label, probability) pairs in any order; `captions`: a
    `Captions` (files.py; None: the built-in table)."""
    if captions is None:
        from actcap.caption.files import Captions  # here: files.py imports sentences.py, which imports this

        captions = Captions()
    policy = CaptionPolicy() if policy is None else policy
    ranked = _check_scores(list(top_k))
    if not ranked:
        return UNCLEAR
    (label1, p1), (label2, p2) = ranked[0], ranked[1] if len(ranked) > 1 else ("", 0.0)
    first = captions.get(label1)
    if label2 and label2 != label1 and p1 - p2 < policy.close_margin and p2 >= policy.close_min:
        second = captions.get(label2)
        a, b = (first.short, second.short) if first.short != second.short else (first.verb, second.verb)
        if a != b:
            return f"A person is either {a} or {b}."
    if p1 >= policy.confident:
        return first.sentence
    if p1 < policy.unclear:
        return UNCLEAR
    return f"A person appears to be {first.verb}."
