"""The teach API over HTTP: POST /teach, GET /jobs/{id}, GET /models, activate, delete, and model=NAME on
/predict and /stream. Jobs are waited for by polling with a bounded loop; no test depends on durations."""

from __future__ import annotations

import threading

import pytest
from serve_fixtures import frame_files, moving_frames
from starlette.websockets import WebSocketDisconnect
from test_teach import sliding

NAME_RULE = "letters, digits, '_' and '-', 1 to 40 characters, starting with a letter or digit"


@pytest.fixture
def videos(tmp_path, write_video):
    """('left' | 'right', file name, bytes) x 3 each: a square sliding left or right; p0/p1 say who."""
    out = []
    for label, dx in (("left", -2), ("right", 2)):
        for i in range(3):
            path = write_video(tmp_path / f"{label}_p{i % 2}_{i}.avi", sliding(20, dx, seed=i))
            out.append((label, path.name, path.read_bytes()))
    return out


def form(videos, name="arrows", base="none", **extra):
    data = {"name": name, "base": base, "labels[]": [v[0] for v in videos], **extra}
    files = [("videos[]", (n, b, "video/x-msvideo")) for _, n, b in videos]
    return {"data": {k: v for k, v in data.items() if v is not None}, "files": files}


@pytest.fixture
def teach_client(make_client, tmp_path):
    return make_client(home=tmp_path / "home")


def wait_job(client, job_id: str, states=("done", "failed")) -> dict:
    """Poll GET /jobs/{id} until it reaches one of `states` (bounded: fails rather than hangs)."""
    for _ in range(2400):
        got = client.get(f"/jobs/{job_id}").json()
        if got["state"] in states:
            return got
        threading.Event().wait(0.05)
    pytest.fail(f"job {job_id} never reached {states}: {got}")


# --- bad input: 4xx naming the field and the rule ----------------------------------------------------------

def refused(client, **kwargs) -> tuple[int, str]:
    r = client.post("/teach", **kwargs)
    return r.status_code, r.json()["detail"]


def test_one_label_with_base_none(teach_client, videos):
    assert refused(teach_client, **form(videos[:3])) == (422, (
        "labels[]: only one label ('left') with base=none; a model needs at least 2 labels to tell apart (add "
        "another label, or use base=default to add it to the shipped actions)"))


def test_fewer_than_two_examples_of_a_label(teach_client, videos):
    assert refused(teach_client, **form(videos[:4])) == (
        422, "labels[]: each label needs at least 2 example videos; 'right' has 1")


@pytest.mark.parametrize("name, detail", [
    ("a b", f"name: name 'a b' is not allowed; use {NAME_RULE}"),
    ("x" * 41, f"name: name '{'x' * 41}' is not allowed; use {NAME_RULE}"),
    ("default", "name: name 'default' is the shipped model's; choose another"),
    ("DEFAULT", "name: name 'DEFAULT' is the shipped model's; choose another"),
    ("Default_Model", "name: name 'Default_Model' is the shipped model's; choose another"),
    ("-rf", f"name: name '-rf' is not allowed; use {NAME_RULE}"),
    (None, f"name: missing; give the model a name ({NAME_RULE})"),
    ("", f"name: missing; give the model a name ({NAME_RULE})"),
    ("   ", f"name: missing; give the model a name ({NAME_RULE})"),
])
def test_bad_name(teach_client, videos, name, detail):
    assert refused(teach_client, **form(videos, name=name)) == (422, detail)


def test_unreadable_video(teach_client, videos, tmp_path):
    bad = [*videos[:2], ("left", "junk.webm", b"this is not a video"), *videos[3:]]
    status, detail = refused(teach_client, **form(bad))
    assert status == 422
    assert detail.startswith("videos[]: every example must be a readable video; junk.webm (video 3, label 'left'): ")
    assert list((tmp_path / "home" / "uploads").iterdir()) == []  # the refused upload is not kept


