"""Load test of the real HTTP service for `actcap bench`: uvicorn on 127.0.0.1, httpx clients posting
16 JPEG frames each to POST /predict (field `frames[]`) at 1, 4 and 16 concurrent clients.

Skips with a note (never fails the bench) when `actcap.serve.app.create_app` is not importable.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
LEVELS = (1, 4, 16)


def jpeg_frames(clip_path: Path, n: int = 16) -> list[tuple[str, bytes]]:
    """n frames of a clip as JPEG files named frame_01.jpg …, ready for a multipart upload."""
    import cv2

    from actcap.data.sampling import uniform_indices
    from actcap.data.video import open_clip

    clip = open_clip(clip_path)
    out = []
    for k, f in enumerate(clip.read(uniform_indices(len(clip), n)), start=1):
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
        out.append((f"frame_{k:02d}.jpg", buf.tobytes()))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn serving `app` in a background thread of this process, for the length of a `with` block."""

    def __init__(self, app, port: int):
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        deadline = time.monotonic() + 300  # the model loads (and ONNX exports on a first run) in lifespan
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the service did not start (see its log above)")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def load(url: str, files: list[tuple[str, bytes]], clients: int, requests: int) -> dict:
    """`requests` POSTs spread over `clients` concurrent clients; latency percentiles, throughput, errors."""
    import httpx

    per_client = max(2, requests // clients)
    parts = [("frames[]", (name, data, "image/jpeg")) for name, data in files]
    latencies, errors = [], []

    def client(_):
        with httpx.Client(timeout=120) as http:
            for _ in range(per_client):
                t = time.perf_counter()
                try:
                    r = http.post(f"{url}/predict", files=parts)
                    if r.status_code != 200:
                        errors.append(f"{r.status_code}: {r.text[:200]}")
                        continue
                except httpx.HTTPError as e:
                    errors.append(repr(e))
                    continue
                latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    wall = time.perf_counter() - t0
    ms = np.asarray(latencies) * 1000
    return {"requests": clients * per_client, "rps": round(len(latencies) / wall, 2),
            "p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
            "p99_ms": round(float(np.percentile(ms, 99)), 1) if len(ms) else None,
            "errors": len(errors), **({"first_error": errors[0]} if errors else {})}


def stream_load(url: str, frames: list[bytes], fps: float | None, seconds: float) -> dict:
    """One live client on /stream sending JPEG frames at `fps` (None: as fast as it can) for `seconds`:
    predictions received per second, frames the server processed per second, latency and drops."""
    from websockets.sync.client import connect

    ws_url = url.replace("http://", "ws://") + "/stream"
    updates, lock = [], threading.Lock()
    with connect(ws_url, max_size=None) as ws:
        ws.recv()  # ready

        def receive():
            for message in ws:
                m = json.loads(message)
                if m.get("type") == "prediction":
                    with lock:
                        updates.append(m)

        reader = threading.Thread(target=receive, daemon=True)
        reader.start()
        t0, sent = time.perf_counter(), 0
        while time.perf_counter() - t0 < seconds:
            ws.send(frames[sent % len(frames)])
            sent += 1
            if fps:
                time.sleep(max(0.0, t0 + sent / fps - time.perf_counter()))
        wall = time.perf_counter() - t0
        time.sleep(0.3)  # the last updates
        ws.close()
        reader.join(timeout=5)
    with lock:
        got = list(updates)
    processed = got[-1]["frames_received"] if got else 0
    return {"sent_fps": round(sent / wall, 1), "processed_fps": round(processed / wall, 1),
            "updates_per_s": round(len(got) / wall, 1),
            "latency_p50_ms": round(float(np.median([m["latency_ms"] for m in got])), 1) if got else None,
            "frames_dropped": got[-1]["frames_dropped"] if got else None}


def bench_serve(model_dir: Path, clip_path: Path, requests: int = 48, engine: str | None = None,
                stream_seconds: float = 4.0) -> dict:
    """Figures per concurrency level, or {"skipped": why} when the service cannot be imported."""
    try:
        from actcap.serve.app import create_app
        from actcap.serve.settings import ServeSettings
    except ImportError as e:
        log.warning("service benchmark skipped: %s", e)
        return {"skipped": f"actcap.serve.app.create_app is not importable ({e})"}
    import httpx

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request would drown the report
    files = jpeg_frames(clip_path)
    port = free_port()
    app = create_app(ServeSettings(model=model_dir, engine=engine, port=port))
    out = {}
    with Server(app, port):
        url = f"http://127.0.0.1:{port}"
        httpx.post(f"{url}/predict", files=[("frames[]", (n, d, "image/jpeg")) for n, d in files], timeout=300)
        for clients in LEVELS:
            out[str(clients)] = load(url, files, clients, requests)
            log.info("serve %d clients: %s", clients, out[str(clients)])
        jpegs = [data for _, data in files]
        out["stream_30fps"] = stream_load(url, jpegs, 30.0, stream_seconds)  # a webcam
        out["stream_max"] = stream_load(url, jpegs, None, stream_seconds)  # as fast as the client can send
    out["workers"] = ServeSettings().workers
    out["p99_over_p50_at_16"] = (round(out["16"]["p99_ms"] / out["16"]["p50_ms"], 2)
                                 if out["16"]["p50_ms"] else None)
    return out
