"""The /stream WebSocket: live predictions from frames sent one at a time, bounded state, polite refusals."""

from __future__ import annotations

import time

import pytest
from serve_fixtures import encode, make_client, moving_frames, tiny_model_dir  # noqa: F401  (fixtures)
from starlette.websockets import WebSocketDisconnect

QUIET = dict(stream_every=1000, stream_interval_ms=1e6, stream_queue=64)  # only "flush" predicts, nothing dropped


def receive_prediction(ws) -> dict:
    msg = ws.receive_json()
    assert msg["type"] == "prediction", msg
    return msg


def test_ready_message(make_client):
    with make_client().websocket_connect("/stream") as ws:
        assert ws.receive_json() == {"type": "ready", "model": "tiny", "window": 8, "every": 3, "interval_ms": 150.0,
                                     "classes": ["clap", "swipe_left", "swipe_right", "throw", "wave"]}


def test_flush_matches_the_predictors_live_stream(make_client):
    client = make_client(**QUIET)
    frames = moving_frames(11, seed=1)
    with client.websocket_connect("/stream") as ws:
        ws.receive_json()
        for f in frames:
            ws.send_bytes(encode(f))
        ws.send_text("flush")
        got = receive_prediction(ws)
    want = client.app.state.service.predictor.new_stream()  # the same code path, fed directly
    for f in frames:
        want.push(f)
    want = want.predict()
    assert got["top_k"] == want["top_k"] and got["caption"] == want["caption"]
    assert (got["frames_received"], got["frames_used"], got["frames_dropped"]) == (11, 8, 0)  # window of 8 kept
    assert got["fps"] > 0 and got["latency_ms"] >= 0 and got["timing_ms"] >= 0


def test_updates_every_k_frames(make_client):
    client = make_client(stream_every=3, stream_interval_ms=1e6, stream_queue=32)
    with client.websocket_connect("/stream") as ws:
        ws.receive_json()
        for f in moving_frames(9, seed=2):
            ws.send_bytes(encode(f, "JPEG"))
        seen = [receive_prediction(ws)["frames_received"] for _ in range(3)]
    assert seen == [3, 6, 9]


def test_updates_at_least_every_interval(make_client):
    client = make_client(stream_every=1000, stream_interval_ms=50)
    with client.websocket_connect("/stream") as ws:
        ws.receive_json()
        for f in moving_frames(3, seed=3):
            time.sleep(0.06)
            ws.send_bytes(encode(f))
        assert receive_prediction(ws)["frames_received"] >= 1


def test_bad_frame_and_commands_get_errors_and_the_stream_goes_on(make_client):
    with make_client(**QUIET).websocket_connect("/stream") as ws:
        ws.receive_json()
        ws.send_text("flush")
        assert ws.receive_json() == {"type": "error", "detail": "flush: no frames received yet"}
        ws.send_bytes(encode(moving_frames(1, seed=4)[0]))
        ws.send_bytes(b"not a jpeg")
        assert ws.receive_json() == {"type": "error",
                                     "detail": "frame 2: not an image (Pillow could not identify the format)"}
        ws.send_text("dance")
        assert ws.receive_json() == {"type": "error", "detail": "unknown command 'dance'; send binary JPEG frames, "
                                                                "or the text 'flush' or 'reset'"}
        ws.send_text("flush")
        assert receive_prediction(ws)["frames_received"] == 1
        ws.send_text("reset")
        ws.send_text("flush")
        assert ws.receive_json() == {"type": "error", "detail": "flush: no frames received yet"}


def test_frame_over_the_pixel_limit(make_client):
    with make_client(max_pixels=100, **QUIET).websocket_connect("/stream") as ws:
        ws.receive_json()
        ws.send_bytes(encode(moving_frames(1, seed=5)[0]))
        assert ws.receive_json() == {"type": "error",
                                     "detail": "frame 1: image is 64x48 = 3072 pixels; the limit is 100"}


def test_too_many_streams_are_refused_politely_and_slots_are_freed(make_client):
    client = make_client(max_streams=1)
    with client.websocket_connect("/stream") as first:
        first.receive_json()
        assert client.get("/health").json()["live_streams"] == 1
        with client.websocket_connect("/stream") as second:
            assert second.receive_json() == {"type": "error", "detail": "too many live streams: 1 open; the limit is "
                                             "1 (--max-streams / ACTCAP_MAX_STREAMS); try again later"}
            with pytest.raises(WebSocketDisconnect) as closed:
                second.receive_json()
            assert (closed.value.code, closed.value.reason) == (1013, "too many live streams; try again later")
    assert client.get("/health").json()["live_streams"] == 0
    with client.websocket_connect("/stream") as again:
        assert again.receive_json()["type"] == "ready"


def test_idle_connection_is_closed(make_client):
    with make_client(stream_idle_s=0.2).websocket_connect("/stream") as ws:
        ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert (closed.value.code, closed.value.reason) == (1000, "idle for 0.2 s")


def test_a_fast_sender_has_frames_dropped_not_queued(make_client, monkeypatch):
    client = make_client(**{**QUIET, "stream_queue": 2})
    predictor = client.app.state.service.predictor
    real = predictor.features

    def slow(*args, **kwargs):
        time.sleep(0.05)
        return real(*args, **kwargs)

    monkeypatch.setattr(predictor, "features", slow)
    with client.websocket_connect("/stream") as ws:
        ws.receive_json()
        for f in moving_frames(12, seed=6):
            ws.send_bytes(encode(f))
        ws.send_text("flush")
        got = receive_prediction(ws)
    assert got["frames_dropped"] > 0
    assert got["frames_received"] + got["frames_dropped"] == 12  # every frame either processed or dropped


def test_unexpected_error_closes_with_1011_and_frees_the_slot(make_client, monkeypatch, caplog):
    client = make_client(**QUIET)

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(client.app.state.service.predictor, "features", broken)
    with client.websocket_connect("/stream") as ws:
        ws.receive_json()
        ws.send_bytes(encode(moving_frames(1, seed=7)[0]))
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert (closed.value.code, closed.value.reason) == (1011, "internal error; the server log has the details")
    assert "secret internals" in caplog.text
    assert client.get("/health").json()["live_streams"] == 0
