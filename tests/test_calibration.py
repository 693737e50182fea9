"""Temperature scaling, ECE and the reliability diagram (actcap/honesty/calibration.py)."""

import numpy as np
import pytest

from actcap.honesty.calibration import (
    ece_interval,
    expected_calibration_error,
    fit_temperature,
    plot_reliability,
    softmax,
)


def _overconfident_task(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """3 overlapping Gaussian classes; the logits are the true log-odds times 4 (an overconfident model)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    centres = np.array([[0.0, 0.0], [1.5, 0.0], [0.0, 1.5]])
    x = centres[labels] + rng.normal(size=(n, 2))
    true_logits = -0.5 * ((x[:, None, :] - centres[None]) ** 2).sum(-1)  # (N, 3)
    return 4.0 * true_logits, labels


def test_temperature_scaling_lowers_ece_on_unseen_data():
    fit_logits, fit_labels = _overconfident_task(2000, seed=0)
    logits, labels = _overconfident_task(2000, seed=1)
    t = fit_temperature(fit_logits, fit_labels)
    assert t == pytest.approx(4.0, rel=0.15)  # undoes the factor the logits were inflated by
    before = expected_calibration_error(softmax(logits), labels)
    after = expected_calibration_error(softmax(logits / t), labels)
    assert before > 0.15 and after < 0.04
    assert (softmax(logits / t).argmax(1) == softmax(logits).argmax(1)).all()  # the ranking never changes


def test_ece_of_exact_answers():
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    labels = np.array([0, 1, 0, 0])
    # bin 0.9: confidence 0.9, accuracy 0.5 → 0.4 · 2/4; bin 0.6: 0.6 vs 1.0 → 0.4 · 2/4
    assert expected_calibration_error(probs, labels) == pytest.approx(0.4)


def test_ece_interval_is_repeatable_narrows_with_more_clips_and_is_zero_for_certain_right_answers():
    logits, labels = _overconfident_task(2000, seed=3)
    probs = softmax(logits / 4.0)  # calibrated: the task's true probabilities
    small = ece_interval(probs[:120], labels[:120])
    assert small == ece_interval(probs[:120], labels[:120])  # fixed seed: same answers, same interval
    large = ece_interval(probs, labels)
    assert small[0] < small[1] and large[0] < large[1]
    assert large[1] - large[0] < 0.5 * (small[1] - small[0])  # ~sqrt(2000/120) = 4x narrower in theory
    assert large[1] < 0.05 < small[1]  # 120 calibrated clips can look worse than 0.05; 2000 cannot
    assert ece_interval(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1])) == (0.0, 0.0)
    with pytest.raises(ValueError, match="ece_interval needs at least one clip"):
        ece_interval(np.zeros((0, 2)), np.zeros(0))


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"fit_temperature needs \(N, C\) logits and N labels; got \(3,\) and \(3,\)"):
        fit_temperature(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="expected_calibration_error needs at least one clip"):
        expected_calibration_error(np.zeros((0, 2)), np.zeros(0))


def test_reliability_diagram_is_written(tmp_path):
    logits, labels = _overconfident_task(200, seed=2)
    path = plot_reliability(softmax(logits), labels, tmp_path / "reliability.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
