"""Keypoint datasets: one `.npz` file of body-joint clips (docs/data-formats.md, "Keypoint files").

    actcap train --data jhmdb.npz --split npz:split1 --streams pose --out runs/jhmdb1

A file holds every clip's frames concatenated (`points` (frames, J, C), `offsets` (n+1)), one label per clip
and the joint and channel names, so any joint layout maps onto the pose stream's skeleton by names
(actcap/pose/skeleton.py). `read_keypoints` checks everything before any clip is used and raises one
KeypointFileError naming the file, every bad field and what was expected.

A clip of a keypoint file is a ClipRecord like a video: its path is `FILE.npz::<clip>` (features come from the
joints, features/keypoints.py), its name `s<subject>_<clip>` when the file gives subjects, else `<clip>`, so
`--group-by '^s(\\d+)_'` splits by person. Official splits: `--split npz:<split name>` (e.g. `npz:split1`).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from actcap.data.folders import ClipRecord, DatasetError, class_names
from actcap.data.hmdb51 import SplitResult
from actcap.pose.skeleton import JOINTS, camera_to_image, joint_sources, map_joints

REF = "::"
"""Separates the file from the clip in a keypoint clip's path: `jhmdb.npz::jhmdb_clap_003`."""
FIELDS = {  # field → (dtype kinds accepted, what is expected)
    "points": ("f", "float (frames, joints, channels): every clip's frames, concatenated in clip order"),
    "offsets": ("iu", "int (clips + 1): clip i is points[offsets[i]:offsets[i + 1]], from 0 up to frames"),
    "label": ("iu", "int (clips): index into classes"),
    "classes": ("U", "str (classes): action names"),
    "joints": ("U", "str (joints): joint names in stored order"),
    "channels": ("U", "str (channels): x, y / x, y, z / x, y, visible"),
}
OPTIONAL = {
    "split": ("iu", "int (clips, splits): 1 train, 2 test, 0 not in that split"),
    "split_names": ("U", "str (splits): the split names"),
    "subject": ("iu", "int (clips): performer id, -1 unknown"),
    "clip": ("U", "str (clips): unique clip ids"),
    "coords": ("U", "str: pixels, kinect_meters, …"),
}
SPLIT_PREFIX = "npz:"


class KeypointFileError(DatasetError):
    """A keypoint file that can't be used; the message names the file and every problem."""


@dataclass(eq=False)
class KeypointSet:
    path: Path
    points: np.ndarray  # (frames, J, C) float32
    offsets: np.ndarray  # (n + 1,) int64
    labels: np.ndarray  # (n,) int
    classes: list[str]
    joints: list[str]
    channels: list[str]
    clips: list[str]
    subjects: np.ndarray  # (n,) int, -1 unknown
    split: np.ndarray  # (n, S) int8
    split_names: list[str]
    coords: str

    def __post_init__(self):
        self._index = {c: i for i, c in enumerate(self.clips)}

    def __len__(self) -> int:
        return len(self.labels)

    def clip_points(self, i: int) -> np.ndarray:
        """Clip i's (T, J, C) points as stored."""
        return self.points[self.offsets[i]:self.offsets[i + 1]]

    def canonical(self, i: int) -> np.ndarray:
        """Clip i on the shared skeleton: (T, 13, 3) image-like x, y (y down), confidence. 3D camera-space
        joints (a z channel) are projected by `camera_to_image`."""
        pts, channels = self.clip_points(i), [c.lower() for c in self.channels]
        if "z" in channels:
            xyz = pts[..., [channels.index(c) for c in ("x", "y", "z")]]
            return map_joints(camera_to_image(xyz), self.joints, ("x", "y", "visible"))
        return map_joints(pts, self.joints, channels)

    def index(self, clip: str) -> int:
        """The position of clip id `clip`; KeypointFileError when the file has no such clip."""
        if clip not in self._index:
            raise KeypointFileError(f"{self.path}: no clip {clip!r}")
        return self._index[clip]


def _check_field(name: str, value: np.ndarray, kinds: str, expected: str, problems: list[str]) -> bool:
    if value.dtype.kind not in kinds:
        problems.append(f"field `{name}` has dtype {value.dtype}; expected {expected}")
        return False
    return True


