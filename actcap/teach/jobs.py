"""Training jobs, one at a time, in a background thread; the others wait in order.

    jobs = JobQueue(run)                  # run(payload, progress) -> {"model": NAME, "metrics": {…}}
    job = jobs.submit(payload, cleanup)   # state "queued"; then "running", and "done" or "failed"
    jobs.get(job.id).to_dict()            # what GET /jobs/{id} answers

The thread never touches the event loop: a service keeps answering predictions while a job runs. A job that
raises is marked failed with the error's message (the traceback goes to the log when the error was not a
plain ValueError, i.e. not the user's input); nothing it half-built is kept. Jobs live in memory: a restart
forgets them, never the models they saved.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger(__name__)
STATES = ("queued", "running", "done", "failed")


class UnknownJobError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class Job:
    id: str
    name: str
    """The model the job will save."""
    state: str = "queued"
    progress: float = 0.0
    message: str = "waiting for the jobs before it"
    metrics: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """Why a job stopped before training (a new label duplicating a base action): each a sentence."""
    created: float = field(default_factory=time.time)
    finished: float | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "state": self.state, "progress": round(self.progress, 3), "message": self.message,
                "model": self.name, "metrics": self.metrics, "warnings": self.warnings}


class JobQueue:
    def __init__(self, run: Callable[[Any, Callable[[str, float], None]], dict], keep: int = 100):
        self.run, self.keep = run, keep
        self.jobs: dict[str, Job] = {}
        self.pending: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.on_done: Callable[[Job], None] | None = None

    def submit(self, payload, name: str, cleanup: Callable[[], None] | None = None) -> Job:
        job = Job(uuid.uuid4().hex[:12], name)
        with self.lock:
            self.jobs[job.id] = job
            self._forget_old()
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._work, name="actcap-teach", daemon=True)
                self.thread.start()
        self.pending.put((job, payload, cleanup))
        return job

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise UnknownJobError(f"no job {job_id[:40]!r}; jobs are kept in memory until the server restarts "
                                  f"(the {self.keep} most recent)")
        return job

    def close(self) -> None:
        """Stop the worker after the running job (queued ones are dropped)."""
        self.pending.put(None)

    def _forget_old(self) -> None:
        finished = sorted((j for j in self.jobs.values() if j.finished), key=lambda j: j.finished)
        for j in finished[: max(0, len(self.jobs) - self.keep)]:
            del self.jobs[j.id]

    def _work(self) -> None:
        while True:
            item = self.pending.get()
            if item is None:
                return
            job, payload, cleanup = item
            job.state, job.message = "running", "starting"

            def progress(stage: str, fraction: float, job=job) -> None:
                job.message, job.progress = stage, max(job.progress, min(1.0, fraction))

            try:
                result = self.run(payload, progress)
                job.metrics = result.get("metrics", {})
                job.state, job.progress, job.message = "done", 1.0, f"model {job.name} is ready"
            except Exception as e:  # a job must never take the worker (or the server) down
                if not isinstance(e, ValueError):
                    log.error("teach job %s failed", job.id, exc_info=e)
                job.state, job.message = "failed", str(e) or type(e).__name__
                job.warnings = list(getattr(e, "warnings", []))
            finally:
                job.finished = time.time()
                if cleanup is not None:
                    cleanup()
            if self.on_done is not None:
                self.on_done(job)
