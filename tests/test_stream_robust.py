"""The /stream WebSocket under a demanding client: text where frames belong, commands faster than they are
answered, several connections at once. (test_stream.py has the protocol itself.)"""

from __future__ import annotations

import contextlib
import json
import threading

from serve_fixtures import encode, moving_frames
from test_stream import QUIET, due_by_the_clock_client, held_until, pushed_one_at_a_time, receive_prediction

from actcap.serve.live import MAX_COMMAND_CHARS, Session


def received_messages(monkeypatch, n: int) -> threading.Event:
    """An event set once the server has received `n` messages, frames and text alike (kept or not)."""
    done, real, count = threading.Event(), Session._put, [0]

    def put(self, item):
        real(self, item)
        count[0] += 1
        if count[0] >= n:
            done.set()

    monkeypatch.setattr(Session, "_put", put)
    return done


def test_a_frame_sent_as_base64_text_is_named_and_not_queued_whole(make_client, monkeypatch):
    queued = []
    real = Session._put
    monkeypatch.setattr(Session, "_put", lambda self, item: real(self, item) or queued.extend(self.queue))
    with make_client(**QUIET).websocket_connect("/stream") as ws:
        ws.receive_json()
        data_url = "data:image/jpeg;base64," + "A" * 200_000  # canvas.toDataURL() sent as text
        ws.send_text(data_url)
        assert ws.receive_json() == {"type": "error", "detail": f"a text message of {len(data_url)} characters is "
                                     "not a command; send each frame as a binary message (JPEG, PNG or WebP bytes, "
                                     "not base64 text), and as text only 'flush' or 'reset'"}
        ws.send_bytes(encode(moving_frames(1, seed=1)[0]))  # the stream goes on
        ws.send_text("flush")
        assert receive_prediction(ws)["frames_received"] == 1
    assert max(len(x) for x, _, _ in queued if isinstance(x, str)) == MAX_COMMAND_CHARS  # 64 chars waited, not 200 k


def test_commands_faster_than_answers_are_bounded_and_the_excess_is_reported(make_client, monkeypatch):
    client = make_client(**{**QUIET, "stream_queue": 2})
    predictor = client.app.state.service.predictor
    # the frame is held until the 10 commands after it have arrived: 2 may wait, the other 8 are refused
    monkeypatch.setattr(predictor, "features", held_until(received_messages(monkeypatch, 11), predictor.features))
    with client.websocket_connect("/stream") as ws:
        ws.receive_json()
        ws.send_bytes(encode(moving_frames(1, seed=2)[0]))
        for _ in range(10):
            ws.send_text("flush")
        assert receive_prediction(ws)["frames_received"] == 1
        assert ws.receive_json() == {"type": "error", "detail": "8 commands ignored: at most 2 may wait "
                                     "(ACTCAP_STREAM_QUEUE); send a command after the answer to the one before"}
        assert receive_prediction(ws)["frames_received"] == 1
        ws.send_text("flush")  # answered again once the backlog is gone, with no error
        assert receive_prediction(ws)["frames_received"] == 1


def test_connections_at_once_keep_their_own_window(make_client):
    client = make_client(**QUIET)
    a, b = moving_frames(10, seed=3), moving_frames(6, seed=4, h=60, w=80)
    with client.websocket_connect("/stream") as wa, client.websocket_connect("/stream") as wb:
        wa.receive_json(), wb.receive_json()
        for i in range(10):  # interleaved frames of two cameras of different sizes
            wa.send_bytes(encode(a[i]))
            if i < len(b):
                wb.send_bytes(encode(b[i]))
        wa.send_text("flush")
        wb.send_text("flush")
        got_a, got_b = receive_prediction(wa), receive_prediction(wb)
        wb.send_text("reset")  # one connection's reset leaves the other's window alone
        wa.send_text("flush")
        again_a = receive_prediction(wa)
    predictor = client.app.state.service.predictor
    for got, frames in ((got_a, a), (got_b, b), (again_a, a)):
        want = pushed_one_at_a_time(predictor, frames)
        assert (got["top_k"], got["frames_received"], got["motion"]) == (want["top_k"], len(frames), want["motion"])


def test_no_update_from_a_single_frame_which_shows_no_motion(make_client, monkeypatch):
    client = due_by_the_clock_client(make_client, monkeypatch)
    with client.websocket_connect("/stream") as ws:
        ws.receive_json()
        ws.send_bytes(encode(moving_frames(1, seed=5)[0]))
        ws.send_text("flush")  # asked for: answered, from one frame
        assert receive_prediction(ws)["frames_received"] == 1
        ws.send_text("reset")
        ws.send_text("flush")
        # the next message answers this flush: the clock sent no update of its own after that one frame
        # (it would have said "Nobody is moving." of a person waving)
        assert ws.receive_json() == {"type": "error", "detail": "flush: no frames received yet"}


def test_the_webcam_script_is_served_and_self_contained(make_client):
    client = make_client()
    assert '<script src="/static/live.js" defer></script>' in client.get("/").text
    r = client.get("/static/live.js")
    assert r.status_code == 200 and "startWebcam" in r.text
    assert "http://" not in r.text and "https://" not in r.text and "innerHTML" not in r.text  # works offline


def test_a_command_sent_as_binary_is_named(make_client):
    with make_client(**QUIET).websocket_connect("/stream") as ws:
        ws.receive_json()
        ws.send_bytes(b"flush")
        assert ws.receive_json() == {"type": "error", "detail": "frame 1: not an image (Pillow could not identify the "
                                     "format); 'flush' is a command: send it as a text message"}
        ws.send_bytes(b"")
        assert ws.receive_json() == {"type": "error", "detail": "frame 2: file is empty (0 bytes)"}


def test_a_server_stopping_tells_a_stream_still_sending_frames_why(tiny_model_dir):
    """uvicorn alone drops the connection under a client that keeps sending (the page saw 1006 at random): the
    server closes each stream itself first, with 1012 and a reason, and the closing handshake. The client is
    asyncio's, which like a browser answers a close frame while a send of its own waits (websockets' threaded
    client holds one lock for both, so its sender can keep it from answering)."""
    import asyncio
    from contextlib import ExitStack

    import numpy as np
    from serve_fixtures import serve
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    from actcap.serve import ServeSettings

    noise = encode(np.random.default_rng(0).integers(0, 256, (480, 640, 3), np.uint8), "JPEG")  # ~0.3 MB each
    running = ExitStack()
    url = running.enter_context(serve(ServeSettings(model=tiny_model_dir)))

    async def stream_until_closed() -> ConnectionClosed:
        async with connect(url.replace("http", "ws") + "/stream", max_size=None) as ws:
            assert json.loads(await ws.recv())["type"] == "ready"
            sent = 0

            async def flood():  # frames faster than the server decodes them (a slow webcam's are), until the end
                nonlocal sent
                with contextlib.suppress(ConnectionClosed):
                    while True:
                        await ws.send(noise)
                        sent += 1
                        await asyncio.sleep(0.01)  # up to 100 frames/s; the client's loop answers pings meanwhile

            sender = asyncio.create_task(flood())
            while sent < 20:  # the server's buffers are full
                await asyncio.sleep(0.01)
            stopping = asyncio.get_running_loop().run_in_executor(None, running.close)  # the server stops
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 30)
            except ConnectionClosed as e:
                closed = e
            await stopping
            sender.cancel()
            return closed

    try:
        closed = asyncio.run(stream_until_closed())
        assert closed.rcvd is not None, "no close frame: the connection was dropped"
        assert (closed.rcvd.code, closed.rcvd.reason) == (1012, "the server is shutting down")
    finally:
        running.close()
