"""The service at the frame sizes webcams and phones deliver, and its memory bound on large uploads.

16:9 frames used to crash the flow stream of the shipped model (160x90 flow image, 4x4 grid: a non-integer
scale), with a 500 from POST /predict and close code 1011 from /stream after the first frame.
"""

from __future__ import annotations

import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import anyio
import numpy as np
import pytest
from serve_fixtures import encode, frame_files, moving_frames
from test_stream import QUIET, pushed_one_at_a_time, stream_and_flush

from actcap.data.frames import shrink_to_working
from actcap.inference.predictor import Predictor
from actcap.serve import uploads
from actcap.serve.errors import ServiceError
from actcap.serve.settings import ServeSettings


@pytest.fixture(scope="module")
def shipped(shipped_model_dir) -> Predictor:
    return Predictor.load(shipped_model_dir)


def working(frames: np.ndarray) -> np.ndarray:
    return np.stack([shrink_to_working(f) for f in frames])


@pytest.mark.parametrize("height, width", [(720, 1280), (360, 640), (256, 306), (256, 452)])
def test_predict_answers_16_frames_at_webcam_and_phone_sizes(make_client, shipped_model_dir, shipped, height, width):
    frames = moving_frames(16, seed=11, h=height, w=width)
    r = make_client(model=shipped_model_dir).post("/predict", files=frame_files(frames))
    assert r.status_code == 200, r.text
    want = shipped.predict_frames(working(frames))  # the server reduces each frame as it decodes it
    body = r.json()
    assert body["top_k"] == want["top_k"] and body["caption"] == want["caption"]
    assert (body["frames_received"], body["frames_used"]) == (16, 16)


def test_stream_predicts_from_640x360_frames(make_client, shipped_model_dir, shipped):
    frames = moving_frames(6, seed=12, h=360, w=640)
    got = stream_and_flush(make_client(model=shipped_model_dir, **QUIET), frames)
    want = pushed_one_at_a_time(shipped, frames)
    assert got["top_k"] == want["top_k"] and got["caption"] == want["caption"]
    assert (got["frames_received"], got["frames_used"], got["frames_dropped"]) == (6, 6, 0)


def test_stream_reduces_1280x720_frames_to_working_size(make_client, shipped_model_dir, shipped):
    frames = moving_frames(4, seed=13, h=720, w=1280)
    got = stream_and_flush(make_client(model=shipped_model_dir, **QUIET), frames)
    want = pushed_one_at_a_time(shipped, working(frames))
    assert got["top_k"] == want["top_k"]


def test_uploads_are_reduced_one_by_one_before_the_next_is_decoded(monkeypatch):
    """At most one full-size image is alive while a request decodes: each is reduced and dropped first."""
    alive: list[weakref.ref] = []
    real = uploads.decode_image_bytes

    def tracked(data, name, max_pixels):
        assert all(ref() is None for ref in alive), f"{name}: an earlier full-size frame is still held"
        im = real(data, name, max_pixels)
        alive.append(weakref.ref(im))
        return im

    monkeypatch.setattr(uploads, "decode_image_bytes", tracked)
    big = np.zeros((4, 1536, 2048, 3), np.uint8)
    big[:, 500:900, 600:1000] = 200
    files = [uploads.NamedFile(f"f{i}.png", encode(f)) for i, f in enumerate(big)]
    frames, warnings = uploads.decode_frames(files, ServeSettings())
    assert frames.shape == (4, 480, 640, 3) and warnings == []
    assert (frames[:, 200, 300] == 200).all() and (frames[:, 10, 10] == 0).all()
    assert len(alive) == 4


def test_mixed_large_uploads_are_resized_to_the_first_frames_working_size():
    a, b = np.zeros((720, 1280, 3), np.uint8), np.zeros((2048, 2048, 3), np.uint8)
    files = [uploads.NamedFile("a1.png", encode(a)), uploads.NamedFile("a2.png", encode(b))]
    frames, warnings = uploads.decode_frames(files, ServeSettings())
    assert frames.shape == (2, 360, 640, 3)
    assert warnings == ["frame sizes differ; 1 frame (a2.png) resized to 640x360, the size of a1.png"]


def test_every_bad_upload_is_still_listed_after_large_good_ones():
    good = uploads.NamedFile("ok.png", encode(np.zeros((1024, 1024, 3), np.uint8)))
    files = [good, uploads.NamedFile("x.png", b"not an image"), good, uploads.NamedFile("e.png", b"")]
    with pytest.raises(ServiceError) as e:
        uploads.decode_frames(files, ServeSettings())
    assert (e.value.status, e.value.detail) == (422, "2 of 4 files could not be used: x.png: not an image (Pillow "
                                                     "could not identify the format); e.png: file is empty (0 bytes)")


def test_at_most_two_bodies_per_worker_are_held_and_the_others_wait_unread(make_client, monkeypatch):
    """Uploads beyond 2 x workers wait before their body is read; all are answered in the end."""
    client = make_client(workers=1)
    slots = client.app.state.service.upload_slots
    inside, most, full, release = [0], [0], threading.Event(), threading.Event()
    real = uploads.read_upload

    async def held(request, settings):
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        if inside[0] == 2:
            full.set()
        await anyio.to_thread.run_sync(release.wait)  # held until the test has seen the others waiting
        try:
            return await real(request, settings)
        finally:
            inside[0] -= 1

    monkeypatch.setattr(uploads, "read_upload", held)
    files = frame_files(moving_frames(2, seed=14))
    with ThreadPoolExecutor(4) as pool:
        pending = [pool.submit(client.post, "/predict", files=files) for _ in range(4)]
        assert full.wait(120)
        for _ in range(1200):  # the other two reach the semaphore (a wait for a state, not a time bound)
            if slots.statistics().tasks_waiting == 2:
                break
            threading.Event().wait(0.05)
        assert (slots.statistics().tasks_waiting, inside[0]) == (2, 2)
        release.set()
        assert [p.result().status_code for p in pending] == [200] * 4
    assert most[0] == 2
