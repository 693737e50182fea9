"""Divide scanned clips into train and validation sets; `resolve_split` is the one entry point of the CLI.

    --val-fraction 0.2 [--group-by REGEX]        stratified random split (default), optionally by group
    --split groups --group-by '_s(\\d+)_' --val-groups 5,6     hold out named groups (UTD-MHAD subjects)
    --train-list a.txt --val-list b.txt           explicit lists of clip names
    --split hmdb51:1 --splits-dir DIR             an official HMDB51 split (see hmdb51.py)
    --split npz:split1                            a split stored in a keypoint file (see keypoints.py)

A group is the first capture group of `--group-by` (or its whole match) found in the clip name. Splitting
by person matters: clips of one person are near-duplicates, so a random clip split overstates accuracy.
"""

from __future__ import annotations

import logging
import math
import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from actcap.data.folders import ClipRecord, DatasetError, class_names, sort_records
from actcap.data.hmdb51 import SplitResult, resolve_hmdb51
from actcap.data.keypoints import SPLIT_PREFIX, official_split
from actcap.data.video import natural_key

log = logging.getLogger(__name__)

SPLIT_MODES = ("fraction", "groups", "lists", "hmdb51:1", "hmdb51:2", "hmdb51:3")
DEFAULT_VAL_FRACTION = 0.2
_MAX_LINES = 20


def _raise(problems: list[str]) -> None:
    if len(problems) > _MAX_LINES:
        problems = problems[:_MAX_LINES] + [f"… and {len(problems) - _MAX_LINES} more"]
    raise DatasetError("\n".join(problems))


def _compile(group_by: str) -> re.Pattern:
    try:
        return re.compile(group_by)
    except re.error as e:
        raise DatasetError(f"`--group-by` '{group_by}' is not a valid regular expression ({e})") from e


def get_groups(records: Sequence[ClipRecord], group_by: str | None) -> list[str]:
    """The group of each record: its own `group` when it has one, else found in its name by `group_by`;
    DatasetError naming every clip that has neither."""
    pattern, groups, problems = _compile(group_by) if group_by else None, [], []
    for r in records:
        if r.group is not None:
            groups.append(r.group)
            continue
        m = pattern.search(r.name) if pattern is not None else None
        if m is None:
            problems.append(f"clip '{r.name}' ({r.label}) does not match `--group-by` '{group_by}'" if pattern
                            else f"clip '{r.name}' ({r.label}) has no group and no `--group-by` was given")
            continue
        groups.append(m.group(1) if pattern.groups else m.group(0))
    if problems:
        _raise(problems)
    return groups


def _split_on_groups(records, groups, val_groups: set[str]) -> tuple[list[ClipRecord], list[ClipRecord]]:
    """Records whose group is in val_groups go to val; every class must keep a training clip."""
    train = [r for r, g in zip(records, groups) if g not in val_groups]
    val = [r for r, g in zip(records, groups) if g in val_groups]
    no_train = [c for c in class_names(records) if c not in {r.label for r in train}]
    if no_train:
        _raise([f"class '{c}' has no training clips: all its clips are in validation groups "
                f"{', '.join(sorted(val_groups, key=natural_key))}" for c in no_train])
    return train, val


def split_by_fraction(records: Sequence[ClipRecord], val_fraction: float, group_by: str | None = None,
                      seed: int = 0) -> tuple[list[ClipRecord], list[ClipRecord]]:
    """Random split, stratified per class: round(n * val_fraction) val clips per class, at least 1 when the
    class has 2+ clips, never all of them. With `group_by`, whole groups are drawn instead (round(groups *
    val_fraction), at least 1, not all), so every group lands on one side only."""
    if not 0 < val_fraction < 1:
        raise DatasetError(f"`--val-fraction` must be between 0 and 1 (exclusive), got {val_fraction}")
    rng = np.random.default_rng(seed)
    if group_by is not None:
        groups = get_groups(records, group_by)
        names = sorted(set(groups), key=natural_key)
        if len(names) < 2:
            raise DatasetError(f"`--group-by` '{group_by}' found {len(names)} group ({', '.join(names)}); "
                               f"need at least 2 to hold one out")
        n_val = min(len(names) - 1, max(1, math.floor(len(names) * val_fraction + 0.5)))
        val_groups = {names[i] for i in rng.permutation(len(names))[:n_val]}
        train, val = _split_on_groups(list(records), groups, val_groups)
        return sort_records(train), sort_records(val)
    train, val = [], []
    for label in class_names(records):
        clips = [r for r in records if r.label == label]
        n_val = min(len(clips) - 1, max(1, math.floor(len(clips) * val_fraction + 0.5)))
        chosen = set(rng.permutation(len(clips))[:n_val].tolist())
        train += [r for i, r in enumerate(clips) if i not in chosen]
        val += [r for i, r in enumerate(clips) if i in chosen]
    return sort_records(train), sort_records(val)


