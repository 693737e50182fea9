"""Teaching and the model store under faults (issue 22): a re-taught active model, cross-site requests, kills and
shutdowns, the job queue's bound and cancel, a full disk or read-only store, malformed forms, and two processes
on one store. Jobs that need not train are stood in for by a function the test controls."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import pytest
import torch
from serve_fixtures import BASE_URL, frame_files, moving_frames
from test_teach import sliding
from test_teach_api import form, wait_job

from actcap.models.store import ModelStore


@pytest.fixture
def videos(tmp_path, write_video):
    """('left' | 'right', file name, bytes) x 3 each, as in test_teach_api."""
    out = []
    for label, dx in (("left", -2), ("right", 2)):
        for i in range(3):
            path = write_video(tmp_path / f"{label}_p{i % 2}_{i}.avi", sliding(20, dx, seed=i))
            out.append((label, path.name, path.read_bytes()))
    return out


@pytest.fixture
def teach_client(make_client, tmp_path):
    return make_client(home=tmp_path / "home")

def blocking_run(release: threading.Event, started: threading.Event | None = None):
    """A stand-in job that reports progress until `release` is set (so cancel and shutdown can stop it)."""
    def run(req, progress):
        if started is not None:
            started.set()
        while not release.wait(0.02):
            progress("training", 0.5)
        return {"model": req.name, "metrics": {}}
    return run


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# --- 1. re-teaching the active model ------------------------------------------------------------------------

def test_reteaching_the_active_model_serves_the_new_head(teach_client, videos):
    assert wait_job(teach_client, teach_client.post("/teach", **form(videos)).json()["job"])["state"] == "done"
    assert teach_client.post("/models/arrows/activate").status_code == 200
    assert teach_client.get("/labels").json()["labels"] == ["left", "right"]
    renamed = [("west" if lab == "left" else "east", n, b) for lab, n, b in videos]
    job = wait_job(teach_client, teach_client.post("/teach", **form(renamed)).json()["job"])
    assert job["state"] == "done" and job["message"].startswith("model arrows is ready (it replaced the model ")
    assert teach_client.get("/labels").json()["labels"] == ["east", "west"]
    frames = frame_files(moving_frames(8, seed=3))
    assert teach_client.post("/predict", files=frames).json()["prediction"] in ("east", "west", "unknown")
    assert teach_client.post("/predict?model=arrows", files=frames).json()["top_k"][0]["label"] in ("east", "west")
    with teach_client.websocket_connect("/stream") as ws:
        assert ws.receive_json()["classes"] == ["east", "west"]


# --- 2. cross-site requests and response headers -------------------------------------------------------------

@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                                     {"Sec-Fetch-Site": "same-site", "Origin": BASE_URL}, {"Origin": "null"}])
def test_cross_site_requests_change_nothing(teach_client, videos, headers):
    r = teach_client.post("/teach", **form(videos), headers=headers)
    assert r.status_code == 403 and r.json()["detail"].startswith("cross-site request refused: ")
    assert teach_client.post("/models/default/activate", headers=headers).status_code == 403
    assert teach_client.delete("/models/default", headers=headers).status_code == 403
    frames = frame_files(moving_frames(4, seed=1))
    assert teach_client.post("/predict", files=frames, headers=headers).status_code == 403
    assert teach_client.get("/jobs").json()["jobs"] == []
    assert teach_client.get("/models", headers=headers).status_code == 200  # reading is not changing
    assert not (teach_client.app.state.service.models.store.root / "active.json").exists()


@pytest.mark.parametrize("headers", [{}, {"Origin": BASE_URL}, {"Sec-Fetch-Site": "same-origin", "Origin": BASE_URL},
                                     {"Sec-Fetch-Site": "none"}])
def test_the_page_and_programs_are_answered(teach_client, headers):
    r = teach_client.post("/models/default/activate", headers=headers)
    assert r.status_code == 200 and r.json()["active"] == "default"


def test_responses_forbid_sniffing_and_framing(teach_client):
    for path in ("/", "/health", "/nope"):
        h = teach_client.get(path).headers
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in h["content-security-policy"]
    assert teach_client.get("/").headers["content-security-policy"].startswith("default-src 'self'")


# --- 3. kills and shutdowns leave nothing behind ------------------------------------------------------------

HOLDER = """
import sys, time
from actcap.models.store import ModelStore
store = ModelStore(sys.argv[1])
for kind in ("uploads", "staging"):
    (store.work_dir(kind) / "000.webm").write_bytes(b"x" * 1000)