def _problems(z: dict[str, np.ndarray]) -> list[str]:
    """Every problem with the arrays of one file (empty when it can be used)."""
    problems = [f"missing field `{k}` ({what})" for k, (_, what) in FIELDS.items() if k not in z]
    ok = {k for k, (kinds, what) in {**FIELDS, **OPTIONAL}.items()
          if k in z and _check_field(k, z[k], kinds, what, problems)}
    if problems or not ok >= set(FIELDS):
        return problems
    pts, off, lab = z["points"], z["offsets"], z["label"]
    if pts.ndim != 3:
        return [f"field `points` has shape {pts.shape}; expected {FIELDS['points'][1]}"]
    n = len(off) - 1
    if off.ndim != 1 or n < 1:
        problems.append(f"field `offsets` has shape {off.shape}; expected {FIELDS['offsets'][1]}")
    elif off[0] != 0 or off[-1] != len(pts):
        problems.append(f"field `offsets` runs from {off[0]} to {off[-1]}; expected 0 to {len(pts)} "
                        "(the number of frames in `points`): offsets out of range")
    elif np.any(np.diff(off) <= 0):
        bad = int(np.argmax(np.diff(off) <= 0))
        problems.append(f"field `offsets` is not increasing at clip {bad} ({off[bad]} then {off[bad + 1]}); "
                        "every clip needs at least one frame")
    if lab.shape != (max(n, 0),):
        problems.append(f"field `label` has shape {lab.shape}; expected ({n},), one per clip")
    elif len(lab) and (lab.min() < 0 or lab.max() >= len(z["classes"])):
        problems.append(f"field `label` has values {lab.min()}..{lab.max()}; expected 0..{len(z['classes']) - 1} "
                        f"(indices into the {len(z['classes'])} classes)")
    if len(z["joints"]) != pts.shape[1]:
        problems.append(f"field `joints` names {len(z['joints'])} joints but `points` has {pts.shape[1]}")
    else:
        missing = [j for j, s in zip(JOINTS, joint_sources(list(z["joints"]))) if s is None]
        if missing:
            problems.append(f"field `joints` lacks {', '.join(missing)} (names: {', '.join(z['joints'])}); "
                            "name the joints as in docs/data-formats.md (aliases: actcap.pose.skeleton.ALIASES)")
    channels = [c.lower() for c in z["channels"]]
    if len(channels) != pts.shape[2]:
        problems.append(f"field `channels` names {len(channels)} channels but `points` has {pts.shape[2]}")
    elif "x" not in channels or "y" not in channels:
        problems.append(f"field `channels` is {', '.join(channels)}; expected x, y first (and z or visible)")
    bad = ~np.isfinite(pts)
    if bad.any():
        frame, joint, _ = np.argwhere(bad)[0]
        clip = int(np.searchsorted(off, frame, side="right") - 1) if n >= 1 else 0
        problems.append(f"field `points` has {int(bad.sum())} NaN or infinite values (first: clip {clip}, frame "
                        f"{frame}, joint {z['joints'][joint] if joint < len(z['joints']) else joint}); mark "
                        "missing joints with a `visible` channel of 0 instead")
    for k, shape in (("subject", (n,)), ("clip", (n,))):
        if k in ok and z[k].shape != shape:
            problems.append(f"field `{k}` has shape {z[k].shape}; expected {shape}, one per clip")
    if "clip" in ok and z["clip"].shape == (n,) and len(set(z["clip"].tolist())) != n:
        problems.append("field `clip` repeats clip ids; expected unique ids")
    if "split" in ok:
        names = z.get("split_names", np.zeros(0, str))
        if z["split"].ndim != 2 or len(z["split"]) != n or z["split"].shape[1] != len(names):
            problems.append(f"field `split` has shape {z['split'].shape}; expected ({n}, {len(names)}): one column "
                            "per name in `split_names`")
        elif not np.isin(z["split"], (0, 1, 2)).all():
            problems.append("field `split` has values other than 0 (not in it), 1 (train), 2 (test)")
    return problems


def read_keypoints(path: str | Path) -> KeypointSet:
    """The keypoint file at `path`, checked (KeypointFileError lists every problem, naming file and fields)."""
    path = Path(path)
    key = path.resolve()
    stat = path.stat() if path.is_file() else None
    return _read(key, stat.st_mtime_ns if stat else None, stat.st_size if stat else None, str(path))


