"""The HTTP service: `create_app(settings)` builds a FastAPI app whose model loads in `lifespan`; routes are thin.

    actcap serve --model runs/utd5          # then open http://127.0.0.1:5000/ (API docs at /docs)

The routes live in actcap/serve/routes/ and get the `Service` (actcap/serve/service.py) as a dependency.
Every route hands its work to `actcap.inference.predictor.Predictor`, the same object the CLI's `predict`
uses, and runs it in a worker thread (at most `settings.workers` at once), so the event loop keeps answering
/health and live streams while a prediction runs. Memory is bounded by design: at most 2 × `workers` POST
/predict bodies are held at once, each uploaded frame is reduced to working size as it is decoded, and
decoding shares the `workers` limit with inference (docs/api.md, "Memory", has the worst case measured).
Refusals are JSON `{"detail": …}` with a 4xx status; anything unexpected is logged with its traceback and
answered with a 500 that carries no traceback.
"""

from __future__ import annotations

import logging
import re
import time
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from actcap import __version__
from actcap.serve.docs import add_docs
from actcap.serve.errors import ServiceError
from actcap.serve.hosts import HostCheck, resolve_allowed_hosts
from actcap.serve.origins import SameOriginGuard
from actcap.serve.routes import ROUTERS
from actcap.serve.routes.page import STATIC
from actcap.serve.service import load_service
from actcap.serve.settings import ServeSettings

log = logging.getLogger(__name__)


def create_app(settings: ServeSettings | None = None, loaded=None) -> FastAPI:
    """`loaded`: the starting model already loaded by `load_startup_models` (the CLI does, to report a bad
    model in one line); otherwise lifespan loads it."""
    settings = settings or ServeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        t0 = time.perf_counter()
        app.state.service = await anyio.to_thread.run_sync(load_service, settings, loaded)
        p = app.state.service.predictor
        log.info("model %s ready in %.1f s: %d classes, %d frames per clip", p.name, time.perf_counter() - t0,
                 len(p.classes), p.num_slots)
        yield
        app.state.service.teaching.jobs.close()
        app.state.service = None

    app = FastAPI(title="actcap", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Human action recognition with natural-language captions. The page is at `/`.")
    # cross-site requests that change or run anything are refused; every response says nosniff and no framing
    app.add_middleware(SameOriginGuard)
    # the Host check wraps everything, HTTP and the /stream WebSocket alike (actcap/serve/hosts.py)
    app.add_middleware(HostCheck, allowed=resolve_allowed_hosts(settings.host, settings.allowed_hosts))
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    add_docs(app)  # /docs and /redoc from files in the environment, never a CDN
    for router in ROUTERS:
        app.include_router(router)
    return app


async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Starlette's own refusals (404, 405) as JSON; a 405's Allow lists every method of the path, not only those
    of the first route that matched it (GET and DELETE /jobs/{id} are two routes)."""
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods /openapi.json declares for `path` ('/jobs/3f2a' → DELETE, GET)."""
    return sorted(m.upper() for template, ops in app.openapi()["paths"].items()
                  if re.fullmatch(re.sub(r"\{[^/}]+\}", "[^/]+", template), path) for m in ops)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    # last line of defence: the traceback goes to the log, never to the client
    log.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal server error; the server log has the details"}, status_code=500)
