"""Cross-process locks, so several processes can share one feature cache (filelock: flock on POSIX).

A lock lives as long as its holder: the kernel drops it when the process exits or is killed, so a
crashed run never blocks the next one. flock needs a filesystem that supports it: local disks,
NFSv4, Lustre mounted with `-o flock`, GPFS; see docs/scale-out.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)
T = TypeVar("T")


def create_lock(path: str | Path) -> FileLock:
    """A lock on `path` (created if missing). No soft fallback: a stale marker left by kill -9 would block forever."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path), thread_local=False, fallback_to_soft=False)


def try_acquire(lock: FileLock) -> bool:
    try:
        lock.acquire(blocking=False)
    except Timeout:
        return False
    return True


def claim_free(items: Iterable[T], lock_for: Callable[[T], FileLock], done: Callable[[T], bool],
               deferred: list) -> Iterator[tuple[T, FileLock]]:
    """Yield (item, held lock) for each item no other process holds; never waits. The caller releases.

    Items another process holds go to `deferred` for `claim_waiting`; items `done` by now are skipped.
    """
    for item in items:
        lock = lock_for(item)
        if not try_acquire(lock):
            deferred.append((item, lock))
            continue
        if done(item):  # finished by another process since the caller last looked
            lock.release()
            continue
        yield item, lock


def claim_waiting(deferred: list, done: Callable[[T], bool]) -> Iterator[tuple[T, FileLock]]:
    """Wait for each deferred item's holder; yield it only if the holder did not finish it (it died).

    The caller must finish and release each item before asking for the next: holding one lock while
    waiting for another could deadlock two processes that deferred each other's items.
    """
    if deferred:
        log.info("waiting for %d item(s) another process is working on", len(deferred))
    for item, lock in deferred:
        lock.acquire()
        if done(item):
            lock.release()
            continue
        yield item, lock
