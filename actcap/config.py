"""Settings as dataclasses, one docstring per field; each default is written once, here.

A field's docstring is also its `--help` text, and the first `--flag` it names is its command-line flag
(actcap/cli/options.py builds the `train`, `cv`, `extract` and `predict --timeline` flags from these
classes). Cross-field checks name the CLI flag.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from pathlib import Path

DEFAULT_BACKBONE = "efficientnet_lite0"
"""Frame CNN of the appearance stream when none is named (training, extraction, the timing benchmarks)."""
DEFAULT_HEAD = "lstm"
"""Temporal head when none is named."""
DEFAULT_NUM_SLOTS = 16
"""Time slots per clip: frames (or segment means) the temporal head sees."""
DEFAULT_CACHE_FRAMES = 64
"""Frames per clip kept in the feature cache; training and dense sampling choose from these."""
SAMPLINGS = ("frames", "dense")


def cache_root() -> Path:
    """Where feature caches and exported frame CNNs live unless told otherwise (`ACTCAP_CACHE`;
    default ~/.cache/actcap)."""
    return Path(os.environ.get("ACTCAP_CACHE", Path.home() / ".cache" / "actcap"))



KEEPS = ("best", "last")
LR_SCHEDULES = ("constant", "cosine")
RENAMED_TRAIN_KEYS = {"max_frames": "cache_frames", "num_frames": "num_slots"}
"""Keys of the training record in model files written before a rename (old → new)."""


@cache
def field_docs(cls) -> dict[str, str]:
    """{field name: its docstring, whitespace collapsed} of a dataclass whose fields are documented in place."""
    body = ast.parse(inspect.getsource(cls)).body[0].body
    docs = {}
    for node, after in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def field_flag(cls, name: str) -> str | None:
    """The command-line flag of a field: the first `--flag` its docstring names (None: not on the command line)."""
    found = re.search(r"`(--[a-z][a-z0-9-]*)", field_docs(cls).get(name, ""))
    return found.group(1) if found else None


def upgrade_train_record(train: dict) -> dict:
    """A model file's training record with renamed keys under their current names (see RENAMED_TRAIN_KEYS)."""
    return {RENAMED_TRAIN_KEYS.get(k, k): v for k, v in train.items()}