def split_by_groups(records: Sequence[ClipRecord], group_by: str, val_groups: Sequence[str]
                    ) -> tuple[list[ClipRecord], list[ClipRecord]]:
    """Clips whose group is in val_groups go to validation, the rest to training."""
    groups = get_groups(records, group_by)
    found = sorted(set(groups), key=natural_key)
    unknown = [str(g) for g in val_groups if str(g) not in found]
    if unknown:
        raise DatasetError(f"`--val-groups` {', '.join(unknown)} not found by `--group-by` '{group_by}'; "
                           f"groups found: {', '.join(found)}")
    train, val = _split_on_groups(list(records), groups, {str(g) for g in val_groups})
    return sort_records(train), sort_records(val)


def leave_groups_out_folds(records: Sequence[ClipRecord], group_by: str, groups_per_fold: int
                           ) -> list[tuple[list[str], list[ClipRecord], list[ClipRecord]]]:
    """Cross-validation over unseen groups: consecutive (natural-sorted) chunks of groups_per_fold groups,
    each in validation exactly once. Returns [(val group names, train, val), …]."""
    groups = get_groups(records, group_by)
    names = sorted(set(groups), key=natural_key)
    if not 1 <= groups_per_fold < len(names):
        raise DatasetError(f"groups per fold must be between 1 and {len(names) - 1} "
                           f"(`--group-by` '{group_by}' found {len(names)} groups), got {groups_per_fold}")
    folds = []
    for start in range(0, len(names), groups_per_fold):
        held = names[start:start + groups_per_fold]
        train, val = _split_on_groups(list(records), groups, set(held))
        folds.append((held, sort_records(train), sort_records(val)))
    return folds


def _read_list(path: Path, index: dict[str, list[ClipRecord]], flag: str, problems: list[str]) -> list[ClipRecord]:
    """Records named by a list file (clip name, file name, or <class>/<clip>); problems are appended."""
    try:
        lines = path.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except OSError as e:
        problems.append(f"`{flag}` {path} could not be read ({e.strerror or e})")
        return []
    chosen: dict[ClipRecord, None] = {}
    for lineno, line in enumerate(lines, start=1):
        key = line.strip().replace("\\", "/").removeprefix("./")
        if not key:
            continue
        hits = index.get(key, [])
        if len(hits) == 1:
            chosen[hits[0]] = None
        elif not hits:
            problems.append(f"{path}:{lineno}: no clip named {key!r} in the data folder "
                            f"(write a clip name, its file name, or <class>/<clip>)")
        else:
            problems.append(f"{path}:{lineno}: {key!r} matches clips in several classes "
                            f"({', '.join(r.label for r in hits)}); write it as <class>/<clip>")
    if not chosen and not problems:
        problems.append(f"`{flag}` {path} names no clips")
    return list(chosen)


def split_from_lists(records: Sequence[ClipRecord], train_list: str | os.PathLike, val_list: str | os.PathLike
                     ) -> tuple[list[ClipRecord], list[ClipRecord]]:
    """Train and val clips named in two text files, one clip per line; clips in neither are left out."""
    index: dict[str, list[ClipRecord]] = {}
    for r in records:
        for key in {r.name, r.path.name, f"{r.label}/{r.name}", f"{r.label}/{r.path.name}"}:
            index.setdefault(key, []).append(r)
    problems: list[str] = []
    train = _read_list(Path(train_list), index, "--train-list", problems)
    val = _read_list(Path(val_list), index, "--val-list", problems)
    problems += [f"clip '{r.label}/{r.name}' is in both `--train-list` and `--val-list`" for r in set(train) & set(val)]
    if problems:
        _raise(problems)
    left = len(records) - len(train) - len(val)
    if left:
        log.info("%d clips are in neither list and are not used", left)
    return sort_records(train), sort_records(val)


def _mode(split, val_groups, train_list, val_list) -> tuple[str, str]:
    """(mode, the flag that chose it) from `--split` or, without it, from the other flags given."""
    if split is not None:
        return split, f"`--split {split}`"
    if train_list is not None or val_list is not None:
        return "lists", "`--train-list`" if train_list is not None else "`--val-list`"
    if val_groups:
        return "groups", "`--val-groups`"
    return "fraction", "`--val-fraction`"


