"""Peak memory of `actcap serve` under the worst POST /predict its limits allow: `--max-frames` PNG images at
the default `--max-pixels` (3840x2160, 4K UHD; all zeros, so the body is small), alone and several at once.

    .venv/bin/python studies/upload_memory.py                       # defaults: 64 frames of 3840x2160, 1 and 4 at once
    .venv/bin/python studies/upload_memory.py --concurrent 1 8 --model runs/utd5
    .venv/bin/python studies/upload_memory.py --noise 2     # 2 of the frames random: a 26 MB body, near the limit

Each scenario starts a fresh server (the peak, VmHWM, only grows), waits for /health, and reads the server
process's VmRSS / VmHWM from /proc/PID/status: idle, peak during the requests, and resident after them.
Linux only (reads /proc). Prints one table row per scenario; docs/api.md quotes the figures.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
from PIL import Image


def status_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak resident set) of a process, in MB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024  # kB → MB
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, model: str | None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "actcap", "serve", "--port", str(port)] + (["--model", model] if model else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"`{' '.join(cmd)}` exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"`{' '.join(cmd)}` was not ready after 300 s")


def png(size: tuple[int, int], seed: int | None = None) -> bytes:
    """A (width, height) PNG: all zeros (a few kB), or seeded noise (incompressible: 3 bytes a pixel)."""
    shape = (size[1], size[0], 3)  # (H, W, 3)
    rgb = (np.zeros(shape, np.uint8) if seed is None
           else np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8))
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG", compress_level=6 if seed is None else 1)  # noise: no gain from 6
    return buf.getvalue()


def scenario(concurrent: int, frames: int, size: tuple[int, int], noise: int, model: str | None) -> str:
    images = [png(size, seed=i) if i < noise else png(size) for i in range(frames)]
    files = [("frames[]", (f"frame_{i + 1}.png", data, "image/png")) for i, data in enumerate(images)]
    port = free_port()
    proc = start_server(port, model)
    try:
        idle = status_mb(proc.pid)["VmRSS"]

        def post(_) -> int:
            return httpx.post(f"http://127.0.0.1:{port}/predict", files=files, timeout=600).status_code

        with ThreadPoolExecutor(concurrent) as pool:
            codes = sorted(set(pool.map(post, range(concurrent))))
        time.sleep(1.0)  # let the worker threads return what they freed
        after = status_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    body_mb = sum(map(len, images)) / 1e6
    kind = f"{frames} x {size[0]}x{size[1]} PNG" + (f" ({noise} random)" if noise else " (zeros)")
    return (f"| {concurrent} | {kind} | {body_mb:.2f} | {','.join(map(str, codes))} | "
            f"{idle:.0f} | {after['VmHWM']:.0f} | {after['VmRSS']:.0f} |")


def _size(text: str) -> tuple[int, int]:
    """'3840x2160' → (3840, 2160)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 3840x2160; got {text!r}") from None
    return w, h


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=64, help="images per request (the service's max_frames)")
    p.add_argument("--size", type=_size, default=(3840, 2160),
                   help="image WIDTHxHEIGHT in pixels (default 3840x2160: the default max_pixels)")
    p.add_argument("--concurrent", type=int, nargs="+", default=[1, 4], help="requests sent at once, per scenario")
    p.add_argument("--noise", type=int, default=0, help="frames of random pixels (a large body), the rest zeros")
    p.add_argument("--model", help="run directory (default: the shipped model)")
    args = p.parse_args(argv)
    if not os.path.isdir("/proc/self"):
        sys.exit("this benchmark reads /proc/PID/status: Linux only")
    print("| requests at once | each request | body MB each | status | idle RSS MB | peak RSS MB (VmHWM) | "
          "RSS after MB |")
    print("|---|---|---|---|---|---|---|")
    for n in args.concurrent:
        print(scenario(n, args.frames, args.size, args.noise, args.model), flush=True)


if __name__ == "__main__":
    main()
