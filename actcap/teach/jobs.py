"""Training jobs, one at a time, in a background thread; the others wait in order, at most `max_queued` of them.

    jobs = JobQueue(run, max_queued=3)    # run(payload, progress) -> {"model": NAME, "metrics": {…}}
    job = jobs.submit(payload, name, cleanup)   # "queued"; then "running", and "done", "failed" or "cancelled"
    jobs.get(job.id).to_dict()            # what GET /jobs/{id} answers
    jobs.cancel(job.id)                   # DELETE /jobs/{id}: a queued job never runs, a running one stops
    jobs.close()                          # shutdown: queued jobs fail, the running one stops; cleanups run

The thread never touches the event loop, and runs each job inside `features.threads.background_work` (bounded
torch threads, lower CPU priority, the server's threads restored after), so the service keeps answering
predictions. A job that raises is marked failed with the error's message (the traceback goes to the log when
the error was not a plain ValueError, i.e. not the user's input); a full disk is said in words. A running job
stops at its next progress report when cancelled. Every job's `cleanup` (its uploads) runs however it ends.
Jobs live in memory: a restart forgets them, never the models they saved; two jobs for one name run in turn
and the later one replaces the earlier model, saying so in its message.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from actcap.features.threads import background_work
from actcap.fileio import disk_problem

log = logging.getLogger(__name__)
STATES = ("queued", "running", "done", "failed", "cancelled")


class UnknownJobError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class QueueFullError(RuntimeError):
    """`max_queued` jobs wait already; `retry_after` is a guess in seconds."""

    def __init__(self, message: str, retry_after: int):
        self.retry_after = retry_after
        super().__init__(message)


class JobCancelled(Exception):
    """Raised inside a running job (at its next progress report) when it is cancelled or the server stops."""


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
    started: float | None = None
    finished: float | None = None
    stop: str = ""
    """Why the job should stop ('' while it should not)."""

    def to_dict(self) -> dict:
        return {"id": self.id, "state": self.state, "progress": round(self.progress, 3), "message": self.message,
                "model": self.name, "metrics": self.metrics, "warnings": self.warnings}


class JobQueue:
    def __init__(self, run: Callable[[Any, Callable[[str, float], None]], dict], keep: int = 100,
                 max_queued: int = 3, threads: int = 1):
        self.run, self.keep, self.max_queued, self.threads = run, keep, max_queued, threads
        self.jobs: dict[str, Job] = {}
        self.pending: deque = deque()  # (job, payload, cleanup), oldest first
        self.wake = threading.Condition()
        self.thread: threading.Thread | None = None
        self.closed = False

    def submit(self, payload, name: str, cleanup: Callable[[], None] | None = None) -> Job:
        """Queue a job; QueueFullError when `max_queued` wait already (the caller keeps its cleanup)."""
        job = Job(uuid.uuid4().hex[:12], name)
        with self.wake:
            if self.closed:
                raise QueueFullError("the server is stopping; send the job again once it is back", 10)
            if len(self.pending) >= self.max_queued:
                raise QueueFullError(f"{len(self.pending)} teach jobs are waiting already (the limit, "
                                     "--max-teach-jobs); send this one when one has finished", self._eta())
            self.jobs[job.id] = job
            self._forget_old()
            self.pending.append((job, payload, cleanup))
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._work, name="actcap-teach", daemon=True)
                self.thread.start()
            self.wake.notify()
        return job

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise UnknownJobError(f"no job {job_id[:40]!r}; jobs are kept in memory until the server restarts "
                                  f"(the {self.keep} most recent)")
        return job

    def list(self) -> list[Job]:
        """Jobs waiting and running, oldest first, then the finished ones, newest first."""
        live = [j for j in self.jobs.values() if j.finished is None]
        done = sorted((j for j in self.jobs.values() if j.finished), key=lambda j: -j.finished)
        return sorted(live, key=lambda j: j.created) + done

    def cancel(self, job_id: str) -> Job:
        """A queued job is dropped now (its cleanup runs); a running one stops at its next progress report.
        A finished job is left as it is."""
        job = self.get(job_id)
        with self.wake:
            for item in list(self.pending):
                if item[0] is job:
                    self.pending.remove(item)
                    self._finish(job, "cancelled", "cancelled before it started", item[2])
                    return job
            if job.state == "running":
                job.stop = "cancelled"
                job.message = "cancelling…"
        return job

    def close(self, wait: float = 10.0) -> None:
        """Server shutdown: every queued job is marked failed (its uploads removed), the running job is asked
        to stop and waited for up to `wait` s, so nothing it half-built is left behind."""
        with self.wake:
            self.closed = True
            while self.pending:
                job, _, cleanup = self.pending.popleft()
                self._finish(job, "failed", "the server stopped before this job ran; send it again", cleanup)
            for job in self.jobs.values():
                if job.state == "running":
                    job.stop = "the server stopped"
            self.wake.notify_all()
        if self.thread is not None:
            self.thread.join(wait)

    def _eta(self) -> int:
        """Seconds until a slot frees, guessed from the running job's time so far (at least 10)."""
        running = [j for j in self.jobs.values() if j.state == "running" and j.started]
        return max(10, int(time.time() - running[0].started)) if running else 30

    def _forget_old(self) -> None:
        finished = sorted((j for j in self.jobs.values() if j.finished), key=lambda j: j.finished)
        for j in finished[: max(0, len(self.jobs) - self.keep)]:
            del self.jobs[j.id]

    def _finish(self, job: Job, state: str, message: str, cleanup: Callable[[], None] | None) -> None:
        job.state, job.message, job.finished = state, message, time.time()
        if cleanup is not None:
            cleanup()

    def _work(self) -> None:
        while True:
            with self.wake:
                while not self.pending and not self.closed:
                    self.wake.wait()
                if not self.pending:
                    return
                job, payload, cleanup = self.pending.popleft()
                job.state, job.message, job.started = "running", "starting", time.time()

            def progress(stage: str, fraction: float, job=job) -> None:
                if job.stop:
                    raise JobCancelled(job.stop)
                job.message, job.progress = stage, max(job.progress, min(1.0, fraction))

            state, message, metrics = self._run_one(job, payload, progress)
            job.metrics = metrics
            if state == "done":
                job.progress = 1.0
            self._finish(job, state, message, cleanup)

    def _run_one(self, job: Job, payload, progress) -> tuple[str, str, dict]:
        try:
            with background_work(self.threads):
                result = self.run(payload, progress)
        except JobCancelled as e:
            return "cancelled" if str(e) == "cancelled" else "failed", f"stopped: {e}; nothing was saved", {}
        except OSError as e:
            problem = disk_problem(e)
            if problem is None:
                log.error("teach job %s failed", job.id, exc_info=e)
            return "failed", f"{problem}; nothing was saved" if problem else str(e) or type(e).__name__, {}
        except Exception as e:  # a job must never take the worker (or the server) down
            if not isinstance(e, ValueError):
                log.error("teach job %s failed", job.id, exc_info=e)
            job.warnings = list(getattr(e, "warnings", []))  # a job stopped before training says why
            return "failed", str(e) or type(e).__name__, {}
        replaced = result.get("replaced")
        said = f" (it replaced the model {job.name} taught {replaced})" if replaced else ""
        return "done", f"model {job.name} is ready{said}", result.get("metrics", {})