def resolve_split(records: Sequence[ClipRecord], *, split: str | None = None, splits_dir=None,
                  val_fraction: float | None = None, group_by: str | None = None,
                  val_groups: Sequence[str] | str | None = None, train_list=None, val_list=None,
                  seed: int = 0, classes: Sequence[str] | None = None) -> SplitResult:
    """Turn the CLI's split flags into a SplitResult; None means "flag not given", `val_fraction=0` no validation.

    Checks every flag combination first and raises one DatasetError listing all conflicts, naming flags.
    `hmdb51:all` is the caller's loop over splits 1-3 and is refused here.
    """
    if isinstance(val_groups, str):
        val_groups = [g.strip() for g in val_groups.split(",") if g.strip()]
    if split == "hmdb51:all":
        raise DatasetError("`--split hmdb51:all` means all three official splits: run hmdb51:1, hmdb51:2 "
                           "and hmdb51:3 one by one (`actcap train` and `actcap evaluate` do this for "
                           "`--split hmdb51:all`)")
    if split is not None and split.startswith(SPLIT_PREFIX):
        others = [f for f, on in (("--val-fraction", val_fraction is not None), ("--group-by", group_by),
                                  ("--val-groups", val_groups), ("--train-list", train_list),
                                  ("--val-list", val_list), ("--splits-dir", splits_dir)) if on]
        if others:
            raise DatasetError("\n".join(f"can't combine `{f}` with `--split {split}`" for f in others))
        return official_split([r for r in records if classes is None or r.label in set(classes)], split)
    if split is not None and split not in SPLIT_MODES:
        raise DatasetError(f"unknown split {split!r}; choose one of: {', '.join(SPLIT_MODES)}, hmdb51:all (evaluate), "
                           f"{SPLIT_PREFIX}<name> (a keypoint file's own split)")
    mode, chooser = _mode(split, val_groups, train_list, val_list)
    kind = "hmdb51" if mode.startswith("hmdb51:") else mode
    given = {"--val-fraction": val_fraction is not None, "--group-by": group_by is not None,
             "--val-groups": bool(val_groups), "--train-list": train_list is not None,
             "--val-list": val_list is not None, "--splits-dir": splits_dir is not None}
    allowed = {"fraction": {"--val-fraction", "--group-by"}, "groups": {"--group-by", "--val-groups"},
               "lists": {"--train-list", "--val-list"}, "hmdb51": {"--splits-dir"}}[kind]
    problems = ["`--splits-dir` is only used with `--split hmdb51:1|2|3`" if f == "--splits-dir" else
                f"can't combine `{f}` with {chooser}"
                for f, on in given.items() if on and f not in allowed and f"`{f}`" != chooser]
    needs = {"groups": ["--group-by", "--val-groups"], "lists": ["--train-list", "--val-list"],
             "hmdb51": ["--splits-dir"]}.get(kind, [])
    problems += [f"{chooser} needs `{f}`" for f in needs if not given[f] and f"`{f}`" != chooser]
    if problems:
        raise DatasetError("\n".join(problems))

    if kind == "hmdb51":
        return resolve_hmdb51(records, splits_dir, int(mode.split(":")[1]), classes)
    if classes is not None:
        found = class_names(records)
        unknown = [c for c in dict.fromkeys(classes) if c not in found]
        if unknown:
            raise DatasetError(f"`--classes` names not found: {', '.join(unknown)}; classes found: {', '.join(found)}")
        records = [r for r in records if r.label in set(classes)]
    if kind == "lists":
        train, val = split_from_lists(records, train_list, val_list)
        how = f"clip lists {train_list} / {val_list}"
    elif kind == "groups":
        train, val = split_by_groups(records, group_by, val_groups)
        how = f"groups '{group_by}', validation groups {', '.join(val_groups)}"
    elif val_fraction == 0:  # `--val-fraction 0`: train on everything, no validation
        train, val, how = sort_records(records), [], "nothing (`--val-fraction 0`: no validation)"
    else:
        fraction = DEFAULT_VAL_FRACTION if val_fraction is None else val_fraction
        train, val = split_by_fraction(records, fraction, group_by, seed)
        how = (f"random {fraction:g} of groups '{group_by}'" if group_by else
               f"random {fraction:g} of clips per class") + f", seed {seed}"
        if group_by is None:
            log.warning("splitting clips at random: clips of one person land on both sides, which overstates "
                        "accuracy on unseen people; pass `--group-by` (e.g. '_s(\\d+)_' for UTD-MHAD subjects)")
    report = f"split by {how}: {len(train)} train, {len(val)} val over {len(class_names(records))} classes"
    return SplitResult(train, val, [], 0, report)
