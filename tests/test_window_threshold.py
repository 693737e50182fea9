"""Windows of a longer stream (live video, timelines) are judged by their own threshold, fitted by the same rule
on sliding windows of held-out clips (held_out.py, judge.py)."""

import json

import numpy as np
import pytest

from actcap.config import TrainConfig
from actcap.honesty.judge import Judge
from actcap.honesty.windows import clip_middle, held_windows, sliding_windows, window_views
from actcap.models.recognizer import ModelConfig, Recognizer
from actcap.training.held_out import fit_head, fit_honesty

CLASSES = ["a", "b", "c"]
L, D, WINDOW = 24, 12, 10


def _clips(n_per_class: int, seed: int) -> tuple[list[np.ndarray], list[int]]:
    """(L, D) clips: still noise, then the class's bump on its own 4 features for the middle half, then still."""
    rng = np.random.default_rng(seed)
    feats, labels = [], []
    for c in range(3):
        for _ in range(n_per_class):
            x = rng.normal(0, 0.3, (L, D)).astype(np.float32)
            x[6:18, 4 * c: 4 * c + 4] += 2.0
            feats.append(x)
            labels.append(c)
    return feats, labels


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Recognizer:
    feats, labels = _clips(12, seed=0)
    cfg = TrainConfig(out=tmp_path_factory.mktemp("win"), head="mean", num_slots=8, epochs=8, lr=0.01,
                      progress=False)
    template = Recognizer(ModelConfig(classes=CLASSES, streams=[], feature_dim=D, num_slots=8, head="mean",
                                      clip_frames=WINDOW))
    m = fit_head(template, feats, labels, cfg)
    fit_honesty(m, feats, labels, [f"s{i % 4}" for i in range(len(labels))], cfg)
    return m


def _slots(x: np.ndarray) -> np.ndarray:
    """Dense 8 slots of (n, D) features plus a busy motion column → (8, D + 1)."""
    from actcap.data.pooling import slot_features

    return np.concatenate([slot_features(x, 8, "dense")[0], np.full((8, 1), 0.05, np.float32)], axis=1)


def test_sliding_windows_cover_the_clip_and_end_on_its_last_frame():
    f = np.arange(23)[:, None]
    assert [w[0, 0] for w in sliding_windows(f, 10)] == [0, 5, 10, 13]
    assert all(len(w) == 10 for w in sliding_windows(f, 10)) and sliding_windows(f, 10)[-1][-1, 0] == 22
    assert [len(w) for w in sliding_windows(f, 30)] == [23]  # a short clip is its own window


def test_window_views_are_the_window_then_its_first_middle_and_last_part():
    f = np.arange(20)[:, None]
    assert [(v[0, 0], len(v)) for v in window_views(f, 8)] == [(0, 20), (0, 12), (4, 12), (8, 12)]
    assert [len(v) for v in window_views(f[:8], 8)] == [8]  # too short for parts: the window alone


def test_held_windows_run_over_the_clip_middle_forwards_and_backwards():
    f = np.arange(24)[:, None]  # (24, 1): row i is frame i; its middle is frames 6..17
    windows = held_windows(f, 10, 8)
    assert [len(w) for w in windows] == [10] * 3  # 20 rows held, windows every 5
    assert windows[0][:, 0].tolist() == list(range(6, 16))
    assert windows[1][:, 0].tolist() == [11, 12, 13, 14, 15, 16, 17, 17, 16, 15]  # on to the end and back
    assert held_windows(f[:8], 10, 8) == []  # no middle of its own


def test_clip_middle_is_the_middle_half_of_a_clip_long_enough():
    f = np.arange(40)[:, None]
    assert clip_middle(f, 8)[:, 0].tolist() == list(range(10, 30))
    assert clip_middle(f[:14], 8)[:, 0].tolist() == list(range(3, 11))  # at least 8 rows
    assert clip_middle(f[:8], 8) is None  # the whole clip: no middle of its own


def test_window_threshold_is_fitted_stored_and_used_for_windows_only(model, tmp_path):
    spec = model.config.open_set
    # 36 held-out clips of 24 frames → 4 windows of 10 each, and 3 over the clip's middle held
    assert spec["held_out_clips"] == 36 and (spec["held_out_windows"], spec["held_out_held_windows"]) == (144, 108)
    assert spec["window_threshold"] > 0 and spec["threshold"] > 0
    assert "sliding windows (10 frames every 5), and of their middles held" in spec["rule"]
    judge = Judge(model)
    known, _ = _clips(4, seed=3)
    windows = [w for x in known for w in sliding_windows(x, WINDOW)]
    as_clip = [judge(_slots(w)).state for w in windows]
    as_window = [judge.window([_slots(v) for v in window_views(w, 8)]).state for w in windows]  # as live windows
    assert as_clip.count("unknown") > as_window.count("unknown") + len(windows) // 4
    assert as_window.count("unknown") <= len(windows) // 10
    assert [judge(_slots(x)).state for x in known] == ["action"] * len(known)  # whole clips: as before
    probs, eps = np.full(3, 1 / 3), 1e-4
    for t, windowed in ((spec["threshold"], False), (spec["window_threshold"], True)):  # each by its own
        assert judge.decide(probs, t + eps, 0.05, windowed=windowed).state == "unknown"
        assert judge.decide(probs, t - eps, 0.05, windowed=windowed).state == "action"
    above_window = spec["window_threshold"] + eps
    assert judge.combine([judge.decide(probs, above_window, 0.05)] * 2, windowed=True).state == "unknown"
    model.save(tmp_path / "m")
    assert Recognizer.load(tmp_path / "m").config.open_set == spec


