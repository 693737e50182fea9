"""Timeline: smoothing, merging, dropping and the narrative, on synthetic window scores."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from actcap.caption import (
    UNCLEAR,
    Captions,
    Segment,
    build_timeline,
    merge_segments,
    narrate,
    narrate_segments,
    smooth_scores,
)

CLASSES = ["swipe_left", "wave", "clap"]


def one_hot(labels: str, p: float = 0.9) -> np.ndarray:
    """Scores for a string of class indices, e.g. "0011": (W, 3) with p on the given class."""
    scores = np.full((len(labels), len(CLASSES)), (1 - p) / (len(CLASSES) - 1))
    scores[np.arange(len(labels)), [int(c) for c in labels]] = p
    return scores  # (W, C)


def second_windows(n: int) -> list[tuple[float, float]]:
    return [(float(i), float(i + 1)) for i in range(n)]


def spans(timeline) -> list[tuple[float, float, str]]:
    return [(s.start, s.end, s.label) for s in timeline.segments]


def test_smoothing_is_a_centred_average_that_shrinks_at_the_ends():
    x = np.array([[0.0], [3.0], [6.0], [9.0]])
    np.testing.assert_allclose(smooth_scores(x, 3), [[1.5], [3.0], [6.0], [7.5]])
    np.testing.assert_allclose(smooth_scores(x, 1), x)
    with pytest.raises(ValueError, match="at least 1"):
        smooth_scores(x, 0)


def test_smoothing_removes_a_one_window_flicker():
    scores = one_hot("1111211111")
    assert spans(build_timeline(scores, second_windows(10), CLASSES, smooth=1, min_duration=0)) == [
        (0, 4, "wave"), (4, 5, "clap"), (5, 10, "wave")]
    timeline = build_timeline(scores, second_windows(10), CLASSES, smooth=3)
    assert spans(timeline) == [(0, 10, "wave")]
    assert timeline.narrative == "A person waves."


def test_merging_consecutive_windows_and_the_narrative():
    timeline = build_timeline(one_hot("000011112222"), second_windows(12), CLASSES, smooth=1)
    assert spans(timeline) == [(0, 4, "swipe_left"), (4, 8, "wave"), (8, 12, "clap")]
    assert timeline.narrative == "A person swipes to the left, waves, then claps their hands."
    assert timeline.segments[0] == Segment(0.0, 4.0, "swipe_left", pytest.approx(0.9))
    assert timeline.to_dict()["segments"][1] == {"start": 4.0, "end": 8.0, "label": "wave",
                                                 "confidence": pytest.approx(0.9), "state": "action"}


def test_a_short_segment_between_equal_neighbours_is_absorbed():
    # 0.4 s windows: the lone clap window lasts 0.4 s < min_duration, so the waves merge across it.
    times = [(0.4 * i, 0.4 * (i + 1)) for i in range(9)]
    timeline = build_timeline(one_hot("111121111"), times, CLASSES, smooth=1, min_duration=0.5)
    assert spans(timeline) == [(0.0, pytest.approx(3.6), "wave")]
    assert timeline.segments[0].confidence == pytest.approx((8 * 0.9 + 0.05) / 9)  # mean over all its windows


def test_a_short_segment_between_different_neighbours_leaves_a_gap():
    times = [(0.4 * i, 0.4 * (i + 1)) for i in range(9)]
    timeline = build_timeline(one_hot("111120000"), times, CLASSES, smooth=1, min_duration=0.5)
    assert spans(timeline) == [(0.0, pytest.approx(1.6), "wave"), (pytest.approx(2.0), pytest.approx(3.6),
                                                                   "swipe_left")]
    assert timeline.narrative == "A person waves, then swipes to the left."


def test_low_confidence_segments_are_dropped():
    scores = np.concatenate([one_hot("1111"), one_hot("2222", p=0.4), one_hot("0000")])
    timeline = build_timeline(scores, second_windows(12), CLASSES, smooth=1, min_confidence=0.5)
    assert spans(timeline) == [(0, 4, "wave"), (8, 12, "swipe_left")]
    everything_unsure = build_timeline(one_hot("1111", p=0.34), second_windows(4), CLASSES, min_confidence=0.5)
    assert everything_unsure.segments == [] and everything_unsure.narrative == UNCLEAR


def test_overlapping_windows_tile_the_video_without_overlap():
    times = [(float(i), i + 2.0) for i in range(6)]  # 2 s windows every second: centres 1 … 6
    timeline = build_timeline(one_hot("111222"), times, CLASSES, smooth=1)
    assert spans(timeline) == [(0.0, 3.5, "wave"), (3.5, 7.0, "clap")]


def test_narrative_forms_and_captions():
    assert narrate([]) == UNCLEAR
    assert narrate(["clap"]) == "A person claps their hands."
    assert narrate(["wave", "clap"]) == "A person waves, then claps their hands."
    assert narrate(["ride_camel", "catch", "fly_kite"]) == "A person rides a camel, catches a ball, then flies a kite."
    custom = Captions({"wave": {"verb": "waving goodbye"}})
    assert narrate(["wave", "clap"], custom) == "A person waves goodbye, then claps their hands."


def test_no_windows_is_unclear():
    timeline = build_timeline(np.zeros((0, 3)), [], CLASSES)
    assert timeline.segments == [] and timeline.narrative == UNCLEAR


def test_bad_inputs_list_every_problem():
    with pytest.raises(ValueError) as e:
        build_timeline(np.zeros((3, 2)), [(0, 1), (1, 1)], CLASSES, smooth=0)
    assert str(e.value) == ("build_timeline: scores have 2 columns but there are 3 classes; 2 window times for "
                            "3 windows of scores; every window time must be (start, end) with end > start; "
                            "smooth must be a whole number of windows ≥ 1, got 0")


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 25), st.just(3)), elements=st.floats(0, 1)),
       st.integers(1, 5), st.floats(0, 3), st.floats(0, 1))
def test_segments_are_ordered_disjoint_and_inside_the_video(scores, smooth, min_duration, min_confidence):
    times = second_windows(len(scores))
    timeline = build_timeline(scores, times, CLASSES, smooth=smooth, min_duration=min_duration,
                              min_confidence=min_confidence)
    segs = timeline.segments
    assert all(0 <= s.start < s.end <= len(scores) for s in segs)
    assert all(a.end <= b.start and a.label != b.label for a, b in zip(segs, segs[1:]))
    assert all(s.end - s.start >= min_duration - 1e-9 and s.label in CLASSES for s in segs)
    assert timeline.narrative.startswith(("A person ", "The action")) and timeline.narrative.endswith(".")


def test_states_narrate_action_segments_only():
    scores = np.tile([[0.1, 0.9]], (12, 1))  # every window "wave" by its scores …
    states = ["idle"] * 4 + ["action"] * 4 + ["unknown"] * 4  # … but only the middle is an action
    timeline = build_timeline(scores, [(i, i + 1) for i in range(12)], ["clap", "wave"], smooth=1,
                              min_duration=0.5, min_confidence=0.3, states=states)
    assert [(s.start, s.end, s.label, s.state) for s in timeline.segments] == [
        (0.0, 4.0, "", "idle"), (4.0, 8.0, "wave", "action"), (8.0, 12.0, "", "unknown")]
    assert timeline.narrative == "A person waves, then does something I don't recognise."


def test_only_idle_or_only_unknown_windows():
    times = [(i, i + 1) for i in range(4)]
    scores = np.tile([[0.5, 0.5]], (4, 1))
    assert build_timeline(scores, times, ["a", "b"], states=["idle"] * 4).narrative == "Nobody is moving."
    assert build_timeline(scores, times, ["a", "b"], states=["unknown"] * 4).narrative == \
        "I don't recognise this action."
    with pytest.raises(ValueError, match="states must be one of action, unknown, idle per window; got 3 states "
                                         "for 4 windows; not a state: asleep"):
        build_timeline(scores, times, ["a", "b"], states=["idle", "asleep", "idle"])


def test_build_timeline_leaves_the_callers_scores_alone():
    scores = np.tile([[0.1, 0.9]], (4, 1))
    build_timeline(scores, [(i, i + 1) for i in range(4)], ["clap", "wave"], states=["unknown"] * 4)
    np.testing.assert_array_equal(scores, np.tile([[0.1, 0.9]], (4, 1)))


def test_merge_segments_joins_alike_neighbours_weighting_confidence_by_time():
    segments = [Segment(0.0, 1.0, "wave", 0.9), Segment(1.0, 4.0, "wave", 0.5), Segment(4.5, 5.0, "", 0.7, "unknown"),
                Segment(5.0, 6.0, "", 0.3, "unknown"), Segment(6.0, 7.0, "clap", 0.8), Segment(7.5, 8.0, "clap", 0.8)]
    assert merge_segments(segments) == [Segment(0.0, 4.0, "wave", pytest.approx(0.6)),
                                        Segment(4.5, 6.0, "", pytest.approx((0.35 + 0.3) / 1.5), "unknown"),
                                        Segment(6.0, 8.0, "clap", pytest.approx(0.8))]
    assert merge_segments([]) == []
    assert narrate_segments(merge_segments(segments)) == ("A person waves, does something I don't recognise, then "
                                                          "claps their hands.")


class StubPredictor:
    """Judges frames by a kind written in them: 0 wave, 1 clap (familiar), 2 unfamiliar; the majority decides."""

    classes = ["wave", "clap"]

    def verdict_of_frames(self, inputs, windowed=False):
        from actcap.honesty.judge import Verdict

        kind = int(np.bincount(inputs[:, 0].astype(int), minlength=3).argmax())
        probs = np.array([0.8, 0.2]) if kind == 0 else np.array([0.1, 0.9])
        return Verdict(probs, 0.3 if kind < 2 else 1.5, 0.5, "action" if kind < 2 else "unknown")


def test_segments_are_judged_on_their_own_frames_and_the_headline_is_the_longest_action():
    """The windows cut the video (their labels may be wrong or their states unknown where they straddle two
    actions); each segment's own frames decide its label and state, alike neighbours merge, and the whole
    video's answer is the longest action segment's verdict."""
    from actcap.inference.timeline import headline, judge_segments

    kinds = np.array([0] * 4 + [1] * 2 + [1] * 4 + [2] * 3, dtype=float)  # 13 frames at 1 fps
    inputs = np.stack([kinds, np.ones_like(kinds)], axis=1)  # (13, 2): a kind, then the motion column
    cut = [Segment(0, 4, "clap", 0.6), Segment(4, 6, "wave", 0.5), Segment(6, 10, "clap", 0.7),
           Segment(10, 13, "wave", 0.9)]
    segments, own = judge_segments(StubPredictor(), inputs, 1.0, cut)
    assert segments == [Segment(0, 4, "wave", pytest.approx(0.8)), Segment(4, 10, "clap", pytest.approx(0.9)),
                        Segment(10, 13, "", 0.9, "unknown")]
    assert sorted(own) == [0, 1] and own[1].probs.tolist() == [0.1, 0.9]
    assert headline(None, [], segments, own) is own[1]


def test_without_action_segments_the_headline_takes_the_segments_state():
    from actcap.honesty.judge import Verdict
    from actcap.inference.timeline import headline

    class Judge:
        def combine(self, verdicts, windowed=False):
            return Verdict(np.array([0.3, 0.7]), 0.5, 0.2, "action")  # the windows' mean reads as an action

    stub = type("P", (), {"judge": Judge()})()
    unknown, idle = Segment(0, 2, "", 1.0, "unknown"), Segment(2, 4, "", 1.0, "idle")
    assert headline(stub, [], [idle, unknown], {}).state == "unknown"
    assert headline(stub, [], [idle], {}).state == "idle"
    assert headline(stub, [], [], {}).state == "action"  # nothing narrated: the windows' own verdict
