"""Fixtures for the service tests (test_serve, test_stream, test_browser); import the ones a test module uses.

The tiny model has one flow stream (no CNN) and a mean head, so a server starts in well under a second and
predictions depend on the frames' motion and order: good for contract tests, meaningless as answers.
Tests that need right answers on real footage use the shipped model and skip until it exists.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from actcap.features.streams.flow import FlowStream
from actcap.inference.predictor import DEFAULT_MODEL
from actcap.models.recognizer import ModelConfig, Recognizer
from actcap.serve import ServeSettings, create_app

UTD_CLASSES = ["clap", "swipe_left", "swipe_right", "throw", "wave"]
TINY_FRAMES = 8
BASE_URL = "http://127.0.0.1:5000"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 5-class flow-only model (random weights, seeded) saved as a run directory."""
    torch.manual_seed(0)
    # the synthetic squares move far for their tiny frames: no frame may count as a cut (see streams/flow.py)
    flow = FlowStream(grid=2, width=32, cut=100.0)
    model = Recognizer(ModelConfig(classes=UTD_CLASSES, streams=[flow.config()], feature_dim=flow.dim,
                                   num_slots=TINY_FRAMES, head="mean"))
    return model.save(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def wary_model_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model with an open-set score whose threshold no input passes: every moving clip is unknown."""
    model = Recognizer.load(tiny_model_dir)
    model.config.open_set = {"score": "prototype", "threshold": -1.0, "rule": "test: everything is unknown"}
    model.extra_tensors = {"open_set.means": torch.eye(len(UTD_CLASSES), model.config.feature_dim)}
    return model.save(tmp_path_factory.mktemp("models") / "wary")


@pytest.fixture(scope="session")
def shipped_model_dir() -> Path:
    if not (DEFAULT_MODEL / "config.json").is_file():
        pytest.skip("shipped model not built yet")
    return DEFAULT_MODEL


@pytest.fixture
def make_client(tiny_model_dir):
    """make_client(**settings) → a started TestClient (lifespan run) on the tiny model unless model= is given."""
    with _ClientFactory(tiny_model_dir) as factory:
        yield factory


class LoopbackClient(TestClient):
    """A TestClient whose WebSocket connections, too, name the loopback host (Starlette's use 'testserver')."""

    def websocket_connect(self, url: str, *args, **kwargs):
        return super().websocket_connect(urljoin(BASE_URL.replace("http", "ws", 1), url), *args, **kwargs)


class _ClientFactory:
    def __init__(self, model: Path):
        self.model, self.clients = model, []

    def __call__(self, raise_server_exceptions: bool = True, **settings) -> TestClient:
        settings.setdefault("model", self.model)
        # the URL a user of the default loopback bind types; the service refuses TestClient's 'testserver' Host
        client = LoopbackClient(create_app(ServeSettings(**settings)), base_url=BASE_URL,
                                raise_server_exceptions=raise_server_exceptions)
        client.__enter__()
        self.clients.append(client)
        return client

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for client in self.clients:
            client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


def encode(frame: np.ndarray, fmt: str = "PNG", mode: str | None = None) -> bytes:
    """An (H, W, 3) uint8 RGB frame as image bytes; PNG is lossless, so the server decodes the same array."""
    im = Image.fromarray(frame)
    if mode:
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def moving_frames(t: int, seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    """(t, h, w, 3) uint8: a textured square moving in a seeded direction, so each clip has its own motion."""
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    (y, x), (dy, dx) = rng.integers(8, 24, size=2), rng.integers(-3, 4, size=2)
    frames = np.full((t, h, w, 3), 40, np.uint8)
    for i in range(t):
        yy, xx = int(np.clip(y + i * dy, 0, h - 16)), int(np.clip(x + i * dx, 0, w - 16))
        frames[i, yy:yy + 16, xx:xx + 16] = texture
    return frames


def frame_files(frames: np.ndarray, field: str = "frames[]", names: list[str] | None = None,
                fmt: str = "PNG") -> list[tuple]:
    """httpx `files=` entries: one (field, (name, bytes, type)) per frame, named frame_1.png … by default."""
    ext = fmt.lower().replace("jpeg", "jpg")
    names = names or [f"frame_{i}.{ext}" for i in range(1, len(frames) + 1)]
    return [(field, (n, encode(f, fmt), f"image/{fmt.lower()}")) for n, f in zip(names, frames)]


@contextmanager
def serve(settings: ServeSettings):
    """A real uvicorn server in a background thread on a free port of 127.0.0.1; yields the base URL once
    the model is loaded (the 180 s only stops a broken start from hanging)."""
    from actcap.serve.server import make_server

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = make_server(create_app(settings), settings, host="127.0.0.1", port=port, log_level="warning")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 180
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start (see the log above)")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def tiny_url(tiny_model_dir):
    """The page and API of a real `actcap serve` on the tests' tiny model, for one module's tests (browser tests)."""
    with serve(ServeSettings(model=tiny_model_dir)) as url:
        yield url
