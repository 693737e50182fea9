"""Files written atomically: a reader (the server, `--resume`, another process) sees the old file or the new
one, never half of one, whatever interrupts the writer (an exception, Ctrl-C, a full disk, a kill).

    atomic_write_json(out / "metrics.json", metrics)
    with atomic_path(out / "curve.png") as tmp:  # for writers that want a file name
        fig.savefig(tmp)

Each write goes to a hidden temp file in the same folder (so the rename never crosses file systems), is
flushed to disk, then `os.replace`d over the target; on any error the temp file is removed and the target
is untouched. A process killed mid-write can leave a `.NAME.*.tmp` file behind, never a damaged NAME.

`disk_problem(error)` says a full disk or a read-only folder in words, for the CLI and the service alike.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path beside `path`; when the block ends without an error, the temp file replaces `path`.

    The block must write the file at the yielded path (its format may be chosen by the target's suffix:
    the temp path ends in `.tmp`, so pass a format explicitly where a writer guesses one from the name)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(path)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())  # the data is on disk before the name points at it
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        # O_EXCL: a clash with another writer's temp file fails loudly; mode 0o666 lets the umask decide,
        # as a plain open() would (mkstemp's 0o600 would hide a model from a server run as another user)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj) -> Path:
    """`obj` as indented JSON plus a newline, the form of every JSON file actcap writes; serialised before
    anything touches the disk, so an unserialisable value leaves the old file as it was."""
    return atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


FULL_DISK = (errno.ENOSPC, errno.EDQUOT)
READ_ONLY = (errno.EROFS,)


def disk_problem(error: OSError, where: str | None = None, needed: int | None = None) -> str | None:
    """A full disk or a read-only folder said in words (None for any other error): what happened, which folder
    (`where`, else the error's file's folder), how much was needed when known, and what to do."""
    if error.errno not in FULL_DISK + READ_ONLY:
        return None
    where = where or (str(Path(error.filename).parent) if error.filename else "the folder being written")
    if error.errno in READ_ONLY:
        return f"{where} is read-only; make it writable or choose another folder"
    size = f" ({needed / 2**20:.1f} MiB were needed)" if needed else ""
    return f"no space left in {where}{size}; free some space there or choose another folder"
