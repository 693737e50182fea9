"""Load test of the real HTTP service for `actcap bench`: `actcap serve` in its own process on 127.0.0.1,
httpx clients posting 16 JPEG frames each to POST /predict (field `frames[]`) at 1, 4 and 16 concurrent
clients, then one live client sending JPEG frames to WebSocket /stream at 30 and 100 frames/s.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from actcap.config import DEFAULT_NUM_SLOTS

log = logging.getLogger(__name__)
LEVELS = (1, 4, 16)
LIVE_RATES = (30, 100)  # frames/s one live client sends


UPLOADS = 8
"""Different uploads the clients take turns with: the server remembers the landmarks of its last few uploads by
content (pose/tracker.py `estimate_poses`, 4), so one upload repeated would time that memory, not the model."""


def jpeg_frames(clip_path: Path, n: int = DEFAULT_NUM_SLOTS, offset: int = 0, mirror: bool = False
                ) -> list[tuple[str, bytes]]:
    """n frames of a clip (evenly spaced, from frame `offset`; left-right `mirror`ed if asked) as JPEG files named
    frame_01.jpg …, ready for a multipart upload."""
    import cv2

    from actcap.data.sampling import uniform_indices
    from actcap.data.video import open_clip

    clip = open_clip(clip_path)
    offset = min(offset, max(0, len(clip) - n))
    out = []
    for k, f in enumerate(clip.read([i + offset for i in uniform_indices(len(clip) - offset, n)]), start=1):
        bgr = cv2.cvtColor(f[:, ::-1] if mirror else f, cv2.COLOR_RGB2BGR)
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
        out.append((f"frame_{k:02d}.jpg", buf.tobytes()))
    return out


def distinct_uploads(clip_path: Path, count: int = UPLOADS) -> list[list[tuple[str, bytes]]]:
    """`count` uploads of 16 frames each, no two the same (different first frames; mirrored copies when the clip
    is too short for that)."""
    seen, out = set(), []
    for k in range(count):
        for mirror in (False, True):  # a clip of fewer than 16 + count frames: the same frames again, mirrored
            files = jpeg_frames(clip_path, offset=k, mirror=mirror)
            key = tuple(data for _, data in files)
            if key not in seen:
                seen.add(key)
                out.append(files)
                break
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`actcap serve` in its own process (as users run it: the clients here never share its GIL), for the
    length of a `with` block; `peak_rss_mb` is its memory high-water mark."""

    def __init__(self, model_dir: Path, port: int, engine: str | None = None):
        cmd = [sys.executable, "-m", "actcap", "serve", "--model", str(model_dir), "--port", str(port)]
        self.cmd = cmd + (["--engine", engine] if engine else [])
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None
        self.peak_rss_mb: float | None = None

    def __enter__(self) -> Server:
        import httpx

        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300  # the model loads (and ONNX exports on a first run) at start-up
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"`{' '.join(self.cmd)}` exited with {self.proc.returncode}: "
                                   f"{self.proc.stderr.read()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"`{' '.join(self.cmd)}` did not answer /health within 300 s")
            time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        status = Path(f"/proc/{self.proc.pid}/status")
        if status.is_file():  # Linux: VmHWM is the peak resident set
            line = next((x for x in status.read_text().splitlines() if x.startswith("VmHWM:")), None)
            self.peak_rss_mb = round(int(line.split()[1]) / 1024, 1) if line else None
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()


def load(url: str, uploads: list[list[tuple[str, bytes]]], clients: int, requests: int) -> dict:
    """`requests` POSTs spread over `clients` concurrent clients, taking turns with the `uploads`; latency
    percentiles, throughput, errors."""
    import httpx

    per_client = max(2, requests // clients)
    parts = [[("frames[]", (name, data, "image/jpeg")) for name, data in files] for files in uploads]
    latencies, errors = [], []

    def client(c):
        with httpx.Client(timeout=120) as http:
            for k in range(per_client):
                t = time.perf_counter()
                try:
                    r = http.post(f"{url}/predict", files=parts[(c * per_client + k) % len(parts)])
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


def stream_load(url: str, frames: list[bytes], fps: float, seconds: float, patience_s: float = 300) -> dict:
    """One live client on /stream sending JPEG frames at `fps` for `seconds`, then "flush": frames sent
    per second (never more than `fps`), frames the server processed per second and predictions received
    per second (both up to the prediction that covers the last frame), latency and drops.

    Waiting for that last prediction, rather than a fixed moment, keeps the figures meaningful on a loaded
    machine; `patience_s` only stops a server that never answers from hanging the benchmark."""
    from websockets.sync.client import connect

    ws_url = url.replace("http://", "ws://") + "/stream"
    updates, arrived = [], threading.Condition()
    with connect(ws_url, max_size=None) as ws:
        ws.recv()  # ready

        def receive():
            for message in ws:
                m = json.loads(message)
                if m.get("type") == "prediction":
                    with arrived:
                        updates.append(m)
                        arrived.notify()

        reader = threading.Thread(target=receive, daemon=True)
        reader.start()
        t0, sent = time.perf_counter(), 0
        while time.perf_counter() - t0 < seconds:
            ws.send(frames[sent % len(frames)])
            sent += 1
            time.sleep(max(0.0, t0 + sent / fps - time.perf_counter()))  # so the n-th frame goes at n/fps or later
        wall = time.perf_counter() - t0
        ws.send("flush")  # the frames still queued get their prediction now
        with arrived:
            # every frame sent was either processed (frames_received) or dropped for a newer one
            if not arrived.wait_for(lambda: updates and updates[-1]["frames_received"]
                                    + updates[-1]["frames_dropped"] >= sent, timeout=patience_s):
                raise RuntimeError(f"/stream: no prediction covering the {sent} frames sent came within "
                                   f"{patience_s:g} s of the end; the server is stuck or far too slow")
            done, got = time.perf_counter() - t0, list(updates)
        ws.close()
        reader.join(timeout=5)
    return {"sent_fps": round(sent / wall, 1), "processed_fps": round(got[-1]["frames_received"] / done, 1),
            "updates_per_s": round(len(got) / done, 1),
            "latency_p50_ms": round(float(np.median([m["latency_ms"] for m in got])), 1),
            "frames_dropped": got[-1]["frames_dropped"]}


def bench_serve(model_dir: Path, clip_path: Path, requests: int = 48, engine: str | None = None,
                stream_seconds: float = 4.0) -> dict:
    """Figures per concurrency level and for one live client, measured against `actcap serve` run as a
    separate process with default settings."""
    import httpx

    from actcap.serve.settings import ServeSettings

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request would drown the report
    uploads = distinct_uploads(clip_path)
    files = uploads[0]
    out = {}
    with Server(model_dir, free_port(), engine) as server:
        url = server.url
        httpx.post(f"{url}/predict", files=[("frames[]", (n, d, "image/jpeg")) for n, d in files], timeout=300)
        for clients in LEVELS:
            out[str(clients)] = load(url, uploads, clients, requests)
            log.info("serve %d clients: %s", clients, out[str(clients)])
        jpegs = [data for _, data in files]
        for fps in LIVE_RATES:  # a webcam, and the rate the streaming target names
            out[f"stream_{fps}fps"] = stream_load(url, jpegs, float(fps), stream_seconds)
    out["server_peak_rss_mb"] = server.peak_rss_mb
    out["workers"] = ServeSettings().workers
    out["p99_over_p50_at_16"] = (round(out["16"]["p99_ms"] / out["16"]["p50_ms"], 2)
                                 if out["16"]["p50_ms"] else None)
    return out
