"""Settings as dataclasses, one docstring per field. Cross-field checks name the CLI flag."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TrainConfig:
    out: Path
    """Run directory: model files, metrics.json, training_curve.png, checkpoint (`--out`)."""
    streams: list[str] = field(default_factory=lambda: ["appearance"])
    """Input streams whose per-frame features are concatenated (`--streams appearance+flow`)."""
    backbone: str = "efficientnet_lite0"
    """Frame CNN of the appearance stream (`--backbone`)."""
    engine: str | None = None
    """Frame-CNN engine for extraction: onnx (CPU default) or torch (`--engine`)."""
    head: str = "lstm"
    """Temporal head: lstm, mean or transformer (`--head`)."""
    num_frames: int = 16
    """Frames per clip (`--frames`)."""
    sampling: str = "frames"
    """How the N time slots are filled: `frames` (one frame each) or `dense` (mean of a segment's
    frames; steadier for motion streams) (`--sampling`)."""
    epochs: int = 10
    """Training epochs (`--epochs`)."""
    batch_size: int = 4
    """Clips per step (`--batch-size`)."""
    lr: float = 1e-3
    """Adam learning rate (`--lr`)."""
    weight_decay: float = 1e-4
    """Adam weight decay (`--weight-decay`)."""
    label_smoothing: float = 0.0
    """Cross-entropy label smoothing (`--label-smoothing`)."""
    class_weights: bool = False
    """Weight the loss by inverse class frequency (`--class-weights`)."""
    seed: int = 0
    """Seeds sampling, initialisation and batching (`--seed`)."""
    max_frames: int = 64
    """Frames per clip kept in the feature cache; training samples from these (`--cache-frames`)."""
    cache_dir: Path | None = None
    """Feature cache root (`--cache-dir`; default ~/.cache/actcap or $ACTCAP_CACHE)."""
    num_clips: int = 1
    """Test-time clips averaged during validation (`--test-clips`)."""
    head_kwargs: dict = field(default_factory=dict)
    """Extra head arguments (hidden size, depth…)."""
    captions: dict = field(default_factory=dict)
    """Label → caption entries stored in the model (`--captions FILE`)."""
    mirror: list[tuple[str, str]] | None = None
    """Label-aware mirroring augmentation (`--mirror swipe_left:swipe_right` or `--mirror none`): every
    training clip is added mirrored left-right, and these label pairs swap. None: no mirroring."""
    keep: str = "best"
    """Which epoch to save: `best` on validation, or `last` (`--keep`; cross-validation uses `last`,
    since choosing the epoch on the validation fold would flatter the score)."""
    open_set: bool = True
    """Fit an open-set score and threshold so the model can answer "unknown" (`--open-set on|off`);
    calibration is fitted either way (held_out.py)."""
    group_by: str | None = None
    """Regex whose first group names a clip's group (a person, a source video): calibration and the
    open-set threshold are fitted on held-out groups (`--group-by`); without it, on held-out clips."""
    resume: bool = False
    """Continue an interrupted run in `out` from its last epoch (`--resume`)."""
    progress: bool = True
    """Show progress bars."""

    def record(self) -> dict:
        """The settings as JSON-ready values, stored in the model's config for the record."""
        from dataclasses import asdict

        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()
                if k not in ("captions", "progress", "resume")}

    def check(self) -> None:
        problems = []
        if self.num_frames < 1:
            problems.append(f"`--frames` must be >= 1; got {self.num_frames}")
        if self.epochs < 1:
            problems.append(f"`--epochs` must be >= 1; got {self.epochs}")
        if self.batch_size < 1:
            problems.append(f"`--batch-size` must be >= 1; got {self.batch_size}")
        if not self.lr > 0:
            problems.append(f"`--lr` must be > 0; got {self.lr}")
        if not 0 <= self.label_smoothing < 1:
            problems.append(f"`--label-smoothing` must be in [0, 1); got {self.label_smoothing}")
        if self.max_frames < self.num_frames:
            problems.append(f"`--cache-frames` ({self.max_frames}) must be >= `--frames` ({self.num_frames})")
        if self.num_clips < 1:
            problems.append(f"`--test-clips` must be >= 1; got {self.num_clips}")
        if self.sampling not in ("frames", "dense"):
            problems.append(f"`--sampling` must be frames or dense; got {self.sampling}")
        if self.keep not in ("best", "last"):
            problems.append(f"`--keep` must be best or last; got {self.keep}")
        if problems:
            raise ValueError("\n".join(problems))
