"""The open-set protocol's pieces: synthetic negatives and the per-action summary (negatives.py, protocol.py)."""

import numpy as np
import pytest

from actcap.honesty.motion import IDLE_LEVEL, motion_levels
from actcap.training.negatives import blend, list_negatives, make_negative
from actcap.training.protocol import summarize


def _person(t: int = 10, h: int = 60, w: int = 80) -> np.ndarray:
    """A still, textured room with a bright block (a person) in the middle."""
    rng = np.random.default_rng(0)
    room = rng.integers(0, 200, (h, w, 3), dtype=np.uint8)
    room[20:50, 35:45] = 255
    return np.repeat(room[None], t, axis=0)


def test_negatives_keep_the_shape_and_camera_motion_moves():
    still = _person()
    assert list_negatives() == ["half_out", "pan", "reverse", "shuffle", "zoom", "blend"]
    for name in ("half_out", "pan", "reverse", "shuffle", "zoom"):
        out = make_negative(name, still)
        assert out.shape == still.shape and out.dtype == np.uint8, name
    assert motion_levels(make_negative("pan", still))[1:].min() > IDLE_LEVEL  # the camera moves, the room too
    assert motion_levels(make_negative("zoom", still))[1:].min() > IDLE_LEVEL
    half = make_negative("half_out", still)
    assert (half[:, :, 40:] == still[:, :, :40]).all()  # shifted right by half the width
    assert (make_negative("reverse", np.arange(4, dtype=np.uint8).reshape(4, 1, 1, 1).repeat(3, 3))[:, 0, 0, 0]
            == [3, 2, 1, 0]).all()
    mixed = blend(np.zeros((5, 2, 2, 3), np.uint8), np.full((3, 2, 2, 3), 200, np.uint8))
    assert mixed.shape == (3, 2, 2, 3) and (mixed == 100).all()


def _fold(action, known, unknown, negatives, threshold, right):
    return {"action": action, "group": "1", "temperature": 1.0, "negative_kinds": ["pan"] * len(negatives),
            "known_labels": [0] * len(known),
            "known_probs": [[0.9, 0.1] if r else [0.1, 0.9] for r in right],
            "scores": {"s": {"threshold": threshold, "held_out": [], "known": known, "unknown": unknown,
                             "negatives": negatives}}}


def test_summary_counts_only_accepted_right_answers():
    folds = [_fold("a", known=[0.1, 0.2, 0.9, 0.3], unknown=[0.8, 0.1], negatives=[0.95], threshold=0.5,
                   right=[True, False, True, True]),
             _fold("b", known=[0.1, 0.1], unknown=[0.7, 0.9], negatives=[0.2, 0.6], threshold=0.5,
                   right=[True, True])]
    out = summarize(folds, ["a", "b"], ["s"])["scores"]["s"]
    a, b = out["per_action"]["a"], out["per_action"]["b"]
    assert a["known_accuracy"] == 0.5  # right and accepted: 0.1 and 0.3 (0.2 is wrong, 0.9 rejected)
    assert (a["unknown_rejection"], a["negative_rejection"], a["auroc"]) == (0.5, 1.0, pytest.approx(7 / 16))
    assert (b["known_accuracy"], b["unknown_rejection"], b["negative_rejection"]) == (1.0, 1.0, 0.5)
    assert out["mean"]["unknown_rejection"] == 0.75
