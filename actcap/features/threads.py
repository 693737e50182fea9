"""How many threads the CPU work gets, decided here and nowhere else, and always scoped: a block that changes
them restores them, so no job changes the threads the server predicts with.

    use_head_threads(engine)      # inference: one torch thread beside an ONNX Runtime CNN (the head is tiny)
    with torch_threads(3): …      # a block at 3 torch threads, restored after
    with background_work(1): …    # a background job (a teach job in the server): 1 thread, lower CPU priority

ONNX Runtime sessions take one intra-op thread per physical core (`physical_cores`, features/engine.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path

import torch

log = logging.getLogger(__name__)


def physical_cores() -> int:
    """Physical cores this process may use (hyper-threads share one core's math units, so they don't count)."""
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    cores = set()
    for c in cpus:
        topo = Path(f"/sys/devices/system/cpu/cpu{c}/topology")
        try:
            cores.add(((topo / "physical_package_id").read_text().strip(), (topo / "core_id").read_text().strip()))
        except OSError:
            cores.add(("cpu", str(c)))  # no topology (not Linux): count logical CPUs
    return max(1, len(cores))


def use_head_threads(engine: str | None) -> None:
    """Beside an ONNX Runtime CNN the head is tiny: one torch thread runs it ~30x faster than two fighting the
    CNN for the cores. Under the torch engine torch keeps its threads for the CNN."""
    if (engine or ("torch" if torch.cuda.is_available() else "onnx")) != "torch":
        torch.set_num_threads(1)


@contextlib.contextmanager
def torch_threads(n: int | None):
    """The block runs at `n` torch threads (None: as it is) and the count is restored after. torch keeps a count
    per thread and gives threads started later the count last set anywhere, so a block that lowers it (a teach
    job) must restore it, or every worker thread the server starts afterwards inherits the lower count."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def background_work(threads: int):
    """A background job beside serving (a teach job): at most `threads` torch threads inside the block, and the
    calling thread at lower CPU priority (nice +10 on Linux, per thread; the threads it starts, e.g. ONNX
    Runtime's, inherit it). A thread's priority cannot be raised again without privileges, so call this from
    a thread that only runs such jobs."""
    if hasattr(os, "setpriority") and hasattr(threading, "get_native_id"):
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, max(10, os.getpriority(os.PRIO_PROCESS, tid)))
        except OSError as e:  # not permitted (e.g. some containers): the bounded threads still apply
            log.debug("could not lower the job thread's priority: %s", e)
    with torch_threads(threads):
        yield
