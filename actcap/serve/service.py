"""What every route shares, and how a route gets it: `Service` (settings, the predictor, the limits on work
in flight, the live-stream count, the teach store) built once in `lifespan`, handed out by `get_service`.

    @router.get("/health")
    def health(service: ServiceDep) -> dict: …       # FastAPI calls get_service for each request

The predictor is loaded by `load_service`, the one place the service loads its starting model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Callable

import anyio
import numpy as np
from fastapi import Depends
from starlette.requests import HTTPConnection

from actcap.inference.predictor import Predictor
from actcap.serve.settings import ServeSettings
from actcap.serve.teaching import Teaching, load_startup_predictor


class Service:
    """What the routes share: settings, the predictor, the inference limiter and the count of live streams."""

    def __init__(self, settings: ServeSettings, predictor: Predictor, model_path: Path):
        self.settings, self.predictor, self.model_path = settings, predictor, model_path
        self.limiter = anyio.CapacityLimiter(settings.workers)  # decoding and inference: the memory budget
        # request bodies held at once (read, waiting for a worker, or decoding): one running and one ready per
        # worker; later requests wait with their bodies unread, so many uploads at once cannot pile up bodies
        self.upload_slots = anyio.Semaphore(2 * settings.workers)
        self.live_streams = 0
        self.active_name: str | None = None  # the model store's name for `predictor` (None: a run directory)
        self.teaching = Teaching(settings, self)

    async def run(self, fn: Callable, *args):
        """fn(*args) in a worker thread; the event loop never runs inference or decoding itself."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)


def load_service(settings: ServeSettings, loaded: tuple[Predictor, Path, str | None] | None = None) -> Service:
    """The service with its starting model loaded and warmed up (blocking: lifespan runs it in a thread);
    `loaded`: what `load_startup_predictor` returned already (`actcap serve` loads before the server starts)."""
    predictor, path, name = loaded or load_startup_predictor(settings)
    # one throw-away prediction builds the frame-CNN engine now (ONNX export on a first run), not during
    # the first request, and never lazily in two threads at once
    predictor.predict_frames(np.zeros((2, 64, 64, 3), np.uint8))
    service = Service(settings, predictor, path)
    service.active_name = name
    return service


def get_service(connection: HTTPConnection) -> Service:
    """The app's Service (set by lifespan), for HTTP routes and WebSockets alike."""
    return connection.app.state.service


def get_teaching(service: Annotated[Service, Depends(get_service)]) -> Teaching:
    return service.teaching


ServiceDep = Annotated[Service, Depends(get_service)]
TeachingDep = Annotated[Teaching, Depends(get_teaching)]
