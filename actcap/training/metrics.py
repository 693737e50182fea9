"""Classification metrics and the plots/tables that go with them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from actcap.fileio import atomic_path, atomic_write_text


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)  # rows: true, cols: predicted
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def classification_metrics(probs: np.ndarray, y_true: np.ndarray, classes: list[str]) -> dict:
    """top1, top5, mean class accuracy, per-class precision/recall/support and the confusion matrix."""
    probs, y_true = np.asarray(probs), np.asarray(y_true, dtype=np.int64)
    n, c = probs.shape
    if n == 0:
        raise ValueError("no clips to evaluate")
    y_pred = probs.argmax(1)
    k = min(5, c)
    topk = np.argsort(-probs, axis=1)[:, :k]
    cm = confusion_matrix(y_true, y_pred, c)
    support = cm.sum(1)
    predicted = cm.sum(0)
    diag = np.diag(cm)
    recall = np.divide(diag, support, out=np.zeros(c), where=support > 0)
    precision = np.divide(diag, predicted, out=np.zeros(c), where=predicted > 0)
    present = support > 0
    return {
        "top1": float((y_pred == y_true).mean()),
        "top5": float((topk == y_true[:, None]).any(1).mean()),
        "mean_class_accuracy": float(recall[present].mean()),
        "num_clips": int(n),
        "per_class": {name: {"precision": float(precision[i]), "recall": float(recall[i]),
                             "support": int(support[i])} for i, name in enumerate(classes)},
        "confusion_matrix": cm.tolist(),
        "classes": list(classes),
    }


def pair_accuracy(metrics: dict, a: str, b: str) -> float | None:
    """Accuracy on the clips of classes a and b only (e.g. swipe_left/swipe_right), over all predictions."""
    classes = metrics["classes"]
    if a not in classes or b not in classes:
        return None
    cm = np.asarray(metrics["confusion_matrix"])
    ia, ib = classes.index(a), classes.index(b)
    total = cm[ia].sum() + cm[ib].sum()
    return float((cm[ia, ia] + cm[ib, ib]) / total) if total else None


def write_confusion(metrics: dict, out_dir: Path, title: str = "") -> None:
    """confusion_matrix.csv (rows true, columns predicted) and confusion_matrix.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes, cm = metrics["classes"], np.asarray(metrics["confusion_matrix"])
    rows = io.StringIO(newline="")
    w = csv.writer(rows)
    w.writerow(["true \\ predicted", *classes])
    for name, row in zip(classes, cm):
        w.writerow([name, *row.tolist()])
    atomic_write_text(out_dir / "confusion_matrix.csv", rows.getvalue())
    size = max(4.0, 0.45 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if len(classes) <= 30:
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
    ax.set_title(title or f"top-1 {metrics['top1']:.1%} on {metrics['num_clips']} clips")
    fig.tight_layout()
    with atomic_path(out_dir / "confusion_matrix.png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def plot_curve(history: list[dict], path: Path) -> None:
    """Training loss and validation top-1 per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(epochs, [h["train_loss"] for h in history], "o-", label="train loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if any(h.get("val_top1") is not None for h in history):
        ax2 = ax.twinx()
        ax2.plot(epochs, [h.get("val_top1") for h in history], "s-", color="tab:orange", label="val top-1")
        ax2.set_ylabel("validation top-1")
        ax2.set_ylim(0, 1)
        ax2.legend(loc="center right")
    ax.legend(loc="upper right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