@lru_cache(maxsize=8)
def _read(key: Path, mtime: int | None, size: int | None, shown: str) -> KeypointSet:
    if mtime is None:
        raise KeypointFileError(f"{shown}: keypoint file does not exist")
    try:
        with np.load(key, allow_pickle=False) as f:
            z = {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise KeypointFileError(f"{shown}: cannot be read as a keypoint .npz file ({e}); expected numpy.savez "
                                "output without pickled objects (docs/data-formats.md)") from e
    problems = _problems(z)
    if problems:
        raise KeypointFileError("\n".join(f"{shown}: {p}" for p in problems))
    n = len(z["offsets"]) - 1
    return KeypointSet(
        path=Path(shown), points=z["points"].astype(np.float32), offsets=z["offsets"].astype(np.int64),
        labels=z["label"].astype(np.int64), classes=[str(c) for c in z["classes"]],
        joints=[str(j) for j in z["joints"]], channels=[str(c) for c in z["channels"]],
        clips=[str(c) for c in z["clip"]] if "clip" in z else [f"clip{i:05d}" for i in range(n)],
        subjects=z["subject"].astype(np.int64) if "subject" in z else np.full(n, -1),
        split=z["split"].astype(np.int8) if "split" in z else np.zeros((n, 0), np.int8),
        split_names=[str(s) for s in z.get("split_names", [])], coords=str(z.get("coords", "pixels")))


def is_keypoint_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() == ".npz"


def is_keypoint_ref(path: str | Path) -> bool:
    return REF in Path(path).name


def parse_ref(path: str | Path) -> tuple[Path, str]:
    """`FILE.npz::clip` → (FILE.npz, clip)."""
    path = Path(path)
    file, clip = path.name.split(REF, 1)
    return path.with_name(file), clip


def keypoint_records(path: str | Path, classes: Sequence[str] | None = None) -> list[ClipRecord]:
    """Every clip of a keypoint file as a ClipRecord (see the module docstring); `classes` keeps those only
    (each must exist in the file)."""
    kset = read_keypoints(path)
    names = [kset.classes[y] for y in kset.labels]
    if classes is not None:
        unknown = [c for c in dict.fromkeys(classes) if c not in set(names)]
        if unknown:
            raise KeypointFileError(f"{path}: `--classes` names not found: {', '.join(unknown)}; classes: "
                                    f"{', '.join(sorted(set(names)))}")
    out = []
    for clip, label, subject in zip(kset.clips, names, kset.subjects):
        if classes is None or label in classes:
            name = f"s{subject}_{clip}" if subject >= 0 else clip
            out.append(ClipRecord(Path(path).with_name(f"{Path(path).name}{REF}{clip}"), label, name))
    return out


def official_split(records: Sequence[ClipRecord], split: str) -> SplitResult:
    """`--split npz:<name>`: a split stored in the file (1 train, 2 test; 0 left out)."""
    file = parse_ref(records[0].path)[0]
    kset, wanted = read_keypoints(file), split.removeprefix(SPLIT_PREFIX)
    if wanted not in kset.split_names:
        have = ", ".join(f"{SPLIT_PREFIX}{s}" for s in kset.split_names) or "none (split by `--group-by` instead)"
        raise KeypointFileError(f"{file}: no official split {wanted!r}; splits stored: {have}")
    column = kset.split[:, kset.split_names.index(wanted)]
    side = {r.path: column[kset.index(parse_ref(r.path)[1])] for r in records}
    train = [r for r in records if side[r.path] == 1]
    val = [r for r in records if side[r.path] == 2]
    unused = len(records) - len(train) - len(val)
    report = (f"split by {file.name}'s official split {wanted}: {len(train)} train, {len(val)} test over "
              f"{len(class_names(records))} classes ({unused} clips in neither)")
    return SplitResult(train, val, [], unused, report)


def save_keypoints(path: str | Path, clips: Sequence[np.ndarray], labels: Sequence[str], joints: Sequence[str],
                   channels: Sequence[str] = ("x", "y"), subjects: Sequence[int] | None = None,
                   clip_ids: Sequence[str] | None = None, coords: str = "pixels",
                   splits: dict[str, Sequence[int]] | None = None) -> KeypointSet:
    """Write clips ((T, J, C) arrays, one label each) as a keypoint file and read it back, checked: the
    converter behind docs/data-formats.md's recipes for OpenPose, MMPose and MediaPipe exports. `splits`:
    split name → per clip 1 (train), 2 (test) or 0."""
    if len(clips) != len(labels) or not clips:
        raise KeypointFileError(f"{path}: {len(clips)} clips but {len(labels)} labels; expected one label per clip")
    classes = sorted(set(labels))
    np.savez_compressed(
        path, points=np.concatenate([np.asarray(c, np.float32) for c in clips]),
        offsets=np.cumsum([0] + [len(c) for c in clips]).astype(np.int64),
        label=np.array([classes.index(y) for y in labels], np.int16), classes=np.array(classes),
        joints=np.array(list(joints)), channels=np.array(list(channels)),
        subject=np.array(subjects if subjects is not None else [-1] * len(clips), np.int16),
        clip=np.array(list(clip_ids) if clip_ids is not None else [f"clip{i:05d}" for i in range(len(clips))]),
        coords=np.array(coords), split_names=np.array(list(splits or {}), dtype=str),
        split=np.array(list((splits or {}).values()), np.int8).T.reshape(len(clips), len(splits or {})))
    return read_keypoints(path)
