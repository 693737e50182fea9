"""Teach routes: POST /teach, GET /jobs/{id}, GET /models, POST /models/{name}/activate, DELETE /models/{name}.

    curl -F name=gestures -F base=none -F 'labels[]=wave' -F 'videos[]=@wave1.webm' … http://127.0.0.1:5000/teach
    → 202 {"job": "3f2a…"};  GET /jobs/3f2a… → {"state": "running", "progress": 0.42, "message": "checking", …}

A POST is checked in full before it is queued (every broken rule is named, with its field); the videos are
written under the model store and opened once, so an unreadable one is refused at once with a 422. The job
itself runs in actcap.teach.jobs' single background thread. The store and the models loaded by name are
`actcap.serve.teaching.Teaching`, which each route receives through the `TeachingDep` dependency.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from actcap.data.video import VIDEO_EXTENSIONS, VideoError, open_clip
from actcap.models.store import UnknownModelError
from actcap.serve.forms import FALSE, TEACH_FORM, TRUE, openapi_body
from actcap.serve.service import TeachingDep
from actcap.serve.uploads import UploadError, limit_body
from actcap.teach.jobs import UnknownJobError
from actcap.teach.trainer import TeachError, TeachExample, TeachRequest, check_request, parse_captions

MAX_VIDEOS = 400
# every accepted name → the field's plain name: 'labels[]' and 'labels' → 'labels'
FIELDS = {name: f.name.removesuffix("[]") for f in TEACH_FORM for name in f.names}
router = APIRouter()


@router.post("/teach", status_code=202, responses={202: {"description": '{"job": ID}'}},
             openapi_extra=openapi_body(TEACH_FORM))
async def post_teach(request: Request, t: TeachingDep) -> JSONResponse:
    """Queue a training job: multipart `name`, `labels[]` and `videos[]` (one label per video, same order),
    optional `base` (`default`: keep the shipped actions; `none`), `people[]` (who is in each video),
    `captions[]` (LABEL=SENTENCE) and `allow_duplicates`."""
    request = limit_body(request, t.settings, "max_teach_mb")
    try:
        form = await request.form(max_files=MAX_VIDEOS + 1, max_fields=4 * MAX_VIDEOS + 8)
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
    out: dict[str, list] = {k: [] for k in FIELDS.values()}
    unexpected = sorted({k for k, _ in items if k not in FIELDS})
    if unexpected:
        raise UploadError(400, f"unexpected form field(s) {', '.join(map(repr, unexpected))}; accepted: "
                               + ", ".join(repr(f.name) for f in TEACH_FORM))
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
    return TeachRequest(name, examples, base, captions, allow in TRUE)


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
def get_job(job_id: str, t: TeachingDep) -> dict:
    """A teach job: state (queued, running, done, failed), progress 0..1, message, model, metrics."""
    try:
        job = t.jobs.get(job_id).to_dict()
    except UnknownJobError as e:
        raise UploadError(404, str(e)) from None
    # a failed job's message is its error's text, which may name files in the model store
    store = str(t.store.root)
    return {**job, "message": job["message"].replace(store, "(model store)")} if job.get("message") else job


@router.get("/models")
def get_models(t: TeachingDep) -> dict:
    """The shipped model (`default`) and every taught one: name, classes, created, metrics, active."""
    return {"models": t.models()}


@router.post("/models/{name}/activate")
async def activate(name: str, t: TeachingDep) -> dict:
    """Serve this model from now on (predictions without `model=`, new live streams), also after a restart."""
    try:
        await anyio.to_thread.run_sync(t.activate, name)
    except UnknownModelError as e:
        raise UploadError(404, str(e)) from None
    return {"active": name, "models": t.models()}


@router.delete("/models/{name}")
async def delete(name: str, t: TeachingDep) -> dict:
    """Delete a taught model (never the shipped one); deleting the active one makes the shipped one active."""
    try:
        await anyio.to_thread.run_sync(t.delete, name)
    except UnknownModelError as e:
        raise UploadError(404, str(e)) from None
    return {"deleted": name, "models": t.models()}