@dataclass
class TrainConfig:
    out: Path
    """Run directory: model files, metrics.json, training_curve.png, checkpoint (`--out`)."""
    streams: list[str] = field(default_factory=lambda: ["appearance"])
    """Input streams whose per-frame features are concatenated, joined by + or , (`--streams appearance+flow`)."""
    backbone: str = DEFAULT_BACKBONE
    """Frame CNN of the appearance stream (`--backbone`)."""
    engine: str | None = None
    """Frame-CNN engine for extraction: onnx (CPU default) or torch (`--engine`)."""
    head: str = DEFAULT_HEAD
    """Temporal head (`--head`)."""
    num_slots: int = DEFAULT_NUM_SLOTS
    """Frames sampled per clip: the time slots the head sees (`--frames`)."""
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
    lr_schedule: str = "constant"
    """Learning rate over the epochs (`--lr-schedule`): `constant` (`--lr` throughout) or `cosine` (from `--lr`
    at the first epoch down towards 0 at the last, along half a cosine; steadier last epochs for long runs)."""
    label_smoothing: float = 0.0
    """Cross-entropy label smoothing (`--label-smoothing`)."""
    class_weights: bool = False
    """Weight the loss by inverse class frequency (`--class-weights`)."""
    seed: int = 0
    """Random seed: the split, sampling, initialisation and batching (`--seed`)."""
    cache_frames: int = DEFAULT_CACHE_FRAMES
    """Frames per clip kept in the feature cache; training samples from these (`--cache-frames`)."""
    cache_dir: Path | None = None
    """Feature cache root (`--cache-dir`; default ~/.cache/actcap or $ACTCAP_CACHE)."""
    num_clips: int = 1
    """Test-time clips averaged per video during validation (`--test-clips`)."""
    head_kwargs: dict = field(default_factory=dict)
    """Extra head arguments (`--head-args hidden=128,dropout=0.3`; numbers are parsed, the rest kept as text)."""
    captions: dict = field(default_factory=dict)
    """Label → caption entries stored in the model (`--captions FILE`: JSON or YAML, label → sentence)."""
    mirror: list[tuple[str, str]] | None = None
    """Label-aware mirroring augmentation (`--mirror swipe_left:swipe_right` or `--mirror none`): every
    training clip is added mirrored left-right, and these label pairs swap. None: no mirroring."""
    augment: bool = False
    """Perturb every training view of a pose clip (`--augment`; pose stream only): speed, rotation and scale,
    noise, joints missing, lower confidences (actcap/pose/augment.py)."""
    augment_held: float = 0.0
    """The share of training views that are the clip's middle half played forwards and backwards
    (`--augment-held`; a probability, 0-1, used with --augment), as a live stream's window sees a gesture kept
    up: a wave waved on, not one wave from rest to rest (actcap/pose/augment.py `held_view`)."""
    keep: str = "best"
    """Which epoch to save: `best` on validation, or `last` (`--keep`; cross-validation uses `last`,
    since choosing the epoch on the validation fold would flatter the score)."""
    open_set: bool = True
    """Fit an open-set score and threshold so the model can answer "unknown" (`--open-set on|off`);
    calibration is fitted either way (held_out.py)."""
    open_set_clusters: int = 1
    """Means per class in the open-set score (`--open-set-clusters`): the centres of up to this many clusters of
    the class's clips, for a class whose clips come in several looks (the shipped model's: people whole and
    framed from the waist up; openset.py `Prototype`)."""
    open_set_margin: float = 1.0
    """The whole-clip open-set threshold is this many times the held-out quantile (`--open-set-margin`; the
    window threshold keeps the quantile): above 1 when the held-out folds inside training are easier than new
    people (the shipped model's 1.2, docs/model-card.md "Framing")."""
    unknown_below: float = 0.0
    """Answer `unknown` too when the calibrated confidence is under this (`--unknown-below`; 0-1, 0: never;
    needs the open set): 0.5 claims no action more likely wrong than right (the `everyday` model's rule)."""
    group_by: str | None = None
    """Regex whose first group names a clip's group (a person, a source video), e.g. '_s(\\d+)_': clips of
    one group never straddle train and validation, and calibration and the open-set threshold are fitted on
    held-out groups (`--group-by`); without it, on held-out clips."""
    resume: bool = False
    """Continue an interrupted run in `out` from its last epoch (`--resume`)."""
    progress: bool = True
    """Show progress bars; `--no-progress` hides them."""

    def record(self) -> dict:
        """The settings as JSON-ready values, stored in the model's config for the record."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()
                if k not in ("captions", "progress", "resume")}

    @classmethod
    def from_record(cls, train: dict, **fixed) -> "TrainConfig":
        """Settings back from a model's training record (old key names accepted, unknown keys ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in upgrade_train_record(train).items() if k in known and k not in fixed},
                   **fixed)

    def check(self) -> None:
        """Every problem with the settings at once, each naming its flag."""
        problems = []
        for flag, value, low in (("--frames", self.num_slots, 1), ("--epochs", self.epochs, 1),
                                 ("--batch-size", self.batch_size, 1), ("--test-clips", self.num_clips, 1),
                                 ("--cache-frames", self.cache_frames, 1)):
            if value < low:
                problems.append(f"`{flag}` must be >= {low}; got {value}")
        if not self.lr > 0:
            problems.append(f"`--lr` must be > 0; got {self.lr}")
        if self.weight_decay < 0:
            problems.append(f"`--weight-decay` must be >= 0; got {self.weight_decay}")
        if not 0 <= self.label_smoothing < 1:
            problems.append(f"`--label-smoothing` must be in [0, 1); got {self.label_smoothing}")
        if self.cache_frames < self.num_slots:
            problems.append(f"`--cache-frames` ({self.cache_frames}) must be >= `--frames` ({self.num_slots})")
        if self.sampling not in SAMPLINGS:
            problems.append(f"`--sampling` must be {' or '.join(SAMPLINGS)}; got {self.sampling}")
        if self.lr_schedule not in LR_SCHEDULES:
            problems.append(f"`--lr-schedule` must be {' or '.join(LR_SCHEDULES)}; got {self.lr_schedule}")
        if self.keep not in KEEPS:
            problems.append(f"`--keep` must be {' or '.join(KEEPS)}; got {self.keep}")
        if self.augment and list(self.streams) != ["pose"]:
            problems.append(f"`--augment` perturbs pose features; it needs `--streams pose`, got "
                            f"{'+'.join(self.streams)}")
        if not 0 <= self.augment_held <= 1:
            problems.append(f"`--augment-held` is a probability in [0, 1]; got {self.augment_held}")
        elif self.augment_held and not self.augment:
            problems.append("`--augment-held` is one of `--augment`'s perturbations; add `--augment`")
        if self.open_set_clusters < 1:
            problems.append(f"`--open-set-clusters` must be >= 1; got {self.open_set_clusters}")
        if not self.open_set_margin > 0:
            problems.append(f"`--open-set-margin` must be > 0; got {self.open_set_margin}")
        if not 0 <= self.unknown_below < 1:
            problems.append(f"`--unknown-below` is a probability in [0, 1); got {self.unknown_below}")
        elif self.unknown_below and not self.open_set:
            problems.append("`--unknown-below` is an open-set rule; it needs `--open-set on`")
        if problems:
            raise ValueError("\n".join(problems))


@dataclass(frozen=True)
class TimelineConfig:
    """How a long video is cut into windows and segments (`actcap predict --timeline`, the service's timeline)."""

    window: float = 3.0
    """Seconds per window (`--window`)."""
    stride: float = 0.5
    """Seconds between window starts (`--stride`)."""
    smooth: int = 3
    """Windows averaged when smoothing scores (`--smooth`)."""
    min_duration: float = 1.0
    """Segments shorter than this many seconds are dropped (`--min-duration`)."""
    min_confidence: float = 0.4
    """Segments less confident than this are dropped (`--min-confidence`)."""