print("ready", flush=True)
time.sleep(600)
"""


def start_holder(home: Path) -> subprocess.Popen:
    """Another process with work in progress in the store (an upload and a model being built)."""
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLDER), str(home)], stdout=subprocess.PIPE,
                         text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert p.stdout.readline().strip() == "ready"
    return p


def test_a_start_sweeps_what_killed_processes_left_and_keeps_live_ones(make_client, tmp_path):
    home = tmp_path / "home"
    killed, alive = start_holder(home), start_holder(home)
    try:
        killed.kill()
        killed.wait(30)
        assert len(files_under(home / "uploads")) == 2 and len(files_under(home / "staging")) == 2
        make_client(home=home)  # a server starts on the store
        assert len(files_under(home / "uploads")) == 1 and len(files_under(home / "staging")) == 1  # alive's
        alive.kill()
        alive.wait(30)
        make_client(home=home)
        assert files_under(home / "uploads") == files_under(home / "staging") == []
    finally:
        for p in (killed, alive):
            p.kill()


def test_shutdown_fails_queued_jobs_stops_the_running_one_and_removes_their_uploads(make_client, tmp_path,
                                                                                  videos):
    home = tmp_path / "home"
    client = make_client(home=home)
    jobs = client.app.state.service.teaching.jobs
    started = threading.Event()
    jobs.run = blocking_run(threading.Event(), started)
    ids = [client.post("/teach", **form(videos, name=f"m{i}")).json()["job"] for i in range(3)]
    assert started.wait(60) and len(files_under(home / "uploads")) == 3 * len(videos)
    client.__exit__(None, None, None)  # the server stops (lifespan shutdown)
    assert [jobs.get(i).state for i in ids] == ["failed", "failed", "failed"]
    assert jobs.get(ids[0]).message == "stopped: the server stopped; nothing was saved"
    assert jobs.get(ids[1]).message == "the server stopped before this job ran; send it again"
    assert files_under(home / "uploads") == []


def test_deleting_a_model_leaves_none_of_its_files(teach_client, videos, tmp_path):
    home = tmp_path / "home"
    assert wait_job(teach_client, teach_client.post("/teach", **form(videos)).json()["job"])["state"] == "done"
    assert teach_client.delete("/models/arrows").status_code == 200
    left = [f for f in files_under(home) if not f.endswith(".lock")]
    assert left == [], left


# --- 4. the queue's bound, the queue, cancel -------------------------------------------------------------------

def test_the_queue_is_bounded_listed_and_cancellable(make_client, tmp_path, videos):
    home = tmp_path / "home"
    client = make_client(home=home, max_teach_jobs=1)
    started, release = threading.Event(), threading.Event()
    client.app.state.service.teaching.jobs.run = blocking_run(release, started)
    running = client.post("/teach", **form(videos, name="a")).json()["job"]
    assert started.wait(60)
    queued = client.post("/teach", **form(videos, name="b")).json()["job"]
    r = client.post("/teach", **form(videos, name="c"))
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 10
    assert r.json()["detail"] == ("1 teach jobs are waiting already (the limit, --max-teach-jobs); send this one "
                                  "when one has finished")
    assert len(files_under(home / "uploads")) == 2 * len(videos)  # the refused one's videos are not kept
    listed = client.get("/jobs").json()
    assert [(j["id"], j["state"]) for j in listed["jobs"]] == [(running, "running"), (queued, "queued")]
    assert listed["max_queued"] == 1
    r = client.delete(f"/jobs/{queued}")
    assert (r.status_code, r.json()["state"], r.json()["message"]) == (200, "cancelled", "cancelled before it started")
    assert len(files_under(home / "uploads")) == len(videos)
    assert client.delete(f"/jobs/{running}").json()["message"] == "cancelling…"
    done = wait_job(client, running, states=("cancelled", "failed", "done"))
    assert (done["state"], done["message"]) == ("cancelled", "stopped: cancelled; nothing was saved")
    assert files_under(home / "uploads") == [] and client.delete("/jobs/nope").status_code == 404
    assert [m["name"] for m in client.get("/models").json()["models"]] == ["default"]


# --- 5. a full disk, a read-only store ---------------------------------------------------------------------------

def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "/srv/secret/home/uploads/x/000.avi")


def test_a_full_store_refuses_the_upload_with_507_and_keeps_nothing(teach_client, videos, tmp_path, monkeypatch):
    from actcap.serve.routes import teach as route

    monkeypatch.setattr(route.shutil, "copyfileobj", no_space)
    r = teach_client.post("/teach", **form(videos))
    size = sum(len(b) for _, _, b in videos) / 2**20
    assert (r.status_code, r.json()["detail"]) == (507, (
        f"no space left in the model store (ACTCAP_HOME) ({size:.1f} MiB were needed); free some space there or "
        "choose another folder"))
    assert files_under(tmp_path / "home" / "uploads") == [] and "secret" not in r.text


def test_a_read_only_store_answers_503(teach_client, monkeypatch):
    import actcap.models.store as store

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", "/srv/home/active.json")

    monkeypatch.setattr(store, "atomic_write_json", read_only)
    r = teach_client.post("/models/default/activate")
    assert (r.status_code, r.json()["detail"]) == (
        503, "the model store (ACTCAP_HOME) is read-only; make it writable or choose another folder")


def test_a_full_temp_folder_refuses_a_video_with_507(teach_client, videos, monkeypatch):
    monkeypatch.setattr(Path, "write_bytes", no_space)
    r = teach_client.post("/predict", files={"video": ("clip.avi", videos[0][2], "video/x-msvideo")})
    assert r.status_code == 507
    assert r.json()["detail"].startswith("no space left in the temporary folder (TMPDIR) (")


def test_a_full_temp_folder_refuses_a_teach_upload_with_507(teach_client, videos, monkeypatch):
    from starlette.requests import Request

    async def spooling_fails(self, **limits):  # the multipart parser spools big parts to TMPDIR
        no_space()

    monkeypatch.setattr(Request, "form", spooling_fails)
    r = teach_client.post("/teach", **form(videos))
    assert (r.status_code, r.json()["detail"]) == (
        507, "no space left in the temporary folder (TMPDIR); free some space there or choose another folder")


def test_a_job_that_fills_the_disk_says_so(teach_client, videos):
    teach_client.app.state.service.teaching.jobs.run = no_space
    job = wait_job(teach_client, teach_client.post("/teach", **form(videos)).json()["job"])
    assert job["message"] == ("no space left in /srv/secret/home/uploads/x; free some space there or choose another "
                              "folder; nothing was saved")


def test_the_cli_says_a_full_disk_in_words(monkeypatch, capsys):
    from actcap.cli import main

    monkeypatch.setattr(ModelStore, "list_models", no_space)
    assert main(["models"]) == 1
    err = capsys.readouterr().err
    assert err == ("error: no space left in /srv/secret/home/uploads/x; free some space there or choose another "
                   "folder\n")


# --- 6, 7, 10: malformed forms ---------------------------------------------------------------------------------

def test_malformed_teach_forms(teach_client, videos):
    r = teach_client.post("/teach", **form(videos, **{"people[]": ["p0", "p1"]}))
    assert (r.status_code, r.json()["detail"]) == (
        422, "people[]: 2 entries for 6 videos; send one per video or none")
    f = form(videos)
    f["data"]["name"] = ["one", "two"]
    r = teach_client.post("/teach", **f)
    assert (r.status_code, r.json()["detail"]) == (400, "form field(s) 'name' sent 2 times; send each once")
    r = teach_client.post("/predict?", files=frame_files(moving_frames(4, seed=1)), data={"model": ["a", "b"]})
    assert (r.status_code, r.json()["detail"]) == (400, "field 'model' sent 2 times; send it once")
    many = [("videos[]", (f"{i}.avi", b"x", "video/x-msvideo")) for i in range(401)]
    r = teach_client.post("/teach", data={"name": "big", "labels[]": ["a"] * 401}, files=many)
    assert (r.status_code, r.json()["detail"]) == (
        422, "videos[]: 401 videos; at most 400 per job (--max-teach-videos)")


# --- 8. two processes on one store -------------------------------------------------------------------------------

def test_two_servers_on_one_store_follow_each_other(make_client, tmp_path, videos):
    home = tmp_path / "home"
    one, two = make_client(model=None, home=home), make_client(model=None, home=home)
    assert wait_job(one, one.post("/teach", **form(videos)).json()["job"])["state"] == "done"
    assert [m["name"] for m in two.get("/models").json()["models"]] == ["default", "arrows"]
    assert one.post("/models/arrows/activate").status_code == 200
    assert two.get("/health").json()["model"] == "arrows"  # the other server follows active.json
    assert two.get("/labels").json()["labels"] == ["left", "right"]
    renamed = [("west" if lab == "left" else "east", n, b) for lab, n, b in videos]  # re-taught by the other one
    assert wait_job(one, one.post("/teach", **form(renamed)).json()["job"])["state"] == "done"
    assert two.get("/labels").json()["labels"] == ["east", "west"]
    assert one.delete("/models/arrows").status_code == 200
    assert two.get("/health").json()["model"] == "default"  # never a deleted model
    r = two.post("/predict?model=arrows", files=frame_files(moving_frames(4, seed=1)))
    assert r.status_code == 404


LOCKER = """
import sys
from filelock import FileLock, Timeout
try:
    FileLock(sys.argv[1]).acquire(timeout=0)
    print("free")