def test_malformed_requests(teach_client, videos, make_client, tmp_path):
    assert refused(teach_client, **form(videos, base="mine")) == (
        422, "base: must be 'default' (keep the shipped actions) or 'none'; got 'mine'")
    f = form(videos)
    f["data"]["labels[]"] = f["data"]["labels[]"][:-1]
    assert refused(teach_client, **f) == (
        422, "labels[]: 5 labels for 6 videos; send one label per video, in the same order")
    assert refused(teach_client, **form(videos, colour="red")) == (
        400, "unexpected form field(s) 'colour'; accepted: 'name', 'base', 'labels[]', 'videos[]', 'people[]', "
             "'captions[]', 'allow_duplicates'")
    assert refused(teach_client, **form(videos, **{"captions[]": ["up=A person points up.", "left"],
                                                   "allow_duplicates": "maybe"})) == (422, (
        "allow_duplicates: 'maybe' is not true or false; captions[]: 'left': expected LABEL=SENTENCE, e.g. "
        "'hello=A person is waving hello.'"))
    assert refused(teach_client, **form(videos, **{"captions[]": ["up=A person points up."]})) == (422, (
        "captions[]: 'up' not among the labels (left, right); write LABEL=SENTENCE for a label you teach"))
    small = make_client(home=tmp_path / "home", max_teach_mb=0.001)
    status, detail = refused(small, **form(videos))
    assert status == 413 and detail.endswith("the limit is 0.001 MiB (--max-teach-mb)")


# --- the job lifecycle, and serving while a job runs ----------------------------------------------------------

def test_lifecycle_and_serving_during_a_job(teach_client, videos):
    jobs = teach_client.app.state.service.teaching.jobs
    started, release = threading.Event(), threading.Event()

    def run(req, progress):  # stands in for training, so the test decides when it ends
        if req.name == "broken":
            raise ValueError("checking: the examples could not be told apart")
        progress("training", 0.5)
        started.set()
        release.wait(120)
        return {"model": req.name, "metrics": {"top1": 1.0}}

    jobs.run = run
    first = teach_client.post("/teach", **form(videos, name="first"))
    assert first.status_code == 202 and first.headers["location"] == f"/jobs/{first.json()['job']}"
    first = first.json()["job"]
    assert started.wait(120)
    second = teach_client.post("/teach", **form(videos, name="broken")).json()["job"]
    assert teach_client.get(f"/jobs/{first}").json() == {
        "id": first, "state": "running", "progress": 0.5, "message": "training", "model": "first", "metrics": {},
        "warnings": []}
    assert teach_client.get(f"/jobs/{second}").json()["state"] == "queued"
    # predictions are served while the job runs
    r = teach_client.post("/predict", files=frame_files(moving_frames(8, seed=1)))
    assert r.status_code == 200 and r.json()["model"] == "tiny"
    assert teach_client.get("/health").json()["status"] == "ready"
    release.set()
    assert wait_job(teach_client, first)["state"] == "done"
    failed = wait_job(teach_client, second)
    assert (failed["state"], failed["message"]) == ("failed", "checking: the examples could not be told apart")
    assert teach_client.get("/jobs/nope").status_code == 404


# --- a real job end to end: models, model=NAME, activate, persistence, delete --------------------------------

