"""`--unknown-below`: a model can also answer `unknown` when its calibrated confidence is under a floor
(verdict.py; the `everyday` model's 0.5: no action more likely wrong than right is claimed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_openset import _trained

from actcap.cli import build_parser
from actcap.cli.options import train_config
from actcap.config import TrainConfig
from actcap.honesty.judge import model_rules
from actcap.honesty.verdict import Rules, Verdict
from actcap.models.recognizer import Recognizer


def floor_rules(floor: float) -> Rules:
    rules = Rules(threshold=0.7, window_threshold=0.5)
    rules.unknown_below = floor
    return rules


def test_an_answer_under_the_floor_is_unknown_and_its_probabilities_stay():
    rules = floor_rules(0.5)
    assert rules.decide(np.array([0.2, 0.8]), 0.3, 0.1).state == "action"
    assert rules.decide(np.array([0.52, 0.48]), 0.3, 0.1).state == "action"  # 0.52 ≥ 0.5
    low = rules.decide(np.array([0.4, 0.35, 0.25]), 0.3, 0.1)
    assert low.state == "unknown" and low.probs.max() == pytest.approx(0.4)  # the probabilities are kept
    assert rules.decide(np.array([0.4, 0.35, 0.25]), 0.3, 0.001).state == "idle"  # nothing moves: idle first
    assert rules.decide(np.array([0.4, 0.35, 0.25]), None, 0.1).state == "action"  # open set off: no floor
    assert floor_rules(0.0).decide(np.array([0.4, 0.35, 0.25]), 0.3, 0.1).state == "action"
    assert floor_rules(0.5).decide(np.array([0.8, 0.2]), 0.8, 0.1).state == "unknown"  # the score still rules


def test_a_live_stream_does_not_hold_an_answer_under_the_floor():
    rules = floor_rules(0.5)
    said = Verdict(np.array([0.1, 0.9]), 0.4, 0.1, "action")
    assert rules.hold(said, rules.decide(np.array([0.3, 0.7]), 0.52, 0.1)).state == "action"  # held: score
    unsure = rules.decide(np.array([0.3, 0.4, 0.3]), 0.3, 0.1)
    assert unsure.state == "unknown"
    assert rules.hold(Verdict(np.array([0.1, 0.9, 0.0]), 0.4, 0.1, "action"), unsure).state == "unknown"


def test_training_stores_the_floor_and_the_model_applies_it(tmp_path):
    model = _trained(tmp_path, unknown_below=0.6)
    assert model.config.open_set["unknown_below"] == 0.6
    assert model.config.open_set["rule"].endswith("; and unknown under confidence 0.6")
    model.save(tmp_path / "run")
    assert model_rules(Recognizer.load(tmp_path / "run")).unknown_below == 0.6
    plain = _trained(tmp_path)
    assert "unknown_below" not in plain.config.open_set and model_rules(plain).unknown_below == 0.0


def test_the_flag_reaches_the_config_and_bad_values_are_refused():
    cfg = train_config(build_parser().parse_args(["train", "--data", "d", "--out", "o", "--unknown-below", "0.5"]),
                       out=Path("o"))
    assert cfg.unknown_below == 0.5
    with pytest.raises(ValueError, match=r"`--unknown-below` is a probability in \[0, 1\); got 1.0"):
        TrainConfig(out=Path("o"), unknown_below=1.0).check()
    with pytest.raises(ValueError, match="`--unknown-below` is an open-set rule; it needs `--open-set on`"):
        TrainConfig(out=Path("o"), unknown_below=0.5, open_set=False).check()


def test_an_exported_bundle_keeps_the_floor(tmp_path):
    """`actcap export --model everyday`: the bundle's runner decides with the same rules, the floor included."""
    from actcap.inference.export import BundlePredictor, export_bundle
    from actcap.models.store import SHIPPED_DIR

    config = export_bundle(SHIPPED_DIR.parent / "models" / "everyday", tmp_path / "bundle")
    assert config["open_set"]["unknown_below"] == 0.5
    rules = BundlePredictor(tmp_path / "bundle").rules
    assert rules.unknown_below == 0.5
    assert rules.decide(np.full(33, 1 / 33), 0.0, 0.1).state == "unknown"
