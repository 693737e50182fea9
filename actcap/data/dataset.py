"""Clips of cached features as a torch Dataset: the sampling step of the pipeline.

Training draws TSN-style segment indices (one random frame per segment, new every epoch);
evaluation takes uniform indices, or K evenly offset clips for test-time averaging.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from actcap.data.sampling import multi_clip_indices, segment_indices, uniform_indices


class FeatureClips(Dataset):
    def __init__(self, features: list[np.ndarray], labels: list[int], num_frames: int, train: bool,
                 seed: int = 0, num_clips: int = 1):
        if len(features) != len(labels):
            raise ValueError(f"{len(features)} feature arrays but {len(labels)} labels")
        self.features, self.labels = features, labels
        self.num_frames, self.train, self.num_clips = num_frames, train, num_clips
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.features)

    def indices(self, length: int) -> list[list[int]]:
        if self.train:
            return [segment_indices(length, self.num_frames, self.rng)]
        if self.num_clips > 1:
            return multi_clip_indices(length, self.num_frames, self.num_clips)
        return [uniform_indices(length, self.num_frames)]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        f = self.features[i]  # (L, D)
        clips = np.stack([f[idx] for idx in self.indices(len(f))])  # (K, T, D)
        return torch.from_numpy(clips).float(), self.labels[i]