def test_teach_use_activate_restart_delete(teach_client, videos, make_client, tmp_path):
    people = [n.split("_")[1] for _, n, _ in videos]
    r = teach_client.post("/teach", **form(videos, name="arrows", **{"people[]": people, "captions[]": [
        "left=A person points to the left."]}))
    job = wait_job(teach_client, r.json()["job"])
    assert job["state"] == "done", job
    assert (job["metrics"]["method"], job["metrics"]["people"], job["metrics"]["optimistic"]) == (
        "leave-one-person-out", 2, False)
    assert set(job["metrics"]["per_label"]) == {"left", "right"}
    models = {m["name"]: m for m in teach_client.get("/models").json()["models"]}
    assert list(models) == ["default", "arrows"]
    assert models["arrows"]["classes"] == ["left", "right"] and not models["arrows"]["active"]
    assert models["arrows"]["metrics"]["top1"] == job["metrics"]["top1"]

    frames = frame_files(moving_frames(8, seed=3))
    assert teach_client.post("/predict", files=frames).json()["model"] == "tiny"  # still the active one
    by_field = teach_client.post("/predict", files=frames, data={"model": "arrows"}).json()
    by_query = teach_client.post("/predict?model=arrows", files=frames).json()
    assert by_field["model"] == by_query["model"] == "arrows" and by_field["prediction"] in ("left", "right")
    from actcap.inference.predictor import Predictor

    predictor = Predictor.from_dir(tmp_path / "home" / "models" / "arrows")
    assert predictor.captions.get("left").sentence == "A person points to the left."  # captions[] kept
    assert predictor.captions.get("right").sentence == "A person is doing 'right'."  # derived, never "righting"
    r = teach_client.post("/predict", files=frames, data={"model": "nope"})
    assert (r.status_code, r.json()["detail"]) == (
        404, "model: unknown model 'nope'; choose one of: default, arrows (`actcap models` lists them)")
    with teach_client.websocket_connect("/stream?model=arrows") as ws:
        assert ws.receive_json()["model"] == "arrows"
    with teach_client.websocket_connect("/stream?model=nope") as ws:
        assert ws.receive_json()["detail"].startswith("model: unknown model 'nope'")
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()

    r = teach_client.post("/models/arrows/activate")
    assert r.status_code == 200 and r.json()["active"] == "arrows"
    assert teach_client.get("/health").json()["model"] == "arrows"
    with teach_client.websocket_connect("/stream") as ws:  # new live streams use the active model
        assert ws.receive_json()["classes"] == ["left", "right"]
    # a failed job leaves the active model as it was
    jobs = teach_client.app.state.service.teaching.jobs
    jobs.run = lambda req, progress: (_ for _ in ()).throw(ValueError("training: out of patience"))
    failed = wait_job(teach_client, teach_client.post("/teach", **form(videos, name="arrows")).json()["job"])
    assert failed["message"] == "training: out of patience"
    assert teach_client.get("/health").json()["model"] == "arrows"
    assert [m["name"] for m in teach_client.get("/models").json()["models"] if m["active"]] == ["arrows"]

    # a restart (a new app on the same folder, no --model) comes back with the taught model active
    again = make_client(model=None, home=tmp_path / "home")
    assert again.get("/health").json()["model"] == "arrows"
    assert [m["name"] for m in again.get("/models").json()["models"]] == ["default", "arrows"]

    r = again.delete("/models/default")
    assert (r.status_code, r.json()["detail"]) == (400, "the shipped model 'default' cannot be deleted")
    assert again.delete("/models/nope").status_code == 404
    assert again.post("/models/nope/activate").status_code == 404
    r = again.delete("/models/arrows")
    assert r.status_code == 200 and [m["name"] for m in r.json()["models"]] == ["default"]
    assert again.get("/health").json()["model"] == "default"  # the deleted active one: back to shipped


def test_a_damaged_active_model_falls_back_to_the_shipped_one(make_client, tmp_path, caplog):
    home = tmp_path / "home"
    (home / "models" / "broken").mkdir(parents=True)
    (home / "models" / "broken" / "teach.json").write_text("{}")  # listed, but config.json and weights are gone
    (home / "active.json").write_text('{"model": "broken"}')
    client = make_client(model=None, home=home)
    assert client.get("/health").json()["model"] == "default"
    assert "the active model broken cannot be loaded" in caplog.text
    assert [m["name"] for m in client.get("/models").json()["models"]] == ["default"]
