"""The /stream WebSocket: live predictions from frames sent one at a time, bounded state, polite refusals."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from serve_fixtures import encode, moving_frames
from starlette.websockets import WebSocketDisconnect

from actcap.serve.live import Session

QUIET = dict(stream_every=1000, stream_interval_ms=1e6, stream_queue=64)  # only "flush" predicts, nothing dropped


def receive_prediction(ws) -> dict:
    msg = ws.receive_json()
    assert msg["type"] == "prediction", msg
    return msg


def stream_and_flush(client, frames) -> dict:
    """Send `frames` on one /stream connection, then "flush"; the prediction that answers it."""
    with client.websocket_connect("/stream") as ws:
        ws.receive_json()
        for f in frames:
            ws.send_bytes(encode(f))
        ws.send_text("flush")
        return receive_prediction(ws)


def received_all(monkeypatch, n: int) -> threading.Event:
    """An event set once the server has received `n` frames on a connection (whatever it kept of them)."""
    done, real, count = threading.Event(), Session._put, [0]

    def put(self, item):
        real(self, item)
        count[0] += isinstance(item, bytes)
        if count[0] >= n:
            done.set()

    monkeypatch.setattr(Session, "_put", put)
    return done


def held_until(event: threading.Event, real, calls: list | None = None):
    """A features function whose first call waits for `event`, so the frames sent meanwhile queue up on the
    server however fast or slow the machine is (the timeout only stops a broken test from hanging)."""

    def features(frames, previous=None):
        if calls is not None:
            calls.append(len(frames))
        event.wait(timeout=120)
        return real(frames, previous)

    return features


def pushed_one_at_a_time(predictor, frames) -> dict:
    """The Predictor's own live stream fed the same frames one by one, directly (no service)."""
    live = predictor.new_stream()
    for f in frames:
        live.push(f)
    return live.predict()


def test_ready_message(make_client):
    with make_client().websocket_connect("/stream") as ws:
        assert ws.receive_json() == {"type": "ready", "model": "tiny", "window": 8, "every": 3, "interval_ms": 150.0,
                                     "min_interval_ms": 100.0,
                                     "classes": ["clap", "swipe_left", "swipe_right", "throw", "wave"]}


def test_flush_matches_the_predictors_live_stream(make_client):
    client = make_client(**QUIET)
    frames = moving_frames(11, seed=1)
    got = stream_and_flush(client, frames)
    want = pushed_one_at_a_time(client.app.state.service.predictor, frames)  # the same code path, fed directly
    assert got["top_k"] == want["top_k"] and got["caption"] == want["caption"]
    assert (got["frames_received"], got["frames_used"], got["frames_dropped"]) == (11, 8, 0)  # window of 8 kept
    assert got["fps"] >= 0 and got["latency_ms"] >= 0 and got["timing_ms"] >= 0  # measured: 0 on a stalled machine


def test_updates_every_k_frames(make_client):
    client = make_client(stream_every=3, stream_interval_ms=1e6, stream_min_interval_ms=0, stream_queue=32)
    with client.websocket_connect("/stream") as ws:
        ws.receive_json()
        for f in moving_frames(9, seed=2):
            ws.send_bytes(encode(f, "JPEG"))
        seen = [receive_prediction(ws)["frames_received"] for _ in range(3)]
    assert seen == [3, 6, 9]


def test_updates_never_come_faster_than_the_minimum_interval_and_the_last_is_not_lost(make_client, monkeypatch):
    client = make_client(stream_every=3, stream_interval_ms=1e6, stream_min_interval_ms=200, stream_queue=64)
    # the server's own clock, read as each update starts to go out: the client's receive times would add
    # its scheduling delays (and shrink a gap on a loaded machine)
    sent_at, real_send, real_process = [], Session._send, Session._process

    async def timed_send(self, result, newest):
        sent_at.append(time.perf_counter())
        await real_send(self, result, newest)

    async def timed_process(self):
        sent_at.append(time.perf_counter())  # before the session's clock starts: the first gap is a lower bound
        await real_process(self)

    monkeypatch.setattr(Session, "_send", timed_send)
    monkeypatch.setattr(Session, "_process", timed_process)
    with client.websocket_connect("/stream") as ws:
        ws.receive_json()
        for f in moving_frames(9, seed=2):  # updates are due by count every 3 frames
            ws.send_bytes(encode(f, "JPEG"))
        got = [receive_prediction(ws)]
        while got[-1]["frames_received"] < 9:
            got.append(receive_prediction(ws))
    assert got[-1]["frames_received"] == 9  # held back, then sent although no further frame came
    assert len(sent_at) == len(got) + 1
    gaps = [b - a for a, b in zip(sent_at, sent_at[1:])]
    assert min(gaps) >= 0.2 - 1e-3, gaps  # 1 ms: the event loop's timer may fire a clock tick early


def due_by_the_clock_client(make_client, monkeypatch):
    """A client whose updates come by the 50 ms interval only (`every` is far): each frame's features take 60 ms,
    so the interval has passed for sure when the due check runs after them."""
    client = make_client(stream_every=1000, stream_interval_ms=50, stream_min_interval_ms=0)
    predictor = client.app.state.service.predictor
    real = predictor.features
    monkeypatch.setattr(predictor, "features", lambda *a: time.sleep(0.06) or real(*a))
    return client


