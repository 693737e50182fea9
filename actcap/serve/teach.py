"""Teach routes: POST /teach, GET /jobs/{id}, GET /models, POST /models/{name}/activate, DELETE /models/{name}.

    curl -F name=gestures -F base=none -F 'labels[]=wave' -F 'videos[]=@wave1.webm' … http://127.0.0.1:5000/teach
    → 202 {"job": "3f2a…"};  GET /jobs/3f2a… → {"state": "running", "progress": 0.42, "message": "checking", …}

A POST is checked in full before it is queued (every broken rule is named, with its field); the videos are
written under the model store and opened once, so an unreadable one is refused at once with a 422. The job
itself runs in actcap.teach.jobs' single background thread. `Teaching` also loads models by name for
`model=NAME` on /predict and /stream, and swaps the service's active predictor on activate.
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from pathlib import Path

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from actcap.data.video import VIDEO_EXTENSIONS, VideoError, open_clip
from actcap.inference.predictor import Predictor
from actcap.models.recognizer import ModelFileError, Recognizer
from actcap.serve.settings import ServeSettings
from actcap.serve.uploads import UploadError, limit_body
from actcap.teach.jobs import JobQueue, UnknownJobError
from actcap.teach.store import SHIPPED, TEACH_FILE, ModelStore, UnknownModelError, is_model_name
from actcap.teach.trainer import TeachError, TeachExample, TeachRequest, check_request, teach

log = logging.getLogger(__name__)
MAX_VIDEOS = 400
FIELDS = {"name": "name", "base": "base", "labels[]": "labels", "labels": "labels", "videos[]": "videos",
          "videos": "videos", "people[]": "people", "people": "people"}
CACHED_MODELS = 4
router = APIRouter()


class Teaching:
    """What the teach routes share: the model store, the job queue, and models loaded by name."""

    def __init__(self, settings: ServeSettings, service):
        self.settings, self.service = settings, service
        self.store = ModelStore(settings.home)
        self.base_dir = Path(settings.base_model) if settings.base_model else self.store.shipped
        self.jobs = JobQueue(self._run)
        self.loaded: dict[tuple[str, int], Predictor] = {}
        self.lock = threading.Lock()

    def _run(self, req: TeachRequest, progress) -> dict:
        return teach(req, self.store, self.base_dir, progress)

    def predictor(self, name: str | None) -> Predictor:
        """The active predictor (name None or the active one's), else the named model, loaded once (blocking)."""
        if name is None or name == self.service.active_name:
            return self.service.predictor
        path = self.store.get_path(name)  # UnknownModelError lists the names
        key = (name, (path / TEACH_FILE).stat().st_mtime_ns if name != SHIPPED else 0)  # re-taught: reload
        with self.lock:
            if key not in self.loaded:
                if len(self.loaded) >= CACHED_MODELS:
                    self.loaded.pop(next(iter(self.loaded)))
                # the shipped one keeps its folder's name (default_model), as when a server starts with it
                self.loaded[key] = Predictor.load(path, engine=self.settings.engine,
                                                  name=name if name != SHIPPED else None,
                                                  open_set=self.settings.open_set)
            return self.loaded[key]

    def activate(self, name: str) -> None:
        """Serve `name` from now on (the page's predictions and new live streams), and remember it."""
        predictor = self.predictor(name)
        self.store.activate(name)
        self.service.predictor, self.service.model_path = predictor, self.store.get_path(name)
        self.service.active_name = name

    def delete(self, name: str) -> None:
        self.store.get_path(name)  # 404 before 400: an unknown name is unknown, even 'default' spelt wrong
        if name == SHIPPED:
            raise UploadError(400, f"the shipped model '{SHIPPED}' cannot be deleted")
        was_active = self.service.active_name == name
        self.store.delete(name)
        with self.lock:
            self.loaded = {k: v for k, v in self.loaded.items() if k[0] != name}
        if was_active:
            self.activate(SHIPPED)

    def models(self) -> list[dict]:
        # the store's "path" is for `actcap models` on the server's own terminal; replies never show server paths
        return [{**{k: v for k, v in m.items() if k != "path"}, "active": m["name"] == self.service.active_name}
                for m in self.store.list_models()]


def _teaching(request: Request) -> Teaching:
    return request.app.state.service.teaching


@router.post("/teach", status_code=202, responses={202: {"description": '{"job": ID}'}})
async def post_teach(request: Request) -> JSONResponse:
    """Queue a training job: multipart `name`, `labels[]` and `videos[]` (one label per video, same order),
    optional `base` (`default`: keep the shipped actions; `none`) and `people[]` (who is in each video)."""
    t: Teaching = _teaching(request)
    request = limit_body(request, t.settings, "max_teach_mb")
    try:
        form = await request.form(max_files=MAX_VIDEOS + 1, max_fields=3 * MAX_VIDEOS + 8)
    except HTTPException as e:
        raise UploadError(400 if "Too many" not in str(e.detail) else 413,
                          f"could not parse the multipart form: {e.detail} (at most {MAX_VIDEOS} videos)") from None
    try:
        fields = _fields(form.multi_items())
        upload_dir = t.store.root / "uploads" / uuid.uuid4().hex[:12]
        req = _request(fields, upload_dir)
    finally:
        await form.close()
    try:
        await anyio.to_thread.run_sync(_check_videos, req)
    except BaseException:
        shutil.rmtree(upload_dir, ignore_errors=True)
        raise
    job = t.jobs.submit(req, req.name, cleanup=lambda: shutil.rmtree(upload_dir, ignore_errors=True))
    return JSONResponse({"job": job.id}, status_code=202, headers={"Location": f"/jobs/{job.id}"})


def _fields(items: list) -> dict[str, list]:
    out: dict[str, list] = {k: [] for k in ("name", "base", "labels", "videos", "people")}
    unexpected = sorted({k for k, _ in items if k not in FIELDS})
    if unexpected:
        raise UploadError(400, f"unexpected form field(s) {', '.join(map(repr, unexpected))}; accepted: 'name', "
                               "'base', 'labels[]', 'videos[]', 'people[]'")
    for k, v in items:
        out[FIELDS[k]].append(v)
    return out


def _request(f: dict[str, list], upload_dir: Path) -> TeachRequest:
    """Check every rule (collecting all problems), then write the videos to `upload_dir`."""
    problems = []
    name = str(f["name"][-1]).strip() if f["name"] else ""
    if not f["name"]:
        problems.append("name: missing; give the model a name (letters, digits, '_' and '-', 1 to 40 characters)")
    base = str(f["base"][-1]).strip() if f["base"] else "default"
    labels = [str(v).strip() for v in f["labels"]]
    videos, people = f["videos"], [str(v).strip() for v in f["people"]]
    texts = [i for i, v in enumerate(videos, 1) if not isinstance(v, UploadFile)]
    if texts:
        problems.append(f"videos[]: part {texts[0]} holds text, not a file; send each video as a file part")
    if len(labels) != len(videos):
        problems.append(f"labels[]: {len(labels)} labels for {len(videos)} videos; send one label per video, "
                        "in the same order")
    if people and len(people) != len(videos):
        problems.append(f"people[]: {len(people)} entries for {len(videos)} videos; send one per video or none")
    examples = [TeachExample(Path(), lab, people[i] if people else "", _file_name(v, i))
                for i, (lab, v) in enumerate(zip(labels, videos))]
    try:
        check_request(TeachRequest(name or "-", examples, base))
    except TeachError as e:
        problems += [p for p in e.problems if not (p.startswith("name:") and not f["name"])]
    if problems:
        raise UploadError(422, "; ".join(problems))
    upload_dir.mkdir(parents=True)
    for i, (e, v) in enumerate(zip(examples, videos)):
        suffix = Path(e.name).suffix.lower()
        e.path = upload_dir / f"{i:03d}{suffix if suffix in VIDEO_EXTENSIONS else '.webm'}"
        v.file.seek(0)
        with open(e.path, "wb") as out:
            shutil.copyfileobj(v.file, out)
    return TeachRequest(name, examples, base)


def _file_name(v, i: int) -> str:
    name = Path(getattr(v, "filename", "") or "").name
    return name or f"video {i + 1}"


def _check_videos(req: TeachRequest) -> None:
    """Open every video once (in a worker thread); 422 naming each one that cannot be read."""
    bad = []
    for i, e in enumerate(req.examples, 1):
        try:
            open_clip(e.path)
        except VideoError as err:
            bad.append(f"{e.name} (video {i}, label '{e.label}'): {err.reason}")
    if bad:
        raise UploadError(422, f"videos[]: every example must be a readable video; {'; '.join(bad)}")


@router.get("/jobs/{job_id}")
def get_job(job_id: str, request: Request) -> dict:
    """A teach job: state (queued, running, done, failed), progress 0..1, message, model, metrics."""
    try:
        job = _teaching(request).jobs.get(job_id).to_dict()
    except UnknownJobError as e:
        raise UploadError(404, str(e)) from None
    # a failed job's message is its error's text, which may name files in the model store
    store = str(_teaching(request).store.root)
    return {**job, "message": job["message"].replace(store, "(model store)")} if job.get("message") else job


@router.get("/models")
def get_models(request: Request) -> dict:
    """The shipped model (`default`) and every taught one: name, classes, created, metrics, active."""
    return {"models": _teaching(request).models()}


@router.post("/models/{name}/activate")
async def activate(name: str, request: Request) -> dict:
    """Serve this model from now on (predictions without `model=`, new live streams), also after a restart."""
    t = _teaching(request)
    try:
        await anyio.to_thread.run_sync(t.activate, name)
    except UnknownModelError as e:
        raise UploadError(404, str(e)) from None
    return {"active": name, "models": t.models()}


@router.delete("/models/{name}")
async def delete(name: str, request: Request) -> dict:
    """Delete a taught model (never the shipped one); deleting the active one makes the shipped one active."""
    t = _teaching(request)
    try:
        await anyio.to_thread.run_sync(t.delete, name)
    except UnknownModelError as e:
        raise UploadError(404, str(e)) from None
    return {"deleted": name, "models": t.models()}


def resolve_model(teaching: Teaching, name: str | None) -> Predictor:
    """For POST /predict and /stream: `model=NAME` → its predictor; 404 naming the models there are."""
    try:
        return teaching.predictor(name)
    except UnknownModelError as e:
        raise UploadError(404, f"model: {e}") from None



def startup_model(settings: ServeSettings) -> tuple[Path, str | None]:
    """The model a server starts with and its store name: `--model` (a run directory: no name), else the
    store's active model (the shipped one unless one was activated)."""
    store = ModelStore(settings.home)
    model = settings.model
    if model is not None and (Path(model).exists() or not is_model_name(str(model))):
        return Path(model), None
    name = str(model) if model is not None else store.get_active()
    path = store.get_path(name)
    if model is None and name != SHIPPED:
        try:  # the remembered model may have been damaged by hand: serve the shipped one rather than nothing
            Recognizer.load(path)
        except (ModelFileError, OSError, ValueError) as e:
            log.warning("the active model %s cannot be loaded (%s); starting with the shipped model", name, e)
            return store.shipped, SHIPPED
    return path, name
