"""Before a teach job trains on top of a base model: do any new labels duplicate one of its actions?

    warnings = find_duplicates(examples, feats, base_dir)    # [] when nothing looks duplicated

Two kinds: the same name as a base action (any case or separator: "Wave" and "wave"), and examples that the
base model itself already answers as one of its actions ("hello" recorded as waves, answered `wave`). Trained
together, a duplicate and the base action split the same motion between two labels, and the base action,
with far more examples, usually wins every time: the new label is never said. The job stops with these
warnings unless the request allows duplicates; "only my labels" (base none) avoids them altogether.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from actcap.caption.grammar import label_key

log = logging.getLogger(__name__)
SAME_ANSWER = 0.5
"""A new label duplicates a base action when more than this share of its examples is answered as that action."""


def find_duplicates(examples: list, feats: list[np.ndarray], base_dir: Path, base_classes: list[str]) -> list[str]:
    """One sentence per new label that duplicates a base action (module docstring)."""
    from actcap.data.pooling import slot_features
    from actcap.honesty.judge import Judge
    from actcap.models.recognizer import Recognizer

    keys = {label_key(c): c for c in base_classes}
    answers: dict[str, Counter] = defaultdict(Counter)
    judge = None
    warnings = []
    for e, f in zip(examples, feats):
        if label_key(e.label) in keys:
            continue
        if judge is None:
            if not (base_dir / "model.safetensors").is_file():  # examples and config only: names are all to go by
                log.info("%s has no weights; new labels are compared with its actions by name only", base_dir)
                break
            judge = Judge(Recognizer.load(base_dir))
        # the examples' features are the cache's rows (L, D); a motion column of 1 keeps the judge from calling
        # them idle (the question here is which action, not whether anyone moves)
        x = np.concatenate([f, np.ones((len(f), 1), f.dtype)], axis=1)  # (L, D + 1)
        verdict = judge(slot_features(x, judge.model.config.num_slots, judge.model.config.sampling)[0])
        answers[e.label][base_classes[int(verdict.probs.argmax())] if verdict.state == "action" else ""] += 1
    for label in sorted({e.label for e in examples}):
        if label_key(label) in keys:
            warnings.append(f"'{label}' is already an action of the base model ('{keys[label_key(label)]}'): your "
                            "examples would be added to its examples")
            continue
        n = sum(answers[label].values())
        top, hits = next(((a, k) for a, k in answers[label].most_common() if a), ("", 0))
        if n and hits / n > SAME_ANSWER:
            warnings.append(f"'{label}' looks like the base model's '{top}': it already answers {hits} of your {n} "
                            f"examples as '{top}', so the model would rarely say '{label}'")
    return warnings
