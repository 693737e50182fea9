"""Augmentation of pose features, the bridge from annotated joints to joints estimated from video.

Annotated or Kinect joints are cleaner, steadier and more complete than BlazePose's on real footage, filmed at
other speeds and angles. Each training view of a clip is therefore perturbed, in the features' own terms
(actcap/pose/skeleton.py layout), so nothing has to be recomputed from joints:
- speed: the clip resampled in time (× 0.7-1.4);
- rotation (±15°) and scale (× 0.85-1.15 per axis) of the body-relative positions, as a tilted camera or
  another build would give;
- noise on the positions (0.02 torso lengths), as an estimator jitters;
- joint dropout: a joint missing over a stretch of frames (confidence 0), as when an arm leaves the frame;
- confidence jitter: visibilities drawn below 1, as BlazePose reports them;
- held (off unless asked, `--augment-held P`): with probability P the view is the clip's middle half played
  forwards and backwards over and over, as a live stream's window sees a gesture kept up (a wave waved on,
  not one wave from rest to rest).
Velocities are recomputed from the perturbed positions, exactly as `frame_features` computes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from actcap.pose.skeleton import CENTRE, CONFIDENCES, FEATURE_DIM, JOINTS, POSITIONS, VELOCITIES


@dataclass(frozen=True)
class PoseAugment:
    speed: tuple[float, float] = (0.7, 1.4)
    rotation_deg: float = 15.0
    scale: tuple[float, float] = (0.85, 1.15)
    noise: float = 0.02
    dropout: float = 0.1
    """Probability that a joint goes missing over a random stretch of the clip."""
    confidence: tuple[float, float] = (0.5, 1.0)
    held: float = 0.0
    """Probability that the view is the clip's middle half played forwards and backwards (`held_view`)."""

    def __call__(self, features: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return augment_features(features, rng, self)


def _resample(features: np.ndarray, factor: float) -> np.ndarray:
    """The clip played `factor` times as fast: rows linearly interpolated at steps of `factor` source rows."""
    n = len(features)
    m = max(2, int(round(n / factor)))
    at = np.linspace(0, n - 1, m)
    lo = np.floor(at).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = (at - lo)[:, None]
    out = features[lo] * (1 - w) + features[hi] * w
    conf = np.minimum(features[lo, CONFIDENCES], features[hi, CONFIDENCES])  # missing at either end → missing
    out[:, CONFIDENCES] = np.where(w > 0, conf, features[lo, CONFIDENCES])
    out[:, CENTRE] *= (n - 1) / (m - 1)  # the body's motion per new row: a row now spans this many source rows
    return out.astype(np.float32)


def held_view(features: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The clip's middle half (at least 4 rows) played forwards, backwards, forwards … from a random point, as
    many rows as the clip: the body's motion (CENTRE) turns round with the playback; velocities follow the
    positions in `augment_features`."""
    n = len(features)
    k = min(n, max(4, n // 2))
    start = (n - k) // 2
    forwards = features[start:start + k]
    backwards = forwards[::-1].copy()
    backwards[:, CENTRE] *= -1
    loop = np.concatenate([forwards, backwards] * (n // (2 * k) + 2))
    offset = int(rng.integers(0, 2 * k))
    return loop[offset:offset + n]


def augment_features(features: np.ndarray, rng: np.random.Generator, cfg: PoseAugment = PoseAugment()
                     ) -> np.ndarray:
    """One random perturbation of a clip's pose features (L, FEATURE_DIM) → (L', FEATURE_DIM)."""
    if features.ndim != 2 or features.shape[1] != FEATURE_DIM:
        raise ValueError(f"pose augmentation takes (T, {FEATURE_DIM}) pose features, got {features.shape}")
    f = np.array(features, dtype=np.float32)
    if cfg.held and rng.random() < cfg.held:  # no draw when off: the same views as before for every other run
        f = held_view(f, rng)
    if len(f) > 2:
        f = _resample(f, float(rng.uniform(*cfg.speed)))
    t, j = len(f), len(JOINTS)
    conf = f[:, CONFIDENCES].copy()  # (T, 13)
    pos = f[:, POSITIONS].reshape(t, j, 2)
    angle = np.deg2rad(rng.uniform(-cfg.rotation_deg, cfg.rotation_deg))
    c, s = np.cos(angle), np.sin(angle)
    linear = np.array([[c, -s], [s, c]], np.float32) @ np.diag(rng.uniform(*cfg.scale, size=2)).astype(np.float32)
    pos = pos @ linear.T + rng.normal(0, cfg.noise, pos.shape).astype(np.float32)
    f[:, CENTRE] = f[:, CENTRE] @ linear.T
    for joint in np.flatnonzero(rng.random(j) < cfg.dropout):
        start = int(rng.integers(0, t))
        conf[start:start + int(rng.integers(1, t + 1)), joint] = 0.0
    present = conf > 0
    conf = np.where(present, conf * rng.uniform(*cfg.confidence, size=(1, j)), 0.0)
    pos = pos * present[..., None]
    velocity = np.zeros_like(pos)
    velocity[1:] = (pos[1:] - pos[:-1]) * (present[1:] & present[:-1])[..., None]
    f[:, POSITIONS] = pos.reshape(t, -1)
    f[:, VELOCITIES] = velocity.reshape(t, -1)
    f[:, CONFIDENCES] = conf
    return f.astype(np.float32)
