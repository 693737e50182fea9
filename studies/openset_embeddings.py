"""Which features could tell a left-out action apart? Head-free prototype AUROC per embedding.

    ACTCAP_CALIBRATION=../shared/data/utd-mhad-5 \
        python studies/openset_embeddings.py ../shared/data/utd-mhad-5 CACHE_DIR

For every left-out action × left-out subject of the open-set protocol: the training clips' features (other
actions, other subjects) are z-normalised, each clip becomes the unit-length concatenation of K segment means
(K=4 is what the shipped `segments` head's prototype score uses), the known classes' means are the prototypes,
and the score is the cosine distance to the nearest one. Printed: the mean AUROC of the test subject's known
clips against the left-out action's, overall and per left-out action, for flow, appearance (EfficientNet-Lite0),
both concatenated, flow at K = 2, 4, 8, 16, and flow square-rooted on coarser cells (what
studies/openset_input.py scores, here per frame) at K = 4, 8, 16. No head is trained, so it runs in about two
minutes once the cache holds both streams (docs/model-card.md, "Open set").
"""

import re
import sys

import numpy as np

from actcap.data.folders import class_names, scan_dataset
from actcap.data.pooling import slot_features
from actcap.features.cache import FeatureCache
from actcap.features.labelled import build_streams, load_features
from actcap.honesty.openset import auroc


def embed(features: np.ndarray, mean: np.ndarray, std: np.ndarray, k: int) -> np.ndarray:
    """(L, D) features → unit (k·D,) embedding of k segment means of the z-normalised features."""
    e = slot_features((features - mean) / std, k, "dense")[0].reshape(-1)  # (k·D,)
    return e / (np.linalg.norm(e) + 1e-8)


def hellinger_coarse(f: np.ndarray, bins: int = 8, grid: int = 4) -> np.ndarray:
    """(L, bins·grid·grid) HOF → (L, bins·(1 + 4)): the cells pooled to 1 × 1 and 2 × 2, square-rooted."""
    v = f.reshape(len(f), bins, grid, grid)
    parts = [v.reshape(len(f), bins, g, grid // g, g, grid // g).mean((3, 5)).reshape(len(f), -1) for g in (1, 2)]
    return np.sqrt(np.maximum(np.concatenate(parts, 1), 0))


def protocol_auroc(feats: list[np.ndarray], labels: np.ndarray, groups: np.ndarray, k: int) -> dict[int, float]:
    """Left-out action → mean AUROC over left-out subjects."""
    out = {}
    for a in np.unique(labels):
        aucs = []
        for s in np.unique(groups):
            train = (labels != a) & (groups != s)
            frames = np.concatenate([feats[i] for i in np.where(train)[0]])  # (ΣL, D)
            mean, std = frames.mean(0), frames.std(0) + 1e-6
            emb = {i: embed(feats[i], mean, std, k) for i in np.where(train | (groups == s))[0]}
            protos = np.stack([np.mean([emb[i] for i in np.where(train & (labels == c))[0]], 0)
                               for c in np.unique(labels) if c != a])  # (C - 1, k·D)
            protos /= np.linalg.norm(protos, axis=1, keepdims=True)
            score = {i: 1 - float((protos @ e).max()) for i, e in emb.items()}
            known = [score[i] for i in np.where((groups == s) & (labels != a))[0]]
            unknown = [score[i] for i in np.where((groups == s) & (labels == a))[0]]
            aucs.append(auroc(np.array(known), np.array(unknown)))
        out[int(a)] = float(np.mean(aucs))
    return out


def main(data: str, cache_dir: str) -> None:
    records = scan_dataset(data)
    classes = class_names(records)
    labels = np.array([classes.index(r.label) for r in records])
    groups = np.array([int(re.search(r"_s(\d+)_", r.path.name).group(1)) for r in records])
    feats = {name: load_features(records, classes, FeatureCache(cache_dir, build_streams([name], "efficientnet_lite0"),
                                                                64), 16, progress=False).features
             for name in ("flow", "appearance")}
    feats["flow+appearance"] = [np.concatenate(pair, 1) for pair in zip(feats["flow"], feats["appearance"])]
    feats["flow, sqrt, 1x1+2x2 cells"] = [hellinger_coarse(f) for f in feats["flow"]]
    runs = [(name, 4) for name in ("flow", "appearance", "flow+appearance")] + [("flow", k) for k in (2, 8, 16)]
    runs += [("flow, sqrt, 1x1+2x2 cells", k) for k in (4, 8, 16)]
    for name, k in runs:
        per = protocol_auroc(feats[name], labels, groups, k)
        detail = ", ".join(f"{classes[a]} {v:.3f}" for a, v in per.items())
        print(f"{name:<16} K={k:<2} mean AUROC {np.mean(list(per.values())):.3f}  ({detail})", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