except Timeout:
    print("held")
"""


def test_store_changes_hold_a_lock_other_processes_see(tmp_path):
    store = ModelStore(tmp_path / "home")

    def probe() -> str:
        return subprocess.run([sys.executable, "-c", LOCKER, str(store.root / "store.lock")], capture_output=True,
                              text=True, check=True).stdout.strip()

    with store.lock():
        assert probe() == "held"
    assert probe() == "free"
    first = store.staging()
    (first / "config.json").write_text("{}")
    assert store.commit(first, "twice", {"base": "none"}) is None
    second = store.staging()
    (second / "config.json").write_text("{}")
    replaced = store.commit(second, "twice", {"base": "none"})
    assert replaced["name"] == "twice" and replaced["base"] == "none"  # said, never silently lost
    assert files_under(store.root / "staging") == []


# --- 9. threads ---------------------------------------------------------------------------------------------------

def test_predictions_after_a_teach_job_use_the_configured_threads(make_client, tmp_path, videos):
    before = torch.get_num_threads()
    torch.set_num_threads(3)  # the configured count under the torch engine: whatever torch was given
    try:
        client = make_client(home=tmp_path / "home", engine="torch")
        seen = []

        def run(req, progress):
            seen.append(torch.get_num_threads())
            torch.set_num_threads(1)  # what a careless trainer does: it must not outlive the job
            return {"model": req.name, "metrics": {}}

        client.app.state.service.teaching.jobs.run = run
        assert wait_job(client, client.post("/teach", **form(videos)).json()["job"])["state"] == "done"
        assert seen == [1]  # the job runs at --teach-threads
        assert ThreadPoolExecutor(1).submit(torch.get_num_threads).result() == 3  # threads started later
        assert client.post("/predict", files=frame_files(moving_frames(4, seed=1))).status_code == 200
        # a worker thread started while a job held the count low still predicts at the configured count
        service = client.app.state.service
        ThreadPoolExecutor(1).submit(torch.set_num_threads, 1).result()
        assert anyio.run(service.run, torch.get_num_threads) == 3
    finally:
        torch.set_num_threads(before)


# --- managing models from the command line (issue 19, item 6) ----------------------------------------------------

def test_cli_models_use_and_delete(tmp_path, monkeypatch, capsys):
    from actcap.cli import main

    monkeypatch.setenv("ACTCAP_HOME", str(tmp_path / "home"))
    store = ModelStore(tmp_path / "home")
    staged = store.staging()
    (staged / "config.json").write_text('{"classes": ["left", "right"]}')
    store.commit(staged, "arrows", {"base": "none", "metrics": {}})
    assert main(["models", "use", "arrows"]) == 0
    assert capsys.readouterr().out == ("now using arrows; `actcap serve` starts with it and a running server "
                                       "switches to it\n")
    assert store.get_active() == "arrows"
    assert main(["models", "use", "nope"]) == 2
    assert capsys.readouterr().err == ("error: unknown model 'nope'; choose one of: default, arrows (`actcap models` "
                                       "lists them)\n")
    assert main(["models", "delete", "default"]) == 2
    assert capsys.readouterr().err == "error: the shipped model 'default' cannot be deleted\n"
    assert main(["models", "delete", "arrows"]) == 0
    assert capsys.readouterr().out == "deleted arrows; the shipped model is in use again\n"
    assert store.names() == ["default"] and store.get_active() == "default"
    assert main(["models", "use", "default"]) == 0 and store.get_active() == "default"


def test_the_page_manages_models_and_cancels_jobs(teach_client):
    page = teach_client.get("/").text
    assert '<table id="models-table"' in page and '<button id="teach-cancel"' in page
    assert '<script src="/static/models.js" defer></script>' in page
    script = teach_client.get("/static/models.js").text
    for call in ('fetch("/models")', "/activate`, { method: \"POST\" }", '{ method: "DELETE" }'):
        assert call in script


def test_the_schema_documents_every_status_and_required_field(teach_client):
    spec = teach_client.get("/openapi.json").json()
    documented = {(m.upper(), p): {int(s) for s in op["responses"]} for p, ops in spec["paths"].items()
                  for m, op in ops.items()}
    assert {400, 403, 413, 422, 429, 503, 507} <= documented["POST", "/teach"]
    assert {403, 404, 507} <= documented["POST", "/predict"]
    assert {404, 503, 507} <= documented["POST", "/models/{name}/activate"]
    assert {400, 404, 503, 507} <= documented["DELETE", "/models/{name}"]
    assert {404} <= documented["DELETE", "/jobs/{job_id}"] and {404} <= documented["GET", "/jobs/{job_id}"]
    body = spec["paths"]["/teach"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["required"] == ["name", "labels[]", "videos[]"]
    r = teach_client.options("/jobs/3f2a")  # GET and DELETE /jobs/{id} are two routes; Allow names both
    assert (r.status_code, r.headers["allow"]) == (405, "DELETE, GET")
    assert teach_client.put("/models/x/activate").headers["allow"] == "POST"


SERVER = """
import shutil, socket, sys, time
import uvicorn
import actcap.serve.teaching as teaching
from actcap.serve import ServeSettings, create_app

