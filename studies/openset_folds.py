"""Train and keep every head the honesty figures depend on, so rules can be re-scored without retraining.

    ACTCAP_CACHE=/path/to/cache python studies/openset_folds.py ../shared/data/utd-mhad-5 runs/openset-folds.pt

For the shipped configuration (flow, dense sampling, segments head, weight decay 0.1, 30 epochs, seed 0): every
leave-one-subject-out fold (no action left out; `actcap cv`'s folds) and every fold of the open-set protocol
(one action × one subject left out; `actcap cv --open-set-protocol`'s folds). Per fold: the head trained on its
training clips, and the heads of its inner folds (one per training subject left out), which is what training
fits the temperature and the open-set threshold on (training/held_out.py). All heads are trained by
`held_out.fit_head` (`actcap cv` trains its outer heads with train.py's loop instead, so its figures differ a
little). The file holds the heads' state dicts and the clip indices; studies/openset_rules.py reads it.
216 heads: about 10 minutes on one free core.
"""

import logging
import sys
import time
from dataclasses import replace

import numpy as np
import torch

from actcap.config import TrainConfig, cache_root
from actcap.data.folders import class_names, scan_dataset
from actcap.data.splits import get_groups
from actcap.features.cache import FeatureCache
from actcap.features.labelled import build_streams, load_features
from actcap.features.threads import torch_threads
from actcap.models.recognizer import ModelConfig, Recognizer
from actcap.training.held_out import fit_head

log = logging.getLogger("openset_folds")
CONFIG = dict(streams=["flow"], head="segments", sampling="dense", weight_decay=0.1, epochs=30, seed=0,
              num_slots=16)
GROUP_BY = r"_s(\d+)_"


def shipped_config(out="unused") -> TrainConfig:
    return TrainConfig(out=out, progress=False, **CONFIG)


def load_data(root: str):
    """(features, labels, groups, classes, records) of the shipped configuration, from the feature cache."""
    records = scan_dataset(root)
    classes = class_names(records)
    cfg = shipped_config()
    data = load_features(records, classes, FeatureCache(cache_root(), build_streams(cfg.streams, cfg.backbone),
                                                        cfg.cache_frames), cfg.num_slots, False)
    return data.features, np.array(data.labels), np.array(get_groups(data.records, GROUP_BY)), classes, data.records


def template(classes: list[str], dim: int, cfg: TrainConfig) -> Recognizer:
    return Recognizer(ModelConfig(classes=classes, streams=[], feature_dim=dim, num_slots=cfg.num_slots,
                                  sampling=cfg.sampling, head=cfg.head, head_kwargs=cfg.head_kwargs))


def train_head(features, labels, idx, known: list[int], cfg) -> dict:
    """State dict of a head trained on clips `idx` with labels remapped to positions in `known`."""
    model = fit_head(template([str(c) for c in known], features[0].shape[1], cfg),
                     [features[i] for i in idx], [known.index(int(labels[i])) for i in idx], cfg)
    return {k: v.clone() for k, v in model.state_dict().items()}


def fold(features, labels, groups, action: int, group: str, cfg) -> dict:
    known = [c for c in sorted(set(labels.tolist())) if c != action]
    keep = labels != action
    tr = np.flatnonzero(keep & (groups != group))
    inner = []
    for h in sorted(set(groups[tr])):
        itr, ite = tr[groups[tr] != h], tr[groups[tr] == h]
        inner.append({"group": h, "train": itr, "test": ite, "head": train_head(features, labels, itr, known, cfg)})
    return {"action": action, "group": group, "known": known, "train": tr,
            "test_known": np.flatnonzero(keep & (groups == group)),
            "test_unknown": np.flatnonzero(~keep & (groups == group)),
            "head": train_head(features, labels, tr, known, cfg), "inner": inner}


def main(root: str, out: str) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    features, labels, groups, classes, _ = load_data(root)
    cfg = shipped_config()
    folds, t0 = [], time.time()
    with torch_threads(1):
        for action in [-1] + list(range(len(classes))):  # -1: leave-one-subject-out, every action known
            for g in sorted(set(groups)):
                folds.append(fold(features, labels, groups, action, g, replace(cfg)))
                log.info("fold %d: action %s, subject %s left out (%.0f s)", len(folds),
                         classes[action] if action >= 0 else "-", g, time.time() - t0)
            # saved after every left-out action, so a partial file can already be re-scored
            torch.save({"classes": classes, "labels": labels, "groups": groups, "config": CONFIG, "folds": folds},
                       out)
    log.info("wrote %s: %d folds", out, len(folds))


if __name__ == "__main__":
    main(*sys.argv[1:3])
