"""Calibrated confidence: temperature scaling (Guo et al. 2017), its error, and the reliability diagram.

    t = fit_temperature(held_out_logits, labels)           # training stores t in the model's config
    softmax(logits / t)                                      # what every answer's `confidence` is
    expected_calibration_error(probs, labels)                # |accuracy − confidence| over 10 bins
    ece_interval(probs, labels)                              # how far that number can be trusted (bootstrap)
    plot_reliability(probs, labels, "reliability.png")

One number divides the logits, so the ranking — and the top-1 accuracy — never changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from actcap.fileio import atomic_path
from actcap.honesty.verdict import softmax

__all__ = ["ECE_BINS", "ece_interval", "expected_calibration_error", "fit_temperature", "plot_reliability",
           "reliability_bins", "softmax"]
ECE_BINS = 10


def _nll(logits: np.ndarray, labels: np.ndarray, t: float) -> float:
    p = softmax(logits / t)
    return float(-np.log(np.maximum(p[np.arange(len(labels)), labels], 1e-12)).mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray, lo: float = 0.05, hi: float = 20.0) -> float:
    """The temperature in [lo, hi] with the least negative log-likelihood on (N, C) held-out logits: a
    log-spaced grid, then a finer one around its best point (the NLL is smooth and has one minimum in t)."""
    logits, labels = np.asarray(logits, np.float64), np.asarray(labels, np.int64)
    if logits.ndim != 2 or len(logits) != len(labels) or not len(labels):
        raise ValueError(f"fit_temperature needs (N, C) logits and N labels; got {logits.shape} and {labels.shape}")
    grid = np.geomspace(lo, hi, 200)
    best = grid[np.argmin([_nll(logits, labels, t) for t in grid])]
    fine = np.geomspace(max(lo, best / 1.05), min(hi, best * 1.05), 50)
    return float(fine[np.argmin([_nll(logits, labels, t) for t in fine])])


def reliability_bins(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> list[dict]:
    """Per confidence bin: clips, mean confidence and accuracy of the top-1 answer."""
    probs, labels = np.asarray(probs), np.asarray(labels)
    conf, right = probs.max(1), probs.argmax(1) == labels
    which = np.minimum((conf * bins).astype(int), bins - 1)  # (N,) bin of each clip
    return [{"lo": b / bins, "hi": (b + 1) / bins, "clips": int((which == b).sum()),
             "confidence": float(conf[which == b].mean()) if (which == b).any() else None,
             "accuracy": float(right[which == b].mean()) if (which == b).any() else None} for b in range(bins)]


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Σ over bins of (clips in bin / N) · |accuracy − mean confidence|."""
    n = len(labels)
    if n == 0:
        raise ValueError("expected_calibration_error needs at least one clip")
    return float(sum(b["clips"] / n * abs(b["accuracy"] - b["confidence"])
                     for b in reliability_bins(probs, labels, bins) if b["clips"]))


def ece_interval(probs: np.ndarray, labels: np.ndarray, level: float = 0.9, resamples: int = 1000,
                 seed: int = 0) -> tuple[float, float]:
    """The central `level` interval of the ECE over `resamples` bootstrap resamples of the clips (percentiles,
    fixed `seed`: the same answers give the same interval). On 120 clips it is several points wide, which is
    what an ECE figure from a small test set is worth; small samples also bias the ECE upwards."""
    probs, labels = np.asarray(probs), np.asarray(labels)
    n = len(labels)
    if n == 0:
        raise ValueError("ece_interval needs at least one clip")
    rng = np.random.default_rng(seed)
    eces = [expected_calibration_error(probs[i], labels[i]) for i in rng.integers(0, n, (resamples, n))]
    lo, hi = np.quantile(eces, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def plot_reliability(probs: np.ndarray, labels: np.ndarray, path: str | Path, title: str = "",
                     interval: tuple[float, float] | None = None) -> Path:
    """Accuracy against confidence per bin (bars), the diagonal, and the ECE with its 90% interval in the title
    (`interval`: the caller's `ece_interval` of these answers, else computed here)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = reliability_bins(probs, labels)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    filled = [b for b in bins if b["clips"]]
    ax.bar([b["lo"] for b in filled], [b["accuracy"] for b in filled], width=1 / len(bins), align="edge",
           edgecolor="black", color="#4c72b0", label="accuracy")
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    for b in filled:
        ax.text(b["lo"] + 0.5 / len(bins), 0.02, str(b["clips"]), ha="center", fontsize=7, color="white")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="accuracy")
    lo, hi = interval or ece_interval(probs, labels)
    ax.set_title(f"{title.rstrip(': ')}\nECE {expected_calibration_error(probs, labels):.3f} "
                 f"(90% interval {lo:.3f}–{hi:.3f}; {len(labels)} clips)".lstrip(), fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:  # a half-written plot never replaces a whole one
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path
