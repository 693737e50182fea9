"""Find the clips of a dataset laid out as one folder per class.

    ROOT/<class>/<clip>.avi            a video (.avi .mp4 .mkv .webm .mov)
    ROOT/<class>/<clip>/<frame>.jpg    a frame folder (.jpg .jpeg .png .bmp .webp)

Both kinds may be mixed. Scanning only looks at names (no decoding), so it is fast on large trees; a
broken file is reported later by `open_clip`. Every problem found is collected and raised once.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from actcap.data.video import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, natural_key

log = logging.getLogger(__name__)


class DatasetError(ValueError):
    """A dataset folder, split file or split option that can't be used; the message lists every problem."""


@dataclass(frozen=True)
class ClipRecord:
    """One clip on disk: `path` (video file or frame folder), `label` (class folder name) and `name`
    (file stem, or folder name for frame folders) used to match split lists."""

    path: Path
    label: str
    name: str
    group: str | None = None
    """Who (or which source) the clip shows, when the caller knows it (a taught example's person); None: found
    from the name by `--group-by` (splits.get_groups)."""


def _layout(root: Path) -> str:
    return f"expected {root}/<class>/<clip>.avi or {root}/<class>/<clip>/<frame>.jpg"


def _has_image(folder: Path) -> bool:
    with os.scandir(folder) as it:
        return any(e.is_file() and not e.name.startswith(".") and Path(e.name).suffix.lower() in IMAGE_EXTENSIONS
                   for e in it)


def _scan_class(folder: Path) -> tuple[list[ClipRecord], list[str]]:
    """Clips in one class folder, and the problems found there."""
    clips, problems = [], []
    for p in sorted(folder.iterdir(), key=lambda p: natural_key(p.name)):
        if p.name.startswith("."):
            continue
        if p.is_dir():
            if _has_image(p):
                clips.append(ClipRecord(p, folder.name, p.name))
            else:
                log.warning("skipping %s: a folder with no image files (%s)", p, ", ".join(IMAGE_EXTENSIONS))
        elif p.suffix.lower() in VIDEO_EXTENSIONS:
            clips.append(ClipRecord(p, folder.name, p.stem))
    if not clips:
        problems.append(f"class folder '{folder.name}' ({folder}) has no videos or frame folders; "
                        f"{_layout(folder.parent).replace('<class>', folder.name)}")
    seen: dict[str, Path] = {}
    for c in clips:
        if c.name in seen:
            problems.append(f"class folder '{folder.name}' has two clips named '{c.name}' "
                            f"({seen[c.name].name}, {c.path.name}); keep one")
        seen[c.name] = c.path
    return clips, problems


def scan_dataset(root: str | os.PathLike, classes: Sequence[str] | None = None) -> list[ClipRecord]:
    """All clips under ROOT/<class>/, sorted by class then natural clip name.

    `classes` keeps only those class folders (every name must exist). Raises DatasetError listing all
    problems: missing root, no class folders, empty class folders, duplicate clip names, unknown classes.
    A 1-class result is allowed here (evaluate/predict); training calls `check_trainable`.
    """
    root = Path(root)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise DatasetError(f"data folder {root} {what}; {_layout(root)}")
    class_dirs = sorted((d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")),
                        key=lambda d: d.name)
    if not class_dirs:
        loose = [p for p in root.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS]
        hint = (f" (it holds {len(loose)} video files directly: move them into {root}/<class>/, "
                f"or point `--data` at their parent)") if loose else ""
        raise DatasetError(f"data folder {root} has no class folders; {_layout(root)}{hint}")
    problems = []
    if classes is not None:
        found = [d.name for d in class_dirs]
        unknown = [c for c in dict.fromkeys(classes) if c not in found]
        if unknown:
            problems.append(f"`--classes` names not found in {root}: {', '.join(unknown)}; "
                            f"class folders there: {', '.join(found)}")
        class_dirs = [d for d in class_dirs if d.name in set(classes)]
    records: list[ClipRecord] = []
    for d in class_dirs:
        clips, issues = _scan_class(d)
        records += clips
        problems += issues
    if problems:
        raise DatasetError("\n".join(problems))
    return sort_records(records)


def sort_records(records: Sequence[ClipRecord]) -> list[ClipRecord]:
    """Deterministic order: class name, then natural clip name."""
    return sorted(records, key=lambda r: (r.label, natural_key(r.name)))


def class_names(records: Sequence[ClipRecord]) -> list[str]:
    """The sorted distinct labels of records."""
    return sorted({r.label for r in records})


def check_trainable(records: Sequence[ClipRecord]) -> None:
    """Raise DatasetError unless records cover at least 2 classes (a classifier needs something to tell apart)."""
    names = class_names(records)
    if len(names) < 2:
        noun = "class" if len(names) == 1 else "classes"
        raise DatasetError(f"found {len(names)} {noun} ({', '.join(names)}); training needs at least 2")
