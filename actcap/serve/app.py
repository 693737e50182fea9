"""The HTTP service: `create_app(settings)` builds a FastAPI app whose model loads in `lifespan`; routes are thin.

    actcap serve --model runs/utd5          # then open http://127.0.0.1:5000/ (API docs at /docs)

Every route hands its work to `actcap.inference.predictor.Predictor`, the same object the CLI's `predict` uses, and runs
it in a worker thread (at most `settings.workers` at once), so the event loop keeps answering /health and
live streams while a prediction runs. Memory is bounded by design: at most 2 × `workers` POST /predict
bodies are held at once, each uploaded frame is reduced to working size as it is decoded, and decoding
shares the `workers` limit with inference (docs/api.md, "Memory", has the worst case measured).
Refusals are JSON `{"detail": …}` with a 4xx status; anything unexpected is logged with its traceback and
answered with a 500 that carries no traceback.
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Callable

import anyio
import numpy as np
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from actcap import __version__
from actcap.caption import caption_for
from actcap.inference.predictor import Predictor
from actcap.serve import stream, teach, uploads
from actcap.serve.docs import add_docs
from actcap.serve.hosts import HostCheck, resolve_allowed_hosts
from actcap.serve.schemas import Error, Health, Labels, Limits, Prediction
from actcap.serve.settings import ServeSettings
from actcap.serve.uploads import UploadError

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
# the page loads nothing from elsewhere; the policy makes a stray CDN link fail loudly in development
PAGE_CSP = ("default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
            "connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'")
ERRORS = {400: {"model": Error, "description": "malformed request: no files, wrong field, bad option"},
          413: {"model": Error, "description": "too many frames or bytes; the message names the limit"},
          422: {"model": Error, "description": "a file that cannot be used: empty, not an image, truncated, "
                                               "over the pixel limit, undecodable video"}}
PREDICT_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object",
    "properties": {
        "frames[]": {"type": "array", "items": {"type": "string", "format": "binary"},
                     "description": "image files (JPEG, PNG, BMP, WebP; also accepted as 'frames')"},
        "video": {"type": "string", "format": "binary", "description": "one video file instead of frames"},
        "order": {"type": "string", "enum": list(uploads.ORDERS), "default": "name",
                  "description": "'name': natural sort by file name (frame_2 before frame_10); "
                                 "'as_sent': the order of the parts"},
        "model": {"type": "string", "description": "a model name from GET /models (default: the active one)"},
        "timeline": {"type": "boolean", "default": False,
                     "description": "with a video: slide a 3 s window over it and answer with `segments` and a "
                                    "`narrative` too (every frame is decoded: slower)"},
    }}}}}}


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
        self.teaching = teach.Teaching(settings, self)

    async def run(self, fn: Callable, *args):
        """fn(*args) in a worker thread; the event loop never runs inference or decoding itself."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)


def load_service(settings: ServeSettings) -> Service:
    path, name = teach.startup_model(settings)
    predictor = Predictor.load(path, engine=settings.engine, name=name if name != teach.SHIPPED else None,
                               open_set=settings.open_set)
    # one throw-away prediction builds the frame-CNN engine now (ONNX export on a first run), not during
    # the first request, and never lazily in two threads at once
    predictor.predict_frames(np.zeros((2, 64, 64, 3), np.uint8))
    service = Service(settings, predictor, path)
    service.active_name = name
    return service


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    settings = settings or ServeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        t0 = time.perf_counter()
        app.state.service = await anyio.to_thread.run_sync(load_service, settings)
        p = app.state.service.predictor
        log.info("model %s ready in %.1f s: %d classes, %d frames per clip", p.name, time.perf_counter() - t0,
                 len(p.classes), p.num_frames)
        yield
        app.state.service.teaching.jobs.close()
        app.state.service = None

    app = FastAPI(title="actcap", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Human action recognition with natural-language captions. The page is at `/`.")
    app.add_middleware(HostCheck, allowed=resolve_allowed_hosts(settings.host, settings.allowed_hosts))
    app.add_exception_handler(UploadError, _upload_error)
    app.add_exception_handler(Exception, _internal_error)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    add_docs(app)  # /docs and /redoc from files in the environment, never a CDN
    app.include_router(teach.router)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": PAGE_CSP})

    @app.get("/health", response_model=Health)
    def health(request: Request) -> dict:
        """Whether the model is loaded and warmed up, which model it is, and the service's limits."""
        s: Service = request.app.state.service
        p, cfg = s.predictor, s.settings
        return {"status": "ready", "model": p.name, "classes": len(p.classes),
                "num_frames": p.num_frames, "streams": [st.name for st in p.streams],
                "live_streams": s.live_streams, "version": __version__,
                "limits": Limits(max_frames=cfg.max_frames, max_upload_mb=cfg.max_upload_mb,
                                 max_pixels=cfg.max_pixels, max_streams=cfg.max_streams)}

    @app.get("/labels", response_model=Labels)
    def labels(request: Request) -> dict:
        """The classes the model knows, in its output order, with the sentence said for each."""
        p: Predictor = request.app.state.service.predictor
        return {"labels": p.classes,
                "captions": {c: caption_for([(c, 1.0)], p.captions, p.policy) for c in p.classes}}

    @app.post("/predict", response_model=Prediction, response_model_exclude_none=True, responses=ERRORS,
              openapi_extra=PREDICT_BODY)
    async def predict(request: Request) -> dict:
        """Predict the action in several frames (field `frames[]`) or one video (field `video`).

        Frames are ordered by file name with a natural sort unless `order=as_sent`; any count from 1 to the
        limit is accepted and the model samples its own frame count from them (repeating frames when fewer).
        With a video, `timeline=true` adds `segments` and a `narrative` (the same as `actcap predict --timeline`).
        `model=NAME` (a form field or query parameter) uses that model from GET /models instead of the active one.
        """
        t0 = time.perf_counter()
        s: Service = request.app.state.service
        async with s.upload_slots:
            upload = await uploads.read_upload(request, s.settings)
            model = request.query_params.get("model") or upload.model
            predictor = await s.run(teach.resolve_model, s.teaching, model)
            if upload.video is not None:
                result = await s.run(predict_video, predictor, upload.video, s.settings, upload.timeline)
            else:
                result = await s.run(predict_images, predictor, upload.files, s.settings)
        result["timing_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        return result

    @app.websocket("/stream")
    async def live(websocket: WebSocket) -> None:
        """Live video: binary JPEG frames in, JSON predictions out (see docs/api.md)."""
        await stream.serve(websocket, websocket.app.state.service)

    return app


def predict_images(predictor: Predictor, files: list[uploads.NamedFile], settings: ServeSettings) -> dict:
    frames, warnings = uploads.decode_frames(files, settings)
    return predictor.predict_frames(frames, warnings)


def predict_video(predictor: Predictor, video: uploads.NamedFile, settings: ServeSettings,
                  timeline: bool = False) -> dict:
    with uploads.open_video(video, settings) as clip:
        result = predictor.predict_timeline(clip) if timeline else predictor.predict_clip(clip)
        return uploads.rename_temp_paths(result, clip, video.name)


async def _upload_error(request: Request, exc: UploadError) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    # last line of defence: the traceback goes to the log, never to the client
    log.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal server error; the server log has the details"}, status_code=500)