def test_a_window_straddling_two_known_clips_is_judged_by_its_most_familiar_view(model):
    judge = Judge(model)
    (a, b, _), _ = _clips(1, seed=4)  # a clip of class "a", one of "b"
    straddle = np.concatenate([b[14:18], a[2:10]])  # (12, D): the end of b's bump, still, the start of a's
    views = [_slots(v) for v in window_views(straddle, 8)]
    whole = judge(views[0], windowed=True)
    best = judge.window(views)
    scores = [judge(v, windowed=True).open_set_score for v in views]
    assert best.open_set_score == min(scores) == scores[3] < scores[0] == whole.open_set_score  # the last 8 rows
    assert (best.state, int(best.probs.argmax())) == ("action", 0)
    assert whole.open_set_score > judge.threshold  # as a clip, the whole window would be unknown


def test_a_model_saved_without_a_window_threshold_judges_windows_by_the_clip_threshold(model, tmp_path):
    model.save(tmp_path / "old")
    path = tmp_path / "old" / "config.json"
    config = json.loads(path.read_text())
    del config["open_set"]["window_threshold"]
    path.write_text(json.dumps(config))
    judge = Judge(Recognizer.load(tmp_path / "old"))
    assert judge.window_threshold == judge.threshold == model.config.open_set["threshold"]
    above = judge.threshold + 1e-3
    assert judge.decide(np.full(3, 1 / 3), above, 0.05, windowed=True).state == "unknown"


def test_a_steady_gesture_is_known_in_a_live_window_though_unlike_any_whole_clip(tmp_path):
    """Segment heads see a clip as rest–bump–rest; a window that is all bump (a gesture going on) is far from
    every whole clip's mean, but near the mean of the clips' middles: the live window answers the gesture."""
    feats, labels = _clips(12, seed=0)
    cfg = TrainConfig(out=tmp_path, head="segments", num_slots=8, epochs=8, lr=0.01, progress=False)
    template = Recognizer(ModelConfig(classes=CLASSES, streams=[], feature_dim=D, num_slots=8, head="segments",
                                      clip_frames=WINDOW))
    m = fit_head(template, feats, labels, cfg)
    fit_honesty(m, feats, labels, [f"s{i % 4}" for i in range(len(labels))], cfg)
    judge = Judge(m)
    assert judge.score.kinds.tolist() == [0, 1, 0, 1, 0, 1]  # each class: whole clips, middles
    known, truth = _clips(2, seed=7)
    steady = [x[8:8 + WINDOW] for x in known]  # (10, D): all bump, no rest
    answers = [judge.window([_slots(v) for v in window_views(w, 8)]) for w in steady]
    assert [(v.state, int(v.probs.argmax())) for v in answers] == [("action", y) for y in truth]
    as_clip = [judge(_slots(w)).open_set_score for w in steady]  # whole clips' means only
    assert all(v.open_set_score < c for v, c in zip(answers, as_clip))


def test_held_out_answers_can_skip_the_windows_and_score_the_clips_alike(tmp_path):
    """A teach round's own threshold needs the clips' scores only (teach/check.py `round_threshold`)."""
    from actcap.training.held_out import held_out_answers

    feats, labels = _clips(6, seed=5)
    cfg = TrainConfig(out=tmp_path, head="mean", num_slots=8, epochs=4, lr=0.01, progress=False)
    template = Recognizer(ModelConfig(classes=CLASSES, streams=[], feature_dim=D, num_slots=8, head="mean",
                                      clip_frames=WINDOW))
    groups = [f"s{i % 3}" for i in range(len(labels))]
    full = held_out_answers(template, feats, labels, groups, cfg)
    clips_only = held_out_answers(template, feats, labels, groups, cfg, windows=False)
    np.testing.assert_allclose(clips_only["scores"]["prototype"], full["scores"]["prototype"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(clips_only["logits"], full["logits"], rtol=1e-5, atol=1e-6)
    assert len(full["window_scores"]["prototype"]) == 18 * 4  # 4 windows of 10 in each 24-frame clip
    assert (clips_only["window_scores"]["prototype"].shape, clips_only["held_window_scores"]["prototype"].shape) == (
        (0,), (0,))
