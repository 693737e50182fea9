"""Labelled clips' features from the feature cache: the one entry point training, evaluation, cross-validation,
fine-tuning's calibration and teaching load features through.

    data = load_features(records, classes, FeatureCache(cache_root(), streams, cache_frames), num_slots)
    data.features, data.labels, data.records, data.skipped, data.short

`FeatureCache.extract` (cache.py) decides how a clip becomes per-frame features (video, frame folder, a keypoint
file's clip); under torchrun the ranks share the extraction (shards.py). `mirrored` adds the left-right mirrored
clips of `--mirror`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from actcap.data.folders import ClipRecord
from actcap.features.cache import FeatureCache
from actcap.features.shards import extract_shards
from actcap.features.streams import create_stream
from actcap.features.streams.base import Stream

log = logging.getLogger(__name__)


@dataclass
class LabelledFeatures:
    features: list[np.ndarray]  # one (L, D) array per clip
    labels: list[int]
    records: list[ClipRecord]
    skipped: list[tuple[str, str]]
    short: list[str]  # clips with fewer source frames than the model's frame count


def build_streams(names: list[str], backbone: str, engine: str | None = None) -> list[Stream]:
    """The streams named on the command line (`--streams`), as training extracts with them."""
    return [create_stream(n, backbone=backbone, engine=engine) for n in names]


def load_features(records: list[ClipRecord], classes: list[str], cache: FeatureCache, num_slots: int,
                  progress: bool = True, ctx=None) -> LabelledFeatures:
    """Cached features for labelled clips (video files, frame folders, keypoint-file clips: the cache's
    `extract`); undecodable clips are skipped and listed, never fatal; clips with fewer frames than `num_slots`
    time slots are listed in `short`.

    Under torchrun (`ctx`: training/distributed.py `current()`) each rank extracts its shard of the missing
    clips (shards.py), then every rank loads them all.
    """
    feats, report = extract_shards(cache, [r.path for r in records], progress=progress, ctx=ctx)
    out = LabelledFeatures([], [], [], report.skipped, [])
    for r in records:
        cf = feats.get(r.path)
        if cf is None:
            continue
        out.features.append(cf.features)
        out.labels.append(classes.index(r.label))
        out.records.append(r)
        if cf.num_source_frames < num_slots:
            out.short.append(f"{r.path} ({cf.num_source_frames} frames)")
    if out.short:
        log.warning("%d clip(s) have fewer than %d frames; their frames are repeated in order, e.g. %s",
                    len(out.short), num_slots, "; ".join(out.short[:3]))
    return out


def mirrored(data: LabelledFeatures, streams: list[Stream], classes: list[str],
             swaps: list[tuple[str, str]]) -> LabelledFeatures:
    """Add each clip mirrored left-right, its label swapped where a pair says so (swipe_left ↔ swipe_right)."""
    unable = [s.name for s in streams if s.mirror(np.zeros((1, s.dim), np.float32)) is None]
    if unable:
        raise ValueError(f"`--mirror` needs streams whose features can be mirrored; {', '.join(unable)} cannot "
                         "(use `--streams flow`, or train without `--mirror`)")
    swap = {}
    for a, b in swaps:
        missing = [c for c in (a, b) if c not in classes]
        if missing:
            raise ValueError(f"`--mirror`: unknown class {', '.join(missing)}; classes: {', '.join(classes)}")
        swap[classes.index(a)], swap[classes.index(b)] = classes.index(b), classes.index(a)
    edges = np.cumsum([0] + [s.dim for s in streams])
    feats = [np.concatenate([s.mirror(f[:, a:b]) for s, a, b in zip(streams, edges[:-1], edges[1:])], axis=1)
             for f in data.features]
    return LabelledFeatures(data.features + feats, data.labels + [swap.get(y, y) for y in data.labels],
                            data.records + data.records, data.skipped, data.short)
