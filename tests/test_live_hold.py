"""A live stream holds the action it is saying a little past the window threshold (verdict.py `Rules.hold`):
hysteresis, so one less familiar window of a gesture going on does not drop it, while saying an action in the
first place still takes the threshold."""

from __future__ import annotations

import numpy as np
import pytest
from serve_fixtures import moving_frames

from actcap.honesty.verdict import LIVE_HOLD, Rules, Verdict

WAVE, CLAP = np.array([0.1, 0.9]), np.array([0.8, 0.2])


def v(probs, score, state="unknown", motion=0.1):
    return Verdict(np.asarray(probs), score, motion, state)


RULES = Rules(threshold=0.7, window_threshold=0.5)  # held up to 0.55


def test_an_action_being_said_is_held_while_the_head_names_it_and_the_score_stays_near_the_threshold():
    said = v(WAVE, 0.45, "action")
    held = RULES.hold(said, v(WAVE, 0.54))
    assert (held.state, held.open_set_score, held.motion) == ("action", 0.54, 0.1)
    np.testing.assert_array_equal(held.probs, WAVE)
    assert RULES.hold(held, v(WAVE, 0.549)).state == "action"  # and again, from a held answer
    assert RULES.hold(said, v(WAVE, 0.56)).state == "unknown"  # past 1.1 × the threshold
    assert RULES.hold(said, v(CLAP, 0.51)).state == "unknown"  # the head names another action


@pytest.mark.parametrize("said", [None, v(WAVE, 0.6, "unknown"), v(WAVE, 0.3, "idle")],
                         ids=["first", "unknown", "idle"])
def test_nothing_is_held_unless_an_action_was_being_said(said):
    assert RULES.hold(said, v(WAVE, 0.51)).state == "unknown"


def test_idle_and_actions_pass_through_and_a_factor_of_one_never_holds():
    said = v(WAVE, 0.4, "action")
    assert RULES.hold(said, v(WAVE, 0.2, "idle")).state == "idle"  # the person stopped: idle at once
    now = v(CLAP, 0.3, "action")
    assert RULES.hold(said, now) is now  # a new action is said as it comes
    assert RULES.hold(said, v(WAVE, 0.501), factor=1.0).state == "unknown"
    assert RULES.hold(said, v(WAVE, None)).state == "unknown"  # no score (open set off): nothing to hold by


def test_the_hold_widens_a_negative_threshold_too():
    rules = Rules(threshold=-4.0, window_threshold=-5.0)  # an energy-like score: held up to -4.5
    said = v(WAVE, -6.0, "action")
    assert rules.hold(said, v(WAVE, -4.6)).state == "action"
    assert rules.hold(said, v(WAVE, -4.4)).state == "unknown"
    assert LIVE_HOLD == pytest.approx(1.1)


def test_a_live_stream_holds_its_action_and_lets_it_go(make_client, monkeypatch):
    """The Predictor's own stream (what /stream runs) applies the hold between its updates, in order."""
    predictor = make_client().app.state.service.predictor
    monkeypatch.setattr(predictor.judge, "window_threshold", 0.5)
    wave = predictor.classes.index("wave")
    probs = np.full(len(predictor.classes), 0.05)
    probs[wave] = 1 - 0.05 * (len(probs) - 1)
    script = iter([v(probs, 0.52), v(probs, 0.4, "action"), v(probs, 0.53), v(probs, 0.54), v(probs, 0.6),
                   v(probs, 0.52)])
    monkeypatch.setattr(predictor, "verdict_of_frames", lambda feats, windowed=False: next(script))
    live = predictor.new_stream()
    states = []
    for frame in moving_frames(6, seed=3):
        live.push(frame)
        out = live.predict()
        states.append((out["state"], out["prediction"]))
    assert [s for s, _ in states] == ["unknown", "action", "action", "action", "unknown", "unknown"]
    assert states[2][1] == "wave"
    fresh = predictor.new_stream()  # a new stream (a reconnect, another model) holds nothing
    script = iter([v(probs, 0.52)])
    fresh.push(moving_frames(1, seed=4)[0])
    assert fresh.predict()["state"] == "unknown"
