"""Live video over the /stream WebSocket: frames in, prediction updates out, several times a second.

    server → {"type": "ready", "model", "classes", "window", "every", "interval_ms", "min_interval_ms"}
    client → a binary message: one JPEG (or PNG/WebP) frame, unmirrored, ideally at the training frame rate
    client → the text "flush": finish the queued frames and send a prediction now; "reset": forget the window
    server → {"type": "prediction", <the /predict fields>, "fps", "latency_ms", "frames_dropped"}
    server → {"type": "error", "detail"} for a bad frame or command (the stream goes on)

Each frame's features are computed once, when it is processed (`Predictor.new_stream().push_many`); frames
that queued up meanwhile go through the CNN as one batch, up to the next prediction due. Only the last
`window` are kept, so a connection's memory is bounded: that window, the previous frame, and at most
`stream_queue` frames waiting (when a client sends faster than the server keeps up, the oldest waiting
frame is dropped and counted) and as many commands, 64 characters of each (more are refused and reported).
A connection over `max_streams` gets an error message and close code 1013; one from a page of another
origin (cross-site WebSocket hijacking) an error message and close code 1008. When the server stops, each
stream is closed with code 1012 and a reason (`Service.close_live_streams`, called by actcap/serve/server.py
before uvicorn drops the connections, which a client would see as a lost connection, 1006).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from urllib.parse import urlsplit

import anyio
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from actcap.data.frames import shrink_to_working
from actcap.data.video import ImageDecodeError, decode_image_bytes
from actcap.inference.predictor import Predictor
from actcap.serve.errors import ServiceError
from actcap.serve.forms import FALSE, TRUE
from actcap.serve.schemas import LIVE_PREDICTION
from actcap.serve.served import get_model
from actcap.serve.service import Service
from actcap.serve.settings import source

log = logging.getLogger(__name__)
TRY_AGAIN_LATER = 1013  # RFC 6455 registry: "Try Again Later"
POLICY_VIOLATION = 1008
COMMANDS = ("flush", "reset")
MIN_UPDATE_FRAMES = 2  # motion is measured between frames: one frame alone would always say "Nobody is moving."
MAX_COMMAND_CHARS = 64  # a longer text is no command (a base64 frame?): only this much of it waits in the queue


async def serve(websocket: WebSocket, service: Service) -> None:
    """Run one live connection, or refuse it politely when all `max_streams` slots are taken."""
    origin = websocket.headers.get("origin")
    if origin and urlsplit(origin).netloc != websocket.headers.get("host"):
        # a page on another site may not use a visitor's browser to stream to this server (browsers send
        # Origin on every WebSocket; scripts and command-line clients that send none are let through)
        await websocket.accept()
        await websocket.send_json({"type": "error", "detail": f"origin {origin} may not open a live stream here; "
                                   "open the page this server serves"})
        await websocket.close(code=POLICY_VIOLATION, reason="cross-origin live stream refused")
        return
    limit = service.settings.max_streams
    if service.live_streams >= limit:
        await websocket.accept()
        await websocket.send_json({"type": "error", "detail": f"too many live streams: {service.live_streams} "
                                   f"open; the limit is {limit} ({source('max_streams')}); try again later"})
        await websocket.close(code=TRY_AGAIN_LATER, reason="too many live streams; try again later")
        return
    service.live_streams += 1  # no await since the check: two connections can't both take the last slot
    try:
        await websocket.accept()
        try:  # ?model=NAME: a model from GET /models instead of the active one
            predictor = await service.run(get_model, service.models, websocket.query_params.get("model"))
        except ServiceError as e:
            await websocket.send_json({"type": "error", "detail": e.detail})
            await websocket.close(code=POLICY_VIOLATION, reason="unknown model")
            return
        pose = websocket.query_params.get("pose", "").strip().lower()
        if pose not in TRUE + FALSE:  # ?pose=true: each update carries the newest frame's keypoints
            await websocket.send_json({"type": "error", "detail": f"pose must be true or false; got {pose[:40]!r}"})
            await websocket.close(code=POLICY_VIOLATION, reason="bad pose parameter")
            return
        await Session(websocket, service, predictor, pose=pose in TRUE).run()
    except* WebSocketDisconnect:
        pass  # the client left while we were sending
    except* Exception as group:  # last line of defence: log it, tell the client in one line, keep serving
        log.error("live stream failed", exc_info=group)
        with contextlib.suppress(Exception):
            await websocket.close(code=1011, reason="internal error; the server log has the details")
    finally:
        service.live_streams -= 1


class Session:
    def __init__(self, websocket: WebSocket, service: Service, predictor: Predictor, pose: bool = False):
        self.ws, self.service, self.settings = websocket, service, service.settings
        self.predictor, self.pose = predictor, pose
        self.live = predictor.new_stream()
        self.queue: deque[tuple[bytes | str, float, int]] = deque()  # (frame or command, time received, frame no.)
        self.wake = anyio.Event()
        self.received = self.dropped = self.ignored = 0  # ignored: commands refused while stream_queue waited
        self.processed: deque[float] = deque()  # when each frame of the last second finished
        self.started = time.perf_counter()
        self.scope = anyio.CancelScope()  # cancelled by `stop` (the server shutting down)
        self.stopping: tuple[int, str] | None = None  # (close code, reason) once stopped
        self.finished = anyio.Event()

    def stop(self, code: int, reason: str) -> None:
        """Ask the session to end with this close code (from the server's shutdown; `finished` is set when the
        client has been told)."""
        self.stopping = (code, reason)
        self.scope.cancel()

    async def run(self) -> None:
        self.service.sessions.add(self)
        try:
            with self.scope:
                await self._run()
            if self.stopping and self.ws.application_state == WebSocketState.CONNECTED:
                code, reason = self.stopping  # closed here, where the stream ran: nothing else sends on it now
                await self.ws.close(code=code, reason=reason)
        finally:
            self.service.sessions.discard(self)
            self.finished.set()

    async def _run(self) -> None:
        p = self.predictor
        await self.ws.send_json({"type": "ready", "model": p.name, "classes": p.classes,
                                 "window": self.live.window.maxlen, "every": self.settings.stream_every,
                                 "interval_ms": self.settings.stream_interval_ms,
                                 "min_interval_ms": self.settings.stream_min_interval_ms})
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._process)
            await self._receive()
            tg.cancel_scope.cancel()  # the client left or went idle: stop processing, free the state

    async def _receive(self) -> None:
        while True:
            with anyio.move_on_after(self.settings.stream_idle_s) as idle:
                message = await self.ws.receive()
            if idle.cancelled_caught:
                await self.ws.close(code=1000, reason=f"idle for {self.settings.stream_idle_s:g} s")
                return
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            self._put(data if data is not None else message.get("text") or "")

    def _put(self, item: bytes | str) -> None:
        if isinstance(item, str):  # a command: (text, time received, its length in characters)
            if sum(isinstance(x, str) for x, _, _ in self.queue) >= self.settings.stream_queue:
                self.ignored += 1  # commands sent faster than they are answered: bounded like frames
            else:
                self.queue.append((item[:MAX_COMMAND_CHARS], time.perf_counter(), len(item)))
                self.wake.set()
            return
        self.received += 1
        self.queue.append((item, time.perf_counter(), self.received))
        waiting = [i for i, (x, _, _) in enumerate(self.queue) if isinstance(x, bytes)]
        if len(waiting) > self.settings.stream_queue:
            del self.queue[waiting[0]]  # keep the newest frames: a live caption should be about now
            self.dropped += 1
        self.wake.set()

    async def _process(self) -> None:
        new, last_sent, newest = 0, time.perf_counter(), None
        while True:
            if not self.queue:
                self.wake = anyio.Event()  # no await between the check and here, so no wake-up is missed
                held_ms = None  # frames due for a prediction by count, held back by the minimum interval
                if new >= self.settings.stream_every and len(self.live.window) >= MIN_UPDATE_FRAMES:
                    held_ms = self.settings.stream_min_interval_ms - (time.perf_counter() - last_sent) * 1000
                with anyio.move_on_after(None if held_ms is None else max(0.0, held_ms) / 1000):
                    await self.wake.wait()
                if held_ms is not None and not self.queue:  # no newer frame came: predict on what there is
                    result = await self.service.run(self._predict)
                    if result is not None:
                        await self._send(result, newest)
                    new, last_sent = 0, time.perf_counter()
                continue
            item, received_at, number = self.queue.popleft()
            if isinstance(item, str):
                new = await self._command(item.strip(), newest, number)
                last_sent = time.perf_counter()
                continue
            # frames that queued up while the last batch ran go through the CNN together (cheaper per
            # frame), but never past the next prediction that is due by count
            every = self.settings.stream_every
            batch = [(item, number)]
            room = every - new if new < every else len(self.queue) + 1  # due by count: wait for the clock only
            while len(batch) < room and self.queue and isinstance(self.queue[0][0], bytes):
                item, received_at, number = self.queue.popleft()
                batch.append((item, number))
            result, errors, pushed = await self.service.run(self._step, batch, new, last_sent)
            for detail in errors:
                await self._error(detail)
            if not pushed:
                continue
            new, newest = new + pushed, received_at
            self._tick(pushed)
            if result is not None:
                await self._send(result, newest)
                new, last_sent = 0, time.perf_counter()

    async def _command(self, command: str, newest: float | None, length: int) -> int:
        """Run a text command (`length`: the message's, before it was cut to MAX_COMMAND_CHARS); returns the
        count of frames not yet covered by a prediction (0)."""
        if length > MAX_COMMAND_CHARS:
            await self._error(f"a text message of {length} characters is not a command; send each frame as a "
                              "binary message (JPEG, PNG or WebP bytes, not base64 text), and as text only "
                              f"{' or '.join(map(repr, COMMANDS))}")
        elif command == "reset":
            self.live = self.predictor.new_stream()
        elif command == "flush":
            result = await self.service.run(self._predict)
            if result is None:
                await self._error("flush: no frames received yet")
            else:
                await self._send(result, newest)
        else:
            await self._error(f"unknown command {command[:40]!r}; send binary JPEG frames, or the text "
                              f"{' or '.join(map(repr, COMMANDS))}")
        if self.ignored:
            await self._error(f"{self.ignored} command{'s' * (self.ignored > 1)} ignored: at most "
                              f"{self.settings.stream_queue} may wait ({source('stream_queue')}); send a "
                              "command after the answer to the one before")
            self.ignored = 0
        return 0

    async def _error(self, detail: str) -> None:
        await self.ws.send_json({"type": "error", "detail": detail})

    def _step(self, batch: list[tuple[bytes, int]], new: int, last_sent: float
              ) -> tuple[dict | None, list[str], int]:
        """In a worker thread: decode the frames, add their features, and predict when due (decided after
        the features, so the minimum interval is measured up to now). `new`: frames since the last update.

        Returns (prediction or None, an error line per undecodable frame, frames added)."""
        frames, errors = [], []
        for data, number in batch:
            try:
                # reduced to working size before the next frame is decoded: a connection holds small frames
                frames.append(shrink_to_working(decode_image_bytes(data, f"frame {number}", self.settings.max_pixels)))
            except ImageDecodeError as e:
                command = data.strip().decode("ascii", "replace") if len(data) <= MAX_COMMAND_CHARS else ""
                hint = f"; {command!r} is a command: send it as a text message" if command in COMMANDS else ""
                errors.append(f"{e.name}: {e.reason}{hint}")
        if not frames:
            return None, errors, 0
        self.live.push_many(frames)
        s, waited_ms = self.settings, (time.perf_counter() - last_sent) * 1000
        due = ((new + len(frames) >= s.stream_every or waited_ms >= s.stream_interval_ms)
               and waited_ms >= s.stream_min_interval_ms and len(self.live.window) >= MIN_UPDATE_FRAMES)
        return (self._predict() if due else None), errors, len(frames)

    def _predict(self) -> dict | None:
        """The window's answer, with the newest frame's keypoints when the client asked (`?pose=true`)."""
        out = self.live.predict()
        if out is not None and self.pose:
            out["pose"] = self.live.keypoints()
        return out

    def _tick(self, frames: int) -> None:
        now = time.perf_counter()
        self.processed.extend([now] * frames)
        while self.processed[0] < now - 1.0:
            self.processed.popleft()

    async def _send(self, result: dict, newest: float | None) -> None:
        now = time.perf_counter()
        span = min(1.0, now - self.started)
        fps = len([t for t in self.processed if t >= now - 1.0]) / span if span > 0 else 0.0
        message = LIVE_PREDICTION.validate_python({**result, "type": "prediction", "fps": round(fps, 1),
                                                   "frames_dropped": self.dropped,
                                                   "latency_ms": round((now - newest) * 1000, 1) if newest else 0.0})
        await self.ws.send_json(LIVE_PREDICTION.dump_python(message, exclude_none=True))
