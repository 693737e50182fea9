"""Files that appear whole or not at all: write beside the target, then rename over it.

A reader (or a rerun after kill -9) sees the old file or the new one, never half of one. The temporary
name carries the process id, so two processes writing the same target never share a temporary file.
"""

from __future__ import annotations

import os
from pathlib import Path


def temporary_path(path: str | Path, suffix: str = "") -> Path:
    """Where to write `path` before `replace_atomic`: a hidden sibling (same filesystem, so rename is atomic)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")


def replace_atomic(tmp: str | Path, path: str | Path) -> None:
    """Move a finished temporary file into place, flushed first so a power cut cannot leave it empty."""
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_text_atomic(path: str | Path, text: str) -> None:
    tmp = temporary_path(path)
    tmp.write_text(text)
    replace_atomic(tmp, path)
