"""Quick sweeps of pose heads and training recipes on JHMDB's official splits (issue 23: 3-split mean ≥ 0.75).

    OMP_NUM_THREADS=1 nice -n 10 python studies/jhmdb_sweep.py --split split1 --head tcn --head-args width=32 \
        --epochs 60 --lr 2e-3 --schedule cosine --augment --every 10

Features come exactly as `actcap train --data jhmdb.npz` makes them (actcap/features/keypoints.py), the batches
through the same FeatureClips / loss / optimizer as training (loop.py); the test side is scored every `--every`
epochs, so a curve shows whether a recipe under-trains, over-fits or just wobbles. Figures for the model card
come from `actcap train/evaluate`, not from here (this picks the recipe only; the last epoch is what counts).

    python studies/jhmdb_sweep.py --pool EVAL1/metrics.json EVAL2/metrics.json EVAL3/metrics.json

pools the test answers of several `actcap evaluate --out` runs (the three splits: 803 clips) into one ECE with
its bootstrap interval, from each clip's answered confidence (honesty/calibration.py's binning).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actcap.cli.common import head_args  # noqa: E402
from actcap.config import TrainConfig  # noqa: E402
from actcap.data.keypoints import read_keypoints  # noqa: E402
from actcap.data.sampling import kept_indices  # noqa: E402
from actcap.features.keypoints import clip_points  # noqa: E402
from actcap.honesty.calibration import ece_interval, expected_calibration_error  # noqa: E402
from actcap.models.recognizer import ModelConfig, Recognizer, clip_outputs  # noqa: E402
from actcap.pose.skeleton import frame_features, mirror_features  # noqa: E402
from actcap.training.loop import create_loss, create_optimizer, feature_batches, lr_schedule, run_epochs  # noqa: E402,E501

DATA = ROOT.parent / "shared" / "data" / "keypoints" / "jhmdb.npz"


def load(path: Path, cache_frames: int = 64):
    kset = read_keypoints(path)
    feats = []
    for i in range(len(kset)):
        pts = clip_points(kset, i)
        idx = np.asarray(kept_indices(len(pts), cache_frames))
        feats.append(frame_features(pts[idx]).astype(np.float16).astype(np.float32))
    return kset, feats


def pooled_ece(paths: list[Path]) -> dict:
    """Top-label ECE over the clips of several evaluate runs: each clip's confidence on its predicted class,
    the rest of the probability spread over the other classes (never above it, so the argmax is kept)."""
    rows, labels = [], []
    for path in paths:
        m = json.loads(Path(path).read_text())
        classes = sorted({p["label"] for p in m["predictions"]} | {p["predicted"] for p in m["predictions"]}
                         | set(m["per_class"]))
        for p in m["predictions"]:
            row = np.full(len(classes), (1 - p["confidence"]) / (len(classes) - 1))
            row[classes.index(p["predicted"])] = p["confidence"]
            rows.append(row)
            labels.append(classes.index(p["label"]))
    probs, y = np.array(rows), np.array(labels)
    return {"clips": len(y), "top1": float((probs.argmax(1) == y).mean()),
            "ece": expected_calibration_error(probs, y), "ece_interval": ece_interval(probs, y)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pool", type=Path, nargs="+", help="evaluate runs' metrics.json: print their pooled ECE")
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--split", default="split1")
    p.add_argument("--head", default="tcn")
    p.add_argument("--head-args", type=head_args, default={})
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--schedule", default="constant")
    p.add_argument("--augment", action="store_true")
    p.add_argument("--class-weights", action="store_true")
    p.add_argument("--mirror", action="store_true", help="add every training clip mirrored (as `--mirror none`)")
    p.add_argument("--every", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if a.pool:
        print(json.dumps(pooled_ece(a.pool)))
        return
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    kset, feats = load(a.data)
    col = kset.split[:, kset.split_names.index(a.split)]
    tr = [i for i in range(len(kset)) if col[i] == 1]
    te = [i for i in range(len(kset)) if col[i] == 2]
    classes = kset.classes
    cfg = TrainConfig(out=Path("/tmp/unused"), streams=["pose"], head=a.head, head_kwargs=a.head_args,
                      num_slots=a.frames, epochs=a.epochs, batch_size=a.batch_size, lr=a.lr,
                      weight_decay=a.weight_decay, label_smoothing=a.label_smoothing, augment=a.augment,
                      class_weights=a.class_weights, seed=a.seed, lr_schedule=a.schedule)
    model = Recognizer(ModelConfig(classes=classes, streams=[], feature_dim=feats[0].shape[1], num_slots=a.frames,
                                   head=a.head, head_kwargs=a.head_args))
    ftr, ytr = [feats[i] for i in tr], [int(kset.labels[i]) for i in tr]
    if a.mirror:
        ftr, ytr = ftr + [mirror_features(f) for f in ftr], ytr + ytr
    fte, yte = [feats[i] for i in te], np.array([int(kset.labels[i]) for i in te])
    allf = torch.from_numpy(np.concatenate(ftr)).float()  # (ΣL, D): every training frame, as train.py
    model.head.set_input_stats(allf.mean(0), allf.std(0, unbiased=False))
    opt = create_optimizer(model.parameters(), cfg)
    loss = create_loss(cfg, ytr, len(classes))
    start = time.process_time()

    def after(epoch: int, losses: list[float]) -> None:
        if epoch % a.every and epoch != a.epochs:
            return
        model.eval()
        logits, _ = clip_outputs(model, fte, 1)
        acc = float((logits[:, 0].argmax(1) == yte).mean())
        logits_tr, _ = clip_outputs(model, ftr[:len(tr)], 1)
        acc_tr = float((logits_tr[:, 0].argmax(1) == np.array(ytr[:len(tr)])).mean())
        print(f"epoch {epoch:4d} loss {np.mean(losses):.3f} train {acc_tr:.3f} test {acc:.3f} "
              f"lr {opt.param_groups[0]['lr']:.2e} cpu {time.process_time() - start:.0f}s", flush=True)

    run_epochs(model.head, opt, loss, feature_batches(ftr, ytr, cfg, a.seed), first=1, last=a.epochs,
               after_epoch=after, lr_factor=lr_schedule(cfg))


if __name__ == "__main__":
    main()
