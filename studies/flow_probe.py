"""Linear probe behind the model card's "dense vs 16 frames" figure: optical-flow histograms of every
UTD-MHAD clip, leave-one-subject-out, a linear classifier on 4 temporal segments, where each segment is
the mean of all its frames (dense) or of the 16 uniformly sampled frames only.

    .venv/bin/python studies/flow_probe.py [../shared/data/utd-mhad-5]
"""

import re
import sys
from pathlib import Path

import numpy as np
import torch

from actcap.data.folders import class_names, scan_dataset
from actcap.data.sampling import segment_bounds, uniform_indices
from actcap.data.video import open_clip
from actcap.features.streams.flow import FlowStream


def segments_mean(f: np.ndarray, s: int) -> np.ndarray:
    return np.concatenate([f[a:b].mean(0) for a, b in segment_bounds(len(f), s)])  # (s·D,)


def loso(x: np.ndarray, y: np.ndarray, groups: np.ndarray, wd: float = 0.1, steps: int = 300) -> list[float]:
    accs = []
    for g in np.unique(groups):
        tr, va = groups != g, groups == g
        mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-3
        xt, xv = torch.tensor((x[tr] - mu) / sd).float(), torch.tensor((x[va] - mu) / sd).float()
        torch.manual_seed(0)
        m = torch.nn.Linear(x.shape[1], int(y.max()) + 1)
        opt = torch.optim.Adam(m.parameters(), lr=1e-2, weight_decay=wd)
        for _ in range(steps):
            loss = torch.nn.functional.cross_entropy(m(xt), torch.tensor(y[tr]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        accs.append(float((m(xv).argmax(1).numpy() == y[va]).mean()))
    return accs


def main(root: str) -> None:
    records = scan_dataset(root)
    classes = class_names(records)
    stream = FlowStream()
    feats = [stream.extract(open_clip(r.path).read_all()) for r in records]  # (L, 128) per clip, every frame
    y = np.array([classes.index(r.label) for r in records])
    groups = np.array([re.search(r"_s(\d+)_", r.name).group(1) for r in records])
    for name, pick in (("dense (every frame)", lambda f: f), ("16 frames", lambda f: f[uniform_indices(len(f), 16)])):
        accs = loso(np.stack([segments_mean(pick(f), 4) for f in feats]), y, groups)
        print(f"{name:22s} mean top-1 {np.mean(accs):.3f}  per subject {' '.join(f'{a:.2f}' for a in accs)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[2] / "shared/data/utd-mhad-5"))
