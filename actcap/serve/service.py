"""What every route shares, and how a route gets it: `Service` (settings, the served models, the limits on work
in flight, the live-stream count, the teach jobs) built once in `lifespan`, handed out by `get_service`.

    @router.get("/health")
    def health(service: ServiceDep) -> dict: …       # FastAPI calls get_service for each request

The starting model is loaded by `load_service`; from then on `ServedModels` (actcap/serve/served.py) owns
which model is active, and `service.predictor` is always its current answer.
"""

from __future__ import annotations

from typing import Annotated, Callable

import anyio
import numpy as np
import torch
from fastapi import Depends
from starlette.requests import HTTPConnection

from actcap.features.threads import torch_threads
from actcap.inference.predictor import Predictor
from actcap.serve.served import ServedModels, Startup, load_startup_models
from actcap.serve.settings import ServeSettings
from actcap.serve.teaching import Teaching

SERVICE_RESTART = 1012  # RFC 6455 registry: the server is restarting or shutting down


class Service:
    """What the routes share: settings, the served models, the inference limiter and the count of live streams."""

    def __init__(self, settings: ServeSettings, startup: Startup):
        self.settings = settings
        self.threads = torch.get_num_threads()  # as the starting model's pipeline set them (features/threads.py)
        self.models = ServedModels(settings, startup)
        self.limiter = anyio.CapacityLimiter(settings.workers)  # decoding and inference: the memory budget
        # request bodies held at once (read, waiting for a worker, or decoding): one running and one ready per
        # worker; later requests wait with their bodies unread, so many uploads at once cannot pile up bodies
        self.upload_slots = anyio.Semaphore(2 * settings.workers)
        self.live_streams = 0  # slots taken (counted before a stream's model is found)
        self.sessions: set = set()  # the running live sessions (actcap/serve/live.py `Session`)
        self.teaching = Teaching(settings, self.models.store)

    @property
    def predictor(self) -> Predictor:
        """The active model (may load one that another process activated: call from a worker thread)."""
        return self.models.get(None)

    async def run(self, fn: Callable, *args):
        """fn(*args) in a worker thread at the service's torch threads (whatever a job set for threads started
        meanwhile); the event loop never runs inference or decoding itself."""
        return await anyio.to_thread.run_sync(self._at_threads, fn, *args, limiter=self.limiter)

    def _at_threads(self, fn: Callable, *args):
        with torch_threads(self.threads):
            return fn(*args)

    async def close_live_streams(self, reason: str = "the server is shutting down", wait_s: float = 5.0) -> None:
        """Close every live stream with code 1012 (Service Restart) and `reason`, waiting up to `wait_s` for
        the clients to be told (a frame being processed finishes first)."""
        sessions = list(self.sessions)
        for session in sessions:
            session.stop(SERVICE_RESTART, reason)
        with anyio.move_on_after(wait_s):
            for session in sessions:
                await session.finished.wait()


def load_service(settings: ServeSettings, loaded: Startup | None = None) -> Service:
    """The service with its starting model loaded and warmed up (blocking: lifespan runs it in a thread);
    `loaded`: what `load_startup_models` returned already (`actcap serve` loads before the server starts).
    Work folders left in the store by stopped processes (a kill, a crash) are removed first."""
    startup = loaded or load_startup_models(settings)
    # one throw-away prediction builds the frame-CNN engine now (ONNX export on a first run), not during
    # the first request, and never lazily in two threads at once
    startup.predictor.predict_frames(np.zeros((2, 64, 64, 3), np.uint8))
    service = Service(settings, startup)
    service.models.store.sweep()
    return service


def get_service(connection: HTTPConnection) -> Service:
    """The app's Service (set by lifespan), for HTTP routes and WebSockets alike."""
    return connection.app.state.service


def get_teaching(service: Annotated[Service, Depends(get_service)]) -> Teaching:
    return service.teaching


def get_models(service: Annotated[Service, Depends(get_service)]) -> ServedModels:
    return service.models


ServiceDep = Annotated[Service, Depends(get_service)]
TeachingDep = Annotated[Teaching, Depends(get_teaching)]
ModelsDep = Annotated[ServedModels, Depends(get_models)]
