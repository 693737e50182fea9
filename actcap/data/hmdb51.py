"""The official HMDB51 train/test splits (testTrainMulti_7030_splits), matched to clips on disk.

Each split file `<class>_test_split<k>.txt` lists every clip of one class as `<video name> <tag> ` with
tag 1 = train, 2 = test, 0 = unused (lines end in a space; names contain # ! ( ) & ' [ ] ;). Class names
may contain underscores (brush_hair, fall_floor), so the class is everything before `_test_split<k>.txt`.

    records = scan_dataset("data/hmdb51")
    result = resolve_hmdb51(records, "data/testTrainMulti_7030_splits", split=1)
    print(result.report)   # HMDB51 split 1 over 51 classes: 3570 train, 1530 val (test), 1666 unused (tag 0)

Clips are matched by class and stem, so `ROOT/<class>/<name>.avi` and a frame folder `ROOT/<class>/<name>/`
both match `<name>.avi` in the split file. Nothing is dropped silently: clips listed but missing on disk
and clips on disk that no split file names are counted, logged and written into the report.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from actcap.data.folders import ClipRecord, DatasetError, class_names
from actcap.data.video import VIDEO_EXTENSIONS

log = logging.getLogger(__name__)

HMDB51_SPLITS = (1, 2, 3)
TAGS = {0: "unused", 1: "train", 2: "test"}
_EXAMPLES = 5


@dataclass
class SplitResult:
    """Train and validation clips of one split. `missing`: clips a split list names that are not on disk
    ("class/name"); `unused`: clips on disk tagged 0; `not_in_split`: clips on disk no split file names;
    `report`: a few human-readable lines for the log and the run folder."""

    train: list[ClipRecord]
    val: list[ClipRecord]
    missing: list[str] = field(default_factory=list)
    unused: int = 0
    report: str = ""
    not_in_split: list[str] = field(default_factory=list)


def _stem(name: str) -> str:
    """'x.avi' -> 'x'; a name without a video extension is kept whole (names may contain dots)."""
    root, ext = os.path.splitext(name)
    return root if ext.lower() in VIDEO_EXTENSIONS else name


def _clips(n: int) -> str:
    return f"{n} clip" if n == 1 else f"{n} clips"


def _examples(names: Sequence[str]) -> str:
    more = f", … ({len(names) - _EXAMPLES} more)" if len(names) > _EXAMPLES else ""
    return ", ".join(names[:_EXAMPLES]) + more


def parse_split_file(path: str | os.PathLike) -> list[tuple[str, int]]:
    """(video name, tag) for every non-blank line of one split file; a bad line raises DatasetError
    naming the file and line number (all bad lines are listed)."""
    path = Path(path)
    try:
        # surrogateescape keeps undecodable bytes so names still equal the file names on disk
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as e:
        raise DatasetError(f"could not read split file {path} ({e.strerror or e})") from e
    entries, problems = [], []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().rsplit(None, 1)
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            problems.append(f"{path}:{lineno}: expected '<video name> <tag>' with tag 0, 1 or 2, got {line!r}")
            continue
        entries.append((parts[0], int(parts[1])))
    if problems:
        raise DatasetError("\n".join(problems))
    return entries


def read_splits(splits_dir: str | os.PathLike, split: int) -> dict[str, dict[str, int]]:
    """class -> {clip stem: tag} from every `<class>_test_split<split>.txt` in splits_dir."""
    if split not in HMDB51_SPLITS:
        raise DatasetError(f"HMDB51 split must be 1, 2 or 3, got {split!r}")
    d = Path(splits_dir)
    fix = ("pass the folder holding <class>_test_split1.txt … with `--splits-dir` "
           "(unpack test_train_splits.rar from the HMDB51 site; see docs/hmdb51.md)")
    if not d.is_dir():
        raise DatasetError(f"HMDB51 splits folder {d} does not exist; {fix}")
    suffix = f"_test_split{split}.txt"
    files = sorted(p for p in d.iterdir() if p.name.endswith(suffix) and len(p.name) > len(suffix))
    if not files:
        raise DatasetError(f"no files named <class>{suffix} in {d}; {fix}")
    return {f.name[: -len(suffix)]: {_stem(n): tag for n, tag in parse_split_file(f)} for f in files}


def resolve_hmdb51(records: Sequence[ClipRecord], splits_dir: str | os.PathLike, split: int,
                   classes: Sequence[str] | None = None) -> SplitResult:
    """Train (tag 1) and val (tag 2) clips of official split `split`, matched by class and clip stem.

    Without `classes`, the classes considered are those on disk that the split files know (a partial
    download of a few class folders works); with `classes`, exactly those, each of which must appear in
    the split files. Clips of tag 1/2 missing on disk go to `missing`; on-disk clips no split file names
    go to `not_in_split`. Raises DatasetError if no clip on disk matches the split files at all.
    """
    table = read_splits(splits_dir, split)
    if classes is not None:
        unknown = [c for c in dict.fromkeys(classes) if c not in table]
        if unknown:
            raise DatasetError(f"`--classes` names not in the HMDB51 split files: {', '.join(unknown)}; "
                               f"valid names: {', '.join(sorted(table))}")
        wanted = list(dict.fromkeys(classes))
        records = [r for r in records if r.label in set(wanted)]
    else:
        wanted = [c for c in class_names(records) if c in table]
        absent = sorted(set(table) - set(wanted))
        if absent:
            log.info("HMDB51 split %d: %d classes in the split files have no folder on disk (%s)",
                     split, len(absent), _examples(absent))
    train, val, unused, not_in_split, seen = [], [], 0, [], set()
    for r in records:
        tag = table[r.label].get(r.name) if r.label in wanted else None
        if tag is None:
            not_in_split.append(f"{r.label}/{r.name}")
            continue
        seen.add((r.label, r.name))
        if tag == 1:
            train.append(r)
        elif tag == 2:
            val.append(r)
        else:
            unused += 1
    missing = [f"{c}/{n}" for c in wanted for n, tag in table[c].items() if tag in (1, 2) and (c, n) not in seen]
    if not seen:
        example = next(iter(table[wanted[0]])) if wanted else next(iter(next(iter(table.values()))))
        raise DatasetError(f"none of the {_clips(len(records))} on disk is named in the HMDB51 split {split} files "
                           f"in {splits_dir}; expected ROOT/<class>/<name>.avi with names such as '{example}'")
    lines = [f"HMDB51 split {split} over {len(wanted)} classes: {len(train)} train, {len(val)} val (test), "
             f"{unused} unused (tag 0)"]
    if missing:
        lines.append(f"{_clips(len(missing))} named in the split files missing on disk: {_examples(missing)}")
    if not_in_split:
        lines.append(f"{_clips(len(not_in_split))} on disk in no split file (not used): {_examples(not_in_split)}")
    for line in lines[1:]:
        log.warning(line)
    return SplitResult(train, val, missing, unused, "\n".join(lines), not_in_split)
