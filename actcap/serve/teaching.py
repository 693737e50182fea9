"""Teach jobs behind the service: `Teaching` runs `actcap.teach.trainer.teach` for POST /teach in the job queue
(actcap/teach/jobs.py), one job at a time, in a background thread at bounded threads and lower priority
(`features.engine.job_threads`), so predictions keep their cores. The routes are in actcap/serve/routes/teach.py;
the models a job saves are served through `actcap.serve.served.ServedModels`, which notices a re-taught model.
"""

from __future__ import annotations

import logging
from pathlib import Path

from actcap.models.store import ModelStore
from actcap.serve.settings import ServeSettings
from actcap.teach.jobs import JobQueue
from actcap.teach.trainer import TeachRequest, teach

log = logging.getLogger(__name__)


class Teaching:
    """What the teach routes share: the model store and the job queue."""

    def __init__(self, settings: ServeSettings, store: ModelStore):
        self.settings, self.store = settings, store
        self.base_dir = Path(settings.base_model) if settings.base_model else self.store.shipped
        self.jobs = JobQueue(self._run, keep=settings.kept_jobs, max_queued=settings.max_teach_jobs,
                             threads=settings.teach_threads)

    def _run(self, req: TeachRequest, progress) -> dict:
        return teach(req, self.store, self.base_dir, progress)
