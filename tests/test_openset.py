"""Open-set scores, their threshold rule, the held-out fit and the judge's states (openset.py, held_out.py,
judge.py)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from actcap.config import TrainConfig
from actcap.honesty.judge import Judge
from actcap.honesty.openset import auroc, create_score, list_scores, threshold_for
from actcap.models.heads import HEADS, head_outputs, list_heads
from actcap.models.recognizer import ModelConfig, Recognizer
from actcap.training.held_out import fit_honesty, fold_ids

CLASSES = ["a", "b", "c"]
T, D = 8, 12


def _clips(n_per_class: int, seed: int, shift: float = 0.0) -> tuple[list[np.ndarray], list[int]]:
    """Per-frame features (T, D) of 3 classes, each a bump on its own 4 features plus noise."""
    rng = np.random.default_rng(seed)
    feats, labels = [], []
    for c in range(3):
        for _ in range(n_per_class):
            x = rng.normal(0, 0.3, (T, D)).astype(np.float32)
            x[:, 4 * c: 4 * c + 4] += 2.0
            feats.append(x + shift)
            labels.append(c)
    return feats, labels


def _ood(n: int, seed: int) -> list[np.ndarray]:
    """Something else entirely: strong activity on every feature at once, of the opposite sign."""
    rng = np.random.default_rng(seed)
    return [(-3.0 + rng.normal(0, 0.3, (T, D))).astype(np.float32) for _ in range(n)]


def _trained(tmp_path: Path, open_set: bool = True, **settings) -> Recognizer:
    """A `mean` head trained and calibrated on _clips; `settings`: more TrainConfig fields."""
    feats, labels = _clips(12, seed=0)
    cfg = TrainConfig(out=tmp_path, head="mean", num_slots=T, epochs=8, lr=0.01, open_set=open_set,
                      progress=False, **settings)
    from actcap.training.held_out import fit_head

    template = Recognizer(ModelConfig(classes=CLASSES, streams=[], feature_dim=D, num_slots=T, head="mean"))
    model = fit_head(template, feats, labels, cfg)
    fit_honesty(model, feats, labels, [f"s{i % 4}" for i in range(len(labels))], cfg)
    return model


@pytest.mark.parametrize("name", ["knn", "prototype", "mahalanobis"])
def test_distance_scores_flag_an_out_of_distribution_input(name):
    rng = np.random.default_rng(0)
    means = np.eye(3, 16) * 4
    emb = np.concatenate([means[c] + rng.normal(0, 0.5, (30, 16)) for c in range(3)])
    labels = np.repeat(np.arange(3), 30)
    score = create_score(name).fit(emb, np.zeros((90, 3)), labels)
    near = np.concatenate([means[c] + rng.normal(0, 0.5, (10, 16)) for c in range(3)])
    far = -2.0 * np.ones((5, 16)) + rng.normal(0, 0.5, (5, 16))
    s_near, s_far = score.score(near, np.zeros((30, 3))), score.score(far, np.zeros((5, 3)))
    assert s_far.min() > s_near.max()
    assert auroc(s_near, s_far) == 1.0


def test_logit_scores_rank_confident_answers_as_known():
    logits = np.array([[5.0, 0.0, 0.0], [0.3, 0.2, 0.1]])
    for name in ("msp", "energy"):
        s = create_score(name).score(np.zeros((2, 4)), logits)
        assert s[0] < s[1]


def test_threshold_rule_and_auroc_values():
    assert threshold_for(np.arange(101.0), 0.95) == pytest.approx(95.0)
    assert auroc(np.array([0.1, 0.2, 0.3]), np.array([0.25, 0.5])) == pytest.approx(5 / 6)
    assert auroc(np.array([0.5]), np.array([0.5])) == 0.5
    with pytest.raises(ValueError, match="threshold_for needs scores of held-out known clips; got none"):
        threshold_for(np.array([]))


def test_unknown_score_lists_the_choices():
    with pytest.raises(KeyError, match="energy, knn, mahalanobis, msp, prototype"):
        create_score("nearest")
    assert list_scores() == ["energy", "knn", "mahalanobis", "msp", "prototype"]


@pytest.mark.parametrize("head", list_heads())
def test_every_head_gives_an_embedding(head):
    torch.manual_seed(0)
    dim = max(D, HEADS.get(head).min_in_dim)  # a pose head reads the pose stream's values
    model = Recognizer(ModelConfig(classes=CLASSES, streams=[], feature_dim=dim, num_slots=T, head=head))
    logits, emb = head_outputs(model.eval().head, torch.randn(2, T, dim))
    assert logits.shape == (2, 3) and emb.dim() == 2 and emb.shape[0] == 2
    assert torch.isfinite(emb).all()


def test_folds_follow_groups_or_deal_clips_by_class():
    assert fold_ids([0, 0, 1, 1], ["s2", "s1", "s2", "s1"]).tolist() == [1, 0, 1, 0]
    assert fold_ids([0] * 6 + [1] * 2, None).tolist() == [0, 1, 2, 3, 4, 0, 0, 1]
    # `--mirror`: each clip's mirrored copy (the same record, listed again) is held out with it
    keys = ["a", "b", "c", "d", "a", "b", "c", "d"]
    assert fold_ids([0, 0, 1, 1] * 2, None, keys).tolist() == [0, 1, 0, 1, 0, 1, 0, 1]
    assert fold_ids([0, 0, 1, 1] * 2, None).tolist() == [0, 1, 0, 1, 2, 3, 2, 3]  # without keys they straddle


def test_training_stores_temperature_and_threshold_that_survive_saving(trained, tmp_path):
    model = trained
    cal, spec = model.config.calibration, model.config.open_set
    assert cal["held_out_folds"] == 4 and cal["held_out_clips"] == 36 and 0.05 <= cal["temperature"] <= 20
    assert spec["score"] == "prototype" and spec["threshold"] > 0 and "quantile 0.95" in spec["rule"]
    model.save(tmp_path / "m")
    loaded = Recognizer.load(tmp_path / "m")
    assert loaded.config.open_set == spec
    assert set(loaded.extra_tensors) == {"open_set.means", "open_set.classes", "open_set.kinds"}
    assert loaded.extra_tensors["open_set.means"].shape == (3, D)  # clips of 8 slots have no middle of their own
    assert loaded.extra_tensors["open_set.classes"].tolist() == [0, 1, 2]
    assert loaded.extra_tensors["open_set.kinds"].tolist() == [0, 0, 0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Recognizer:
    return _trained(tmp_path_factory.mktemp("openset"))


def _slots(features: np.ndarray, motion: float) -> np.ndarray:
    return np.concatenate([features, np.full((len(features), 1), motion, np.float32)], axis=1)  # (T, D + 1)


def test_judge_says_action_unknown_or_idle(trained):
    judge = Judge(trained)
    known, labels = _clips(3, seed=5)
    verdicts = [judge(_slots(x, 0.05)) for x in known]
    assert [v.state for v in verdicts].count("action") >= 8
    assert [int(v.probs.argmax()) for v in verdicts] == labels
    assert all(abs(v.probs.sum() - 1) < 1e-6 for v in verdicts)
    assert [judge(_slots(x, 0.05)).state for x in _ood(5, seed=6)] == ["unknown"] * 5
    still = judge(_slots(known[0], 0.0))
    assert still.state == "idle" and still.motion == 0.0


def test_open_set_off_never_answers_unknown(trained, tmp_path):
    model = _trained(tmp_path, open_set=False)
    assert model.config.open_set == {} and model.extra_tensors == {}
    assert model.config.calibration["temperature"] > 0
    judge = Judge(model)
    assert [judge(_slots(x, 0.05)).state for x in _ood(3, seed=6)] == ["action"] * 3
    switched_off = Judge(trained, open_set=False)
    assert switched_off(_slots(_ood(1, seed=7)[0], 0.05)).open_set_score is None


def test_one_clip_per_class_is_saved_uncalibrated_with_a_warning(tmp_path, caplog):
    feats, labels = _clips(1, seed=0)
    cfg = TrainConfig(out=tmp_path, head="mean", num_slots=T, epochs=1, progress=False)
    model = Recognizer(ModelConfig(classes=CLASSES, streams=[], feature_dim=D, num_slots=T, head="mean"))
    fit_honesty(model, feats, labels, None, cfg)
    assert (model.config.calibration, model.config.open_set, model.extra_tensors) == ({}, {}, {})
    assert "too few clips to hold any out with every class still in training" in caplog.text


def test_clips_the_group_regex_does_not_match_fall_back_to_clip_folds(tmp_path, caplog):
    from actcap.data.folders import ClipRecord
    from actcap.training.held_out import calibrate_run

    feats, labels = _clips(4, seed=0)
    records = [ClipRecord(Path(f"{CLASSES[y]}_{i}.avi"), CLASSES[y], f"{CLASSES[y]}_{i}")  # no _s<k>_ in names
               for i, y in enumerate(labels)]
    cfg = TrainConfig(out=tmp_path, head="mean", num_slots=T, epochs=2, group_by=r"_s(\d+)_", progress=False)
    Recognizer(ModelConfig(classes=CLASSES, streams=[], feature_dim=D, num_slots=T, head="mean")).save(tmp_path)
    with caplog.at_level("INFO"):
        calibrate_run(tmp_path, cfg, feats, labels, records)
    assert "calibration holds out clips, not groups" in caplog.text
    assert Recognizer.load(tmp_path).config.calibration["held_out_folds"] == 4  # 4 clips per class, dealt


def test_spherical_kmeans_finds_the_looks_a_class_comes_in():
    from actcap.honesty.openset import spherical_kmeans

    rng = np.random.default_rng(0)
    a, b = np.eye(8)[0], np.eye(8)[1]
    u = np.concatenate([a + rng.normal(0, 0.05, (20, 8)), b + rng.normal(0, 0.05, (10, 8))])
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    one = spherical_kmeans(u, 1)
    np.testing.assert_allclose(one[0], u.mean(0) / np.linalg.norm(u.mean(0)), atol=1e-6)
    two = spherical_kmeans(u, 2)
    assert two.shape == (2, 8)
    assert sorted(np.round(two @ np.stack([a, b]).T, 1).max(1)) == [1.0, 1.0]  # one centre on each look
    np.testing.assert_array_equal(spherical_kmeans(u, 2), two)  # deterministic
    assert len(spherical_kmeans(u[:1], 3)) == 1  # never more centres than vectors


def test_a_prototype_with_clusters_keeps_each_look_of_a_class_close():
    """A class filmed two ways (whole, and from the waist up): one mean sits between the looks, far from both;
    two means sit on them, so an input of either look scores low, and something else still scores high."""
    from actcap.honesty.openset import Prototype

    rng = np.random.default_rng(1)
    looks = np.eye(6)[[0, 1]]  # class 0's two looks
    emb = np.concatenate([looks[np.arange(40) % 2] + rng.normal(0, 0.05, (40, 6)),
                          np.eye(6)[2] + rng.normal(0, 0.05, (20, 6))])
    labels = np.repeat([0, 1], [40, 20])
    logits = np.eye(2)[labels] * 5
    single, double = Prototype("predicted").fit(emb, logits, labels), Prototype("predicted", clusters=2).fit(
        emb, logits, labels)
    probe, other = looks[:1] + 0.02, np.eye(6)[[4]]
    assert single.score(probe, logits[:1])[0] == pytest.approx(1 - 1 / np.sqrt(2), abs=0.03)
    assert double.score(probe, logits[:1])[0] < 0.01
    assert double.score(other, logits[:1])[0] > 0.9
    assert list(single.classes) == [0, 1] and list(double.classes) == [0, 0, 1, 1]  # up to two a class
    restored = Prototype("predicted", clusters=2).load({k: v for k, v in double.tensors().items()})
    np.testing.assert_allclose(restored.score(probe, logits[:1]), double.score(probe, logits[:1]), atol=1e-6)
    with pytest.raises(ValueError, match="clusters must be a whole number >= 1; got 0"):
        Prototype(clusters=0)


def test_training_stores_the_clusters_with_the_score(tmp_path):
    from actcap.honesty.judge import model_rules

    model = _trained(tmp_path, open_set_clusters=2)
    assert model.config.open_set["score_kwargs"] == {"match": "predicted", "parts": True, "clusters": 2}
    score = model_rules(model).score
    assert score.clusters == 2  # two means per class and kind
    assert np.bincount(score.classes).tolist() == [2 * len(set(score.kinds.tolist()))] * len(CLASSES)
    with pytest.raises(ValueError, match="`--open-set-clusters` must be >= 1; got 0"):
        TrainConfig(out=tmp_path, open_set_clusters=0).check()


def test_the_open_set_margin_widens_the_whole_clip_threshold_only(tmp_path):
    specs = []
    for margin in (1.0, 1.2):
        torch.manual_seed(0)  # the same head both times
        specs.append(_trained(tmp_path, open_set_margin=margin).config.open_set)
    plain, wide = specs
    assert wide["threshold"] == pytest.approx(1.2 * plain["threshold"], abs=2e-6)
    assert wide["window_threshold"] == plain["window_threshold"]
    assert wide["rule"].startswith("1.2 × quantile 0.95") and "for whole clips; window_threshold:" in wide["rule"]
    with pytest.raises(ValueError, match="`--open-set-margin` must be > 0; got 0"):
        TrainConfig(out=tmp_path, open_set_margin=0).check()