def blocking(req, store, base_dir, progress):  # runs until stopped; like teach(), removes its work when stopped
    work = store.staging()
    try:
        (work / "half.bin").write_bytes(b"x" * 1000)
        while True:
            progress("training", 0.5)
            time.sleep(0.05)
    finally:
        shutil.rmtree(work)

teaching.teach = blocking
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
print(port, flush=True)
uvicorn.run(create_app(ServeSettings(model=sys.argv[1], home=sys.argv[2])), host="127.0.0.1", port=port,
            log_level="warning")
"""


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_a_real_server_stopped_or_killed_mid_job_leaves_nothing_once_restarted(how, tiny_model_dir, tmp_path, videos,
                                                                               make_client):
    import signal

    import httpx

    home = tmp_path / "home"
    p = subprocess.Popen([sys.executable, "-c", SERVER, str(tiny_model_dir), str(home)], stdout=subprocess.PIPE,
                         text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    try:
        url = f"http://127.0.0.1:{p.stdout.readline().strip()}"
        for _ in range(1200):  # bounded wait for the model to load
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            threading.Event().wait(0.1)
        f = form(videos)
        files = [(k, v) for k, v in f["files"]]
        ids = [httpx.post(f"{url}/teach", data={**f["data"], "name": f"m{i}"}, files=files).json()["job"]
               for i in range(3)]
        for _ in range(1200):
            if httpx.get(f"{url}/jobs/{ids[0]}").json()["state"] == "running":
                break
            threading.Event().wait(0.05)
        assert len(files_under(home / "uploads")) == 3 * len(videos) and len(files_under(home / "staging")) >= 1
        p.send_signal(getattr(signal, how))
        p.wait(60)
    finally:
        p.kill()
    if how == "SIGTERM":  # a clean stop removes its own work at once
        assert files_under(home / "uploads") == files_under(home / "staging") == []
    make_client(home=home)  # a restart on the store
    assert files_under(home / "uploads") == files_under(home / "staging") == []
