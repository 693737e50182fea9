"""Teach routes: POST /teach, GET /jobs, GET and DELETE /jobs/{id}, GET /models, POST /models/{name}/activate,
DELETE /models/{name}.

    curl -F name=gestures -F base=none -F 'labels[]=wave' -F 'videos[]=@wave1.webm' … http://127.0.0.1:5000/teach
    → 202 {"job": "3f2a…"};  GET /jobs/3f2a… → {"state": "running", "progress": 0.42, "message": "checking", …}

A POST is checked in full before it is queued (every broken rule is named, with its field); the videos are
written under the model store and opened once, so an unreadable one is refused at once with a 422. The job
itself runs in actcap.teach.jobs' single background thread; at most --max-teach-jobs wait (one more: 429
with Retry-After). The job queue is `actcap.serve.teaching.Teaching` (`TeachingDep`); the models and which
one is active, `actcap.serve.served.ServedModels` (`ModelsDep`). A full disk answers 507, a read-only store
503, each naming the folder, and leaves nothing half-written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from actcap.data.video import VIDEO_EXTENSIONS, VideoError, open_clip
from actcap.models.store import NAME_RULE, UnknownModelError
from actcap.serve.errors import STORE, TEMP, ServiceError, disk_error
from actcap.serve.forms import FALSE, TEACH_FORM, TRUE, openapi_body
from actcap.serve.schemas import Error
from actcap.serve.service import ModelsDep, TeachingDep
from actcap.serve.settings import source
from actcap.serve.uploads import limit_body
from actcap.teach.jobs import QueueFullError, UnknownJobError
from actcap.teach.trainer import TeachError, TeachExample, TeachRequest, check_request, parse_captions

SINGLE = ("name", "base")  # fields sent once; a second part is refused rather than one silently winning
# every accepted name → the field's plain name: 'labels[]' and 'labels' → 'labels'
FIELDS = {name: f.name.removesuffix("[]") for f in TEACH_FORM for name in f.names}
router = APIRouter()


def _error(what: str) -> dict:
    return {"model": Error, "description": what}


@router.post("/teach", status_code=202, responses={
    202: {"description": '{"job": ID}; the job\'s URL in Location'},
    400: _error("a malformed form: an unexpected field, a field sent twice, not multipart"),
    403: _error("sent by a page on another site (actcap/serve/origins.py)"),
    413: _error("over --max-teach-mb"),
    422: _error("a broken rule (each named with its field; more than --max-teach-videos too) or an unreadable "
                "video"),
    429: _error("--max-teach-jobs jobs wait already; Retry-After says when to try again"),
    503: _error("the model store is read-only"), 507: _error("no space left for the videos")},
    openapi_extra=openapi_body(TEACH_FORM, required=("name", "labels[]", "videos[]")))
async def post_teach(request: Request, t: TeachingDep) -> JSONResponse:
    """Queue a training job: multipart `name`, `labels[]` and `videos[]` (one label per video, same order),
    optional `base` (`default`: keep the shipped actions; `none`), `people[]` (who is in each video),
    `captions[]` (LABEL=SENTENCE) and `allow_duplicates`."""
    request = limit_body(request, t.settings, "max_teach_mb")
    try:
        most = t.settings.max_teach_videos
        form = await request.form(max_files=most + 1, max_fields=4 * most + 8)
    except HTTPException as e:
        raise ServiceError(400 if "Too many" not in str(e.detail) else 422,
                           f"could not parse the multipart form: {e.detail} (at most {most} videos, "
                           f"{source('max_teach_videos')})") from None
    except OSError as e:  # the parser spools large parts to the temporary folder
        raise disk_error(e, TEMP) or e from None
    upload_dir, fields = None, {"videos": []}
    try:
        fields = _fields(form.multi_items(), most)
        req = _checked(fields)
        upload_dir = t.store.work_dir("uploads")
        _write_videos(req, fields["videos"], upload_dir)
        await anyio.to_thread.run_sync(_check_videos, req)
        job = t.jobs.submit(req, req.name, cleanup=lambda: shutil.rmtree(upload_dir, ignore_errors=True))
    except BaseException as e:
        if upload_dir is not None:
            shutil.rmtree(upload_dir, ignore_errors=True)  # nothing half-written stays
        if isinstance(e, QueueFullError):
            raise ServiceError(429, str(e), {"Retry-After": str(e.retry_after)}) from None
        if isinstance(e, OSError) and (refusal := disk_error(e, STORE, _size(fields["videos"]))):
            raise refusal from None
        raise
    finally:
        await form.close()
    return JSONResponse({"job": job.id}, status_code=202, headers={"Location": f"/jobs/{job.id}"})


def _fields(items: list, most: int) -> dict[str, list]:
    out: dict[str, list] = {k: [] for k in FIELDS.values()}
    unexpected = sorted({k for k, _ in items if k not in FIELDS})
    if unexpected:
        raise ServiceError(400, f"unexpected form field(s) {', '.join(map(repr, unexpected))}; accepted: "
                                + ", ".join(repr(f.name) for f in TEACH_FORM))
    for k, v in items:
        out[FIELDS[k]].append(v)
    twice = [k for k in SINGLE if len(out[k]) > 1]
    if twice:
        raise ServiceError(400, f"form field(s) {', '.join(map(repr, twice))} sent {len(out[twice[0]])} times; "
                                "send each once")
    if len(out["videos"]) > most:
        raise ServiceError(422, f"videos[]: {len(out['videos'])} videos; at most {most} per job "
                                f"({source('max_teach_videos')})")
    return out


def _checked(f: dict[str, list]) -> TeachRequest:
    """Check every rule, collecting all problems; the request with its examples still to be written."""
    problems = []
    name = str(f["name"][0]).strip() if f["name"] else ""
    if not name:
        problems.append(f"name: missing; give the model a name ({NAME_RULE})")
    base = str(f["base"][0]).strip() if f["base"] else "default"
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
        people = []
    examples = [TeachExample(Path(), lab, people[i] if people else "", _file_name(v, i))
                for i, (lab, v) in enumerate(zip(labels, videos))]
    captions, allow = {}, str(f["allow_duplicates"][-1]).strip().lower() if f["allow_duplicates"] else "false"
    if allow not in TRUE + FALSE:
        problems.append(f"allow_duplicates: {allow[:20]!r} is not true or false")
    try:
        captions = parse_captions([str(v) for v in f["captions"]])
    except TeachError as e:
        problems += e.problems
    try:
        check_request(TeachRequest(name or "-", examples, base, captions))
    except TeachError as e:
        problems += [p for p in e.problems if not (p.startswith("name:") and not name)]
    if problems:
        raise ServiceError(422, "; ".join(problems))
    return TeachRequest(name, examples, base, captions, allow in TRUE)


def _write_videos(req: TeachRequest, videos: list, upload_dir: Path) -> None:
    for i, (e, v) in enumerate(zip(req.examples, videos)):
        suffix = Path(e.name).suffix.lower()
        e.path = upload_dir / f"{i:03d}{suffix if suffix in VIDEO_EXTENSIONS else '.webm'}"
        v.file.seek(0)
        with open(e.path, "wb") as out:
            shutil.copyfileobj(v.file, out)


def _size(videos: list) -> int:
    return sum(getattr(v, "size", 0) or 0 for v in videos)


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
        raise ServiceError(422, f"videos[]: every example must be a readable video; {'; '.join(bad)}")


@router.get("/jobs")
def list_jobs(t: TeachingDep) -> dict:
    """Teach jobs: those waiting and running (oldest first), then finished ones (newest first)."""
    return {"jobs": [_shown(j.to_dict(), t) for j in t.jobs.list()], "max_queued": t.jobs.max_queued}


@router.get("/jobs/{job_id}", responses={404: _error("no such job")})
def get_job(job_id: str, t: TeachingDep) -> dict:
    """A teach job: state (queued, running, done, failed, cancelled), progress 0..1, message, model, metrics."""
    try:
        return _shown(t.jobs.get(job_id).to_dict(), t)
    except UnknownJobError as e:
        raise ServiceError(404, str(e)) from None


@router.delete("/jobs/{job_id}", responses={403: _error("sent by a page on another site"),
                                            404: _error("no such job")})
def cancel_job(job_id: str, t: TeachingDep) -> dict:
    """Cancel a job: a waiting one never runs; a running one stops at its next step and saves nothing; a
    finished one is left as it is. Answers the job as it is now."""
    try:
        return _shown(t.jobs.cancel(job_id).to_dict(), t)
    except UnknownJobError as e:
        raise ServiceError(404, str(e)) from None


def _shown(job: dict, t) -> dict:
    # a failed job's message is its error's text, which may name files in the model store
    return {**job, "message": job["message"].replace(str(t.store.root), "(model store)")}


@router.get("/models")
def get_models(models: ModelsDep) -> dict:
    """The shipped model (`default`) and every taught one: name, classes, created, metrics, active."""
    return {"models": models.list()}


NAMED = {403: _error("sent by a page on another site"), 404: _error("no model of that name"),
         503: _error("the model store is read-only"),
         507: _error("no space left in the model store")}


@router.post("/models/{name}/activate", responses=NAMED)
async def activate(name: str, models: ModelsDep) -> dict:
    """Serve this model from now on (predictions without `model=`, new live streams), also after a restart."""
    await _change(models.activate, name)
    return {"active": name, "models": models.list()}


@router.delete("/models/{name}", responses={**NAMED, 400: _error("the shipped model cannot be deleted")})
async def delete(name: str, models: ModelsDep) -> dict:
    """Delete a taught model and its examples (never the shipped one); deleting the active one makes the
    shipped one active."""
    await _change(models.delete, name)
    return {"deleted": name, "models": models.list()}


async def _change(fn, name: str) -> None:
    try:
        await anyio.to_thread.run_sync(fn, name)
    except UnknownModelError as e:
        raise ServiceError(404, str(e)) from None
    except OSError as e:
        raise disk_error(e, STORE) or e from None