def test_updates_at_least_every_interval(make_client, monkeypatch):
    client = due_by_the_clock_client(make_client, monkeypatch)
    with client.websocket_connect("/stream") as ws:
        ws.receive_json()
        for f in moving_frames(2, seed=3):  # far from `every`, due by the clock only (not on one frame: see
            ws.send_bytes(encode(f))        # test_stream_robust.py)
        assert receive_prediction(ws)["frames_received"] == 2


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


def test_a_page_from_another_origin_is_refused_but_the_own_page_and_scripts_are_not(make_client):
    client = make_client()
    with client.websocket_connect("/stream", headers={"origin": "http://evil.example"}) as ws:
        assert ws.receive_json() == {"type": "error", "detail": "origin http://evil.example may not open a live "
                                     "stream here; open the page this server serves"}
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert (closed.value.code, closed.value.reason) == (1008, "cross-origin live stream refused")
    with client.websocket_connect("/stream", headers={"origin": "http://127.0.0.1:5000"}) as ws:  # the page itself
        assert ws.receive_json()["type"] == "ready"
    with client.websocket_connect("/stream") as ws:  # no Origin: not a browser
        assert ws.receive_json()["type"] == "ready"
    assert client.get("/health").json()["live_streams"] == 0


def test_idle_connection_is_closed(make_client):
    with make_client(stream_idle_s=0.2).websocket_connect("/stream") as ws:
        ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert (closed.value.code, closed.value.reason) == (1000, "idle for 0.2 s")


def test_a_fast_sender_has_frames_dropped_not_queued(make_client, monkeypatch):
    client = make_client(**{**QUIET, "stream_queue": 2})
    predictor = client.app.state.service.predictor
    # the first batch is held until all 12 frames have arrived: at most 2 processing and 2 waiting
    monkeypatch.setattr(predictor, "features", held_until(received_all(monkeypatch, 12), predictor.features))
    got = stream_and_flush(client, moving_frames(12, seed=6))
    assert got["frames_dropped"] >= 8
    assert got["frames_received"] + got["frames_dropped"] == 12  # every frame either processed or dropped


def test_queued_frames_go_through_the_streams_as_one_batch_with_the_same_answer(make_client, monkeypatch):
    client = make_client(**QUIET)
    predictor = client.app.state.service.predictor
    batches = []
    # the first batch is held until all 9 frames have arrived, so the rest wait and go through as one batch
    monkeypatch.setattr(predictor, "features", held_until(received_all(monkeypatch, 9), predictor.features, batches))
    frames = moving_frames(9, seed=8)
    got = stream_and_flush(client, frames)
    monkeypatch.undo()
    assert sum(batches) == 9 and max(batches) > 1  # every frame once; the backlog in batches
    want = pushed_one_at_a_time(predictor, frames)
    assert [t["label"] for t in got["top_k"]] == [t["label"] for t in want["top_k"]]
    assert [t["confidence"] for t in got["top_k"]] == pytest.approx([t["confidence"] for t in want["top_k"]],
                                                                     abs=1e-4)


def test_live_stream_batches_equal_frames_one_at_a_time_even_across_a_size_change(make_client):
    predictor = make_client().app.state.service.predictor
    small, large = moving_frames(4, seed=10), moving_frames(3, seed=11, h=60, w=80)
    frames = list(small) + list(large)  # the camera changed resolution after four frames
    batched, single = predictor.new_stream(window=16), predictor.new_stream(window=16)
    batched.push_many(frames[:2])
    batched.push_many(frames[2:])  # one call spans the size change
    for f in frames:
        single.push(f)
    assert batched.frames_seen == single.frames_seen == 7
    np.testing.assert_array_equal(np.stack(batched.window), np.stack(single.window))
    assert np.abs(np.stack(batched.window)[4]).max() < 1e-3  # a new size starts from no motion, not a jump


def test_a_bad_frame_in_a_batch_costs_only_itself(make_client, monkeypatch):
    client = make_client(**QUIET)
    predictor = client.app.state.service.predictor
    # the first frame is held until the other four arrived, so the broken one shares a batch with good ones
    monkeypatch.setattr(predictor, "features", held_until(received_all(monkeypatch, 4), predictor.features))
    with client.websocket_connect("/stream") as ws:
        ws.receive_json()
        good = moving_frames(4, seed=9)
        ws.send_bytes(encode(good[0]))
        ws.send_bytes(encode(good[1]))
        ws.send_bytes(b"\xff\xd8 broken")
        ws.send_bytes(encode(good[2]))
        ws.send_text("flush")
        assert ws.receive_json() == {"type": "error",
                                     "detail": "frame 3: not an image (Pillow could not identify the format)"}
        assert receive_prediction(ws)["frames_received"] == 3


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


def test_live_messages_carry_the_state(make_client):
    client = make_client(**QUIET)
    moving = stream_and_flush(client, moving_frames(8, seed=1))
    assert moving["state"] == "action" and moving["motion"] > 0.004
    still = stream_and_flush(client, [moving_frames(1, seed=1)[0]] * 8)  # nobody moves
    assert (still["state"], still["caption"], still["motion"]) == ("idle", "Nobody is moving.", 0.0)
    assert still["prediction"] in ("clap", "swipe_left", "swipe_right", "throw", "wave")
