"""Latency of 16 clients predicting at once, with and without a teach job running in the same server.

    python studies/teach_load.py [--data ../shared/data/utd-mhad-5] [--clients 16] [--seconds 20] [--json out.json]

A real uvicorn server (this checkout's code, the shipped model, a temporary ACTCAP_HOME) on a free port of
127.0.0.1; each client thread POSTs /predict with the same 8 JPEG frames of a UTD-MHAD clip, one request after
another, for `--seconds`. Phase "idle": no job. Phase "teaching": a POST /teach (base=none, the 5 actions of
subjects 1-2, 40 clips) is queued first and the clients run while it does (the job's own duration and whether
it outlasted the window are reported). Prints p50/p95 latency and requests per second for each phase.
To compare with other code (e.g. before a change), run the same script with PYTHONPATH at that checkout.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import httpx

sys.path.insert(0, str(Path.cwd()))  # PYTHONPATH or the current checkout decides which actcap is measured

SUBJECT = re.compile(r"_s(\d+)_")


def frames_of(clip: Path, n: int = 8) -> list[tuple[str, tuple[str, bytes, str]]]:
    cap = cv2.VideoCapture(str(clip))
    frames = []
    while len(frames) < 40:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    picked = [frames[i * len(frames) // n] for i in range(n)]
    return [("frames[]", (f"f{i:02d}.jpg", cv2.imencode(".jpg", f)[1].tobytes(), "image/jpeg"))
            for i, f in enumerate(picked)]


def clients(url: str, files, count: int, seconds: float) -> dict:
    """`count` threads, each POSTing /predict back to back for `seconds`; latencies in ms."""
    latencies: list[float] = []
    errors = []
    stop = time.perf_counter() + seconds

    def one() -> None:
        with httpx.Client(base_url=url, timeout=120) as c:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                r = c.post("/predict", files=files)
                if r.status_code == 200:
                    latencies.append(1000 * (time.perf_counter() - t0))
                else:
                    errors.append(r.status_code)

    threads = [threading.Thread(target=one) for _ in range(count)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    q = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else [float("nan")] * 19
    return {"requests": len(latencies), "errors": len(errors), "p50_ms": round(statistics.median(latencies), 1),
            "p95_ms": round(q[18], 1), "per_s": round(len(latencies) / wall, 2)}


def teach_form(data: Path) -> tuple[dict, list]:
    examples = [(d.name, f) for d in sorted(p for p in data.iterdir() if p.is_dir()) for f in sorted(d.glob("*.avi"))
                if SUBJECT.search(f.name).group(1) in ("1", "2")]
    files = [("videos[]", (f.name, f.read_bytes(), "video/x-msvideo")) for _, f in examples]
    return {"name": "load", "base": "none", "labels[]": [lab for lab, _ in examples]}, files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/utd-mhad-5"))
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    import uvicorn

    from actcap.serve import ServeSettings, create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = Path(tempfile.mkdtemp(prefix="actcap-teach-load-"))
    server = uvicorn.Server(uvicorn.Config(create_app(ServeSettings(home=home)), host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.1)
    url = f"http://127.0.0.1:{port}"
    files = frames_of(next((args.data / "wave").glob("*.avi")))
    clients(url, files, 2, 2.0)  # warm-up
    out = {"clients": args.clients, "seconds": args.seconds, "idle": clients(url, files, args.clients, args.seconds)}
    data, videos = teach_form(args.data)
    r = httpx.post(f"{url}/teach", data=data, files=videos, timeout=600)
    job, t0 = r.json()["job"], time.perf_counter()
    while httpx.get(f"{url}/jobs/{job}").json()["state"] == "queued":
        time.sleep(0.1)
    out["teaching"] = clients(url, files, args.clients, args.seconds)
    window_end = time.perf_counter()
    while (state := httpx.get(f"{url}/jobs/{job}").json())["state"] in ("queued", "running"):
        time.sleep(0.5)
    out["job"] = {"state": state["state"], "seconds": round(time.perf_counter() - t0, 1),
                  "outlasted_window": time.perf_counter() - 0.5 > window_end, "examples": len(videos)}
    server.should_exit = True
    for phase in ("idle", "teaching"):
        print(f"{phase:>9}: {out[phase]}")
    print(f"      job: {out['job']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
