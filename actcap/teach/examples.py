"""A model's training examples as per-clip stream features, so that `base=default` can extend it.

    python scripts/make_default_examples.py           # rebuilds actcap/assets/default_model/examples.safetensors

The file holds, for every training clip, its per-frame stream features (the feature cache's rows, float16),
its label and its group (the person in it), plus the stream configs that produced them. It stores no head
outputs, so it stays valid when the head is retrained: a taught model trains a new head on these
examples plus the new ones, with the base model's own training settings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from actcap.data.folders import ClipRecord
from actcap.fileio import atomic_path

EXAMPLES_FILE = "examples.safetensors"
FORMAT = "actcap-examples-1"


class ExamplesError(ValueError):
    """An examples file that is missing, malformed or made with other streams than the ones asked for."""


@dataclass
class Examples:
    features: list[np.ndarray]  # one (L, D) float32 array per clip
    labels: list[str]
    groups: list[str]  # who is in each clip ("" when unknown)
    names: list[str]
    streams: list[dict]  # stream configs the features came from
    cache_frames: int

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels))

    def without(self, labels: set[str]) -> "Examples":
        keep = [i for i, lab in enumerate(self.labels) if lab not in labels]
        return Examples([self.features[i] for i in keep], [self.labels[i] for i in keep],
                        [self.groups[i] for i in keep], [self.names[i] for i in keep], self.streams, self.cache_frames)


def save_examples(ex: Examples, path: str | Path) -> Path:
    """Write atomically (a temporary file renamed over the old one)."""
    path = Path(path)
    lengths = np.array([len(f) for f in ex.features], np.int64)
    tensors = {"features": torch.from_numpy(np.concatenate(ex.features).astype(np.float16)),  # (ΣL, D)
               "lengths": torch.from_numpy(lengths)}
    meta = {"format": FORMAT, "labels": json.dumps(ex.labels), "groups": json.dumps(ex.groups),
            "names": json.dumps(ex.names), "streams": json.dumps(ex.streams),
            "max_frames": str(ex.cache_frames)}  # the file's key for cache_frames, as files already out there have
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def load_examples(path: str | Path) -> Examples:
    path = Path(path)
    if not path.is_file():
        raise ExamplesError(f"{path} does not exist; a base model needs its training examples "
                            "(python scripts/make_default_examples.py rebuilds the shipped model's)")
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    if meta.get("format") != FORMAT:
        raise ExamplesError(f"{path}: format {meta.get('format')!r}; expected {FORMAT!r}")
    tensors = load_file(str(path))
    feats, lengths = tensors["features"].float().numpy(), tensors["lengths"].numpy()
    edges = np.concatenate([[0], np.cumsum(lengths)])
    labels = json.loads(meta["labels"])
    if edges[-1] != len(feats) or len(labels) != len(lengths):
        raise ExamplesError(f"{path}: {len(lengths)} clips, {len(labels)} labels and {len(feats)} feature rows "
                            f"(the lengths add up to {edges[-1]}); rebuild the file")
    return Examples([feats[a:b] for a, b in zip(edges[:-1], edges[1:])], labels, json.loads(meta["groups"]),
                    json.loads(meta["names"]), json.loads(meta["streams"]), int(meta["max_frames"]))


def group_of(name: str, group_by: str | None) -> str:
    """The first regex group found in a clip name ('a4_s3_t1' with '_s(\\d+)_' → '3'), or ''."""
    m = re.search(group_by, name) if group_by else None
    return m.group(1) if m else ""


def build_examples(records: list[ClipRecord], streams, cache, group_by: str | None = None,
                   progress: bool = True) -> tuple[Examples, list[tuple[str, str]]]:
    """Features of labelled clips through the feature cache; undecodable clips are returned as skipped."""
    feats, skipped = cache.extract([r.path for r in records], progress=progress)
    kept = [r for r in records if r.path in feats]
    ex = Examples([feats[r.path].features for r in kept], [r.label for r in kept],
                  [group_of(r.name, group_by) for r in kept], [r.name for r in kept],
                  [s.config() for s in streams], cache.cache_frames)
    return ex, skipped
