"""Clips of cached features as a torch Dataset: the sampling step of the pipeline.

Training draws a new view every epoch (TSN random frames, or jittered dense segments); evaluation
takes the deterministic view, or K evenly offset clips for test-time averaging (see pooling.py). With `augment`,
each training view of a pose clip is perturbed first (actcap/pose/augment.py).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from actcap.data.pooling import slot_features
from actcap.pose.augment import PoseAugment


class FeatureClips(Dataset):
    def __init__(self, features: list[np.ndarray], labels: list[int], num_slots: int, train: bool,
                 seed: int = 0, num_clips: int = 1, sampling: str = "frames", augment: PoseAugment | None = None):
        if len(features) != len(labels):
            raise ValueError(f"{len(features)} feature arrays but {len(labels)} labels")
        self.features, self.labels = features, labels
        self.num_slots, self.train, self.num_clips, self.sampling = num_slots, train, num_clips, sampling
        self.rng = np.random.default_rng(seed)
        self.augment = augment if train else None  # pose features only (TrainConfig.check)

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        features = self.augment(self.features[i], self.rng) if self.augment else self.features[i]
        clips = slot_features(features, self.num_slots, self.sampling,
                              rng=self.rng if self.train else None, num_clips=self.num_clips)  # (K, T, D)
        return torch.from_numpy(clips).float(), self.labels[i]
