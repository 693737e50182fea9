"""The prototype score's two matches: the mean of the class the head predicts (what training fits) or the nearest
mean (models saved before), how a model's config picks one, and the means of the clips' middles that windows of a
stream are compared with too (openset.py, held_out.py, judge.py)."""

import numpy as np
import pytest
import torch

from actcap.config import TrainConfig
from actcap.honesty.judge import Judge
from actcap.honesty.openset import create_score, get_score_kwargs, load_score
from actcap.models.heads import head_outputs
from actcap.models.recognizer import ModelConfig, Recognizer
from actcap.training.held_out import fit_head, fit_honesty

MEANS = np.eye(2, 4)  # class 0 along the first axis, class 1 along the second


def _fitted(match: str):
    emb = np.repeat(MEANS, 3, axis=0)  # (6, 4): three clips exactly on each class mean
    return create_score("prototype", match=match).fit(emb, np.zeros((6, 2)), np.repeat([0, 1], 3))


def test_predicted_match_measures_from_the_class_the_head_names():
    emb = np.array([[0.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]])  # on class 1's mean; halfway between
    logits = np.array([[3.0, 0.0], [0.0, 3.0]])  # the head says class 0, then class 1
    assert _fitted("nearest").score(emb, logits) == pytest.approx([0.0, 1 - np.sqrt(0.5)])
    assert _fitted("predicted").score(emb, logits) == pytest.approx([1.0, 1 - np.sqrt(0.5)])


def test_predicted_match_is_never_below_the_nearest():
    rng = np.random.default_rng(0)
    emb, logits = rng.normal(size=(50, 4)), rng.normal(size=(50, 2))
    assert (_fitted("predicted").score(emb, logits) >= _fitted("nearest").score(emb, logits) - 1e-12).all()


def test_unknown_match_names_the_choices():
    expected = r"prototype score: unknown match 'closest'; choose one of: nearest, predicted"
    with pytest.raises(ValueError, match=expected):
        create_score("prototype", match="closest")


def test_config_without_score_kwargs_loads_the_nearest_match():
    tensors = {"means": torch.from_numpy(MEANS.astype(np.float32))}
    emb, logits = np.array([[0.0, 1.0, 0.0, 0.0]]), np.array([[3.0, 0.0]])
    old = load_score({"score": "prototype", "threshold": 0.5}, tensors)
    new = load_score({"score": "prototype", "score_kwargs": {"match": "predicted"}, "threshold": 0.5}, tensors)
    assert old.score(emb, logits) == pytest.approx([0.0]) and new.score(emb, logits) == pytest.approx([1.0])
    assert get_score_kwargs("prototype") == {"match": "predicted", "parts": True} and get_score_kwargs("knn") == {}


def test_training_stores_the_predicted_match_and_the_judge_uses_it(tmp_path):
    rng = np.random.default_rng(0)
    feats, labels = [], []
    for c in range(3):
        for _ in range(8):
            x = rng.normal(0, 0.3, (8, 12)).astype(np.float32)
            x[:, 4 * c: 4 * c + 4] += 2.0
            feats.append(x)
            labels.append(c)
    cfg = TrainConfig(out=tmp_path, head="mean", num_slots=8, epochs=6, lr=0.01, progress=False)
    template = Recognizer(ModelConfig(classes=["a", "b", "c"], streams=[], feature_dim=12, num_slots=8, head="mean"))
    model = fit_head(template, feats, labels, cfg)
    fit_honesty(model, feats, labels, [f"s{i % 4}" for i in range(len(labels))], cfg)
    assert model.config.open_set["score_kwargs"] == {"match": "predicted", "parts": True}
    model.save(tmp_path / "m")
    loaded = Recognizer.load(tmp_path / "m")
    judge = Judge(loaded)
    assert judge.score.match == "predicted"
    x = np.concatenate([feats[0], np.full((8, 1), 0.05, np.float32)], axis=1)  # (T, D + 1): motion column
    logits, emb = head_outputs(loaded.eval().head, torch.from_numpy(feats[0])[None])
    expected = create_score("prototype", match="predicted").load(
        {k.removeprefix("open_set."): v for k, v in loaded.extra_tensors.items()}).score(emb.numpy(), logits.numpy())
    assert judge(x).open_set_score == pytest.approx(float(expected[0]))


def test_middle_means_serve_windows_only():
    # whole clips of class 0 along axis 0 with some of axis 2; their middles along axis 2 alone
    emb = np.array([[1.0, 0, 1, 0]] * 3 + [[0, 1.0, 0, 0]] * 3 + [[0, 0, 1.0, 0]] * 3)
    labels, kinds = np.array([0, 0, 0, 1, 1, 1, 0, 0, 0]), np.array([0] * 6 + [1] * 3)
    s = create_score("prototype", match="predicted", parts=True).fit(emb, np.zeros((9, 2)), labels, kinds)
    assert s.classes.tolist() == [0, 0, 1] and s.kinds.tolist() == [0, 1, 0]
    steady, says_0 = np.array([[0, 0, 1.0, 0]]), np.array([[3.0, 0.0]])  # all middle: a steady gesture
    assert s.score(steady, says_0) == pytest.approx([1 - np.sqrt(0.5)])  # a clip: whole clips' mean only
    assert s.score(steady, says_0, windowed=True) == pytest.approx([0.0])  # a window: its middles' mean too
    assert s.score(steady, np.array([[0.0, 3.0]]), windowed=True) == pytest.approx([1.0])  # not class 1's
    reloaded = load_score({"score": "prototype", "score_kwargs": {"match": "predicted", "parts": True}},
                          {k: torch.from_numpy(v) for k, v in s.tensors().items()})
    assert reloaded.score(steady, says_0, windowed=True) == pytest.approx([0.0])
    old = load_score({"score": "prototype"}, {"means": torch.from_numpy(MEANS.astype(np.float32))})
    assert old.kinds.tolist() == [0, 0] and old.score(steady, says_0, windowed=True) == pytest.approx([1.0])
