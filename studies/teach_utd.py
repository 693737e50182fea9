"""Teach through the HTTP API on real UTD-MHAD clips, and measure what the taught models get right.

    python studies/teach_utd.py [--data ../shared/data/utd-mhad-5] [--footage DIR] [--pan PX] [--json FILE]

1. POST /teach the 5 actions from subjects 1-2 only (8 clips each, base=none), once with people[] = subject and
   once without, wait for the job, then POST /predict every clip of subjects 3-6 with model=NAME: the share
   answered `state == "action"` with the right label (what a user sees as right), top-1, the job's own check
   (`answered`, and whether it says it is optimistic) and how long the job took. With --footage, every video
   in DIR too (docs/model-card.md, "Footage of other actions": they should all be `unknown`). With --pan, the
   clips of subjects 3-6 again, re-filmed by a camera panning PX pixels per frame (studies/camera_motion.py's
   90% crop window moving sideways), written as MJPG at quality 100 and uploaded the same way.
2. Extend: a base made of the shipped examples without `throw` (same features, the shipped training
   settings), then POST /teach `throw` on top of it (base=default) from 4 clips of subject 1; report throw
   recall on subjects 2-6 and the other actions' accuracy on subjects 2-6 (who were in the base's training
   set for those four actions: this checks that adding throw did not break them).
3. Duplicates: POST /teach `hello` from subject 1's waves on top of the shipped model (base=default): the job
   must stop before training with a warning naming `wave` (state failed, `warnings`).

The app runs in this process (FastAPI's TestClient speaks HTTP to it); ACTCAP_HOME is a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "studies"))

from fastapi.testclient import TestClient  # noqa: E402

from actcap.models.store import SHIPPED_DIR  # noqa: E402
from actcap.serve import ServeSettings, create_app  # noqa: E402
from actcap.teach.examples import EXAMPLES_FILE, load_examples, save_examples  # noqa: E402

SUBJECT = re.compile(r"_s(\d+)_")


def clips(data: Path, subjects: set[str], labels: set[str] | None = None) -> list[tuple[str, Path, str]]:
    out = []
    for d in sorted(p for p in data.iterdir() if p.is_dir()):
        for f in sorted(d.glob("*.avi")):
            s = SUBJECT.search(f.name).group(1)
            if s in subjects and (labels is None or d.name in labels):
                out.append((d.name, f, s))
    return out


def teach(client: TestClient, name: str, examples, base: str, ok: bool = True) -> tuple[dict, float]:
    files = [("videos[]", (p.name, p.read_bytes(), "video/x-msvideo")) for _, p, _ in examples]
    data = {"name": name, "base": base, "labels[]": [lab for lab, _, _ in examples]}
    if all(s for _, _, s in examples):
        data["people[]"] = [s for _, _, s in examples]
    t0 = time.perf_counter()
    r = client.post("/teach", data=data, files=files)
    if r.status_code != 202:
        raise SystemExit(f"POST /teach: {r.status_code} {r.text}")
    job = r.json()["job"]
    while (got := client.get(f"/jobs/{job}").json())["state"] not in ("done", "failed"):
        time.sleep(0.5)
    seconds = time.perf_counter() - t0
    if got["state"] != "done" and ok:
        raise SystemExit(f"job failed: {got['message']}")
    return got, seconds


def predict(client: TestClient, name: str, examples, states: Counter) -> list[tuple[str, str]]:
    """(true label, top class) per clip; `states` counts the answers' state (action, unknown, idle)."""
    return [(label, q) for label, q, _ in answers(client, name, examples, states)]


def answers(client: TestClient, name: str, examples, states: Counter) -> list[tuple[str, str, str]]:
    """(true label, top class, state) per clip."""
    out = []
    for label, path, _ in examples:
        r = client.post("/predict", data={"model": name}, files={"video": (path.name, path.read_bytes())}).json()
        out.append((label, r["prediction"], r.get("state", "action")))
        states[r.get("state", "action")] += 1
    return out


def panned(examples, px: float, folder: Path) -> list[tuple[str, Path, str]]:
    """The clips re-filmed by a camera panning `px` pixels per frame, as MJPG AVIs at quality 100 in `folder`."""
    import cv2
    import numpy as np
    from camera_motion import refilm

    from actcap.data.video import open_clip

    out = []
    for label, path, s in examples:
        frames = open_clip(path).read_all()
        t = len(frames)
        moved = refilm(frames, np.stack([px * (np.arange(t) - t / 2), np.zeros(t)], 1))
        dest = folder / path.name
        writer = cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, frames.shape[2:0:-1])
        writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 100)
        for frame in moved:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        writer.release()
        out.append((label, dest, s))
    return out


def five_actions(client: TestClient, data: Path, footage: list[Path], people: bool, pan: float = 0.0) -> dict:
    name = f"utd_s12_{'people' if people else 'nobody'}"
    train = clips(data, {"1", "2"})
    job, seconds = teach(client, name, train if people else [(lab, p, "") for lab, p, _ in train], "none")
    states: Counter = Counter()
    got = answers(client, name, clips(data, {"3", "4", "5", "6"}), states)
    m = job["metrics"]
    right = sum(t == q and s == "action" for t, q, s in got) / len(got)
    other: Counter = Counter()
    answers(client, name, [("", f, "") for f in footage], other)
    moving = {}
    if pan:
        with tempfile.TemporaryDirectory() as folder:
            got_pan = answers(client, name, panned(clips(data, {"3", "4", "5", "6"}), pan, Path(folder)), Counter())
        moving = {"pan_px_per_frame": pan,
                  "action_and_right_s3_s6_panned": sum(t == q and s == "action" for t, q, s in got_pan) / len(got_pan)}
    return {**moving, "people_given": people, "train_clips": m["examples"], "job_seconds": round(seconds, 1),
            "job_stages_seconds": m["seconds"], "check": m["method"], "check_answered": m["answered"],
            "check_top1": m["top1"], "check_optimistic": m["optimistic"], "check_summary": m["summary"],
            "open_set_rule": m["open_set_rule"], "test_clips": len(got), "action_and_right_s3_s6": right,
            "check_minus_measured": round(m["answered"] - right, 3),
            "top1_s3_s6": sum(t == q for t, q, _ in got) / len(got),
            "recall_s3_s6": {c: recall([(t, q) for t, q, _ in got], c) for c in sorted({t for t, _, _ in got})},
            "confusions": dict(Counter(f"{t}->{q}" for t, q, _ in got if t != q)), "states": dict(states),
            "footage_clips": len(footage), "footage_states": dict(other)}


def recall(pairs, label: str) -> float:
    hits = [p == t for t, p in pairs if t == label]
    return sum(hits) / len(hits)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "utd-mhad-5")
    p.add_argument("--footage", type=Path, help="a folder of videos of other actions (each should be unknown)")
    p.add_argument("--json", type=Path, help="also write the figures here")
    p.add_argument("--pan", type=float, default=0.0, help="also predict subjects 3-6 panned this many px/frame")
    args = p.parse_args()
    home = Path(tempfile.mkdtemp(prefix="actcap-bench-home-"))
    base = home / "base-without-throw"
    base.mkdir()
    config = json.loads((SHIPPED_DIR / "config.json").read_text())
    (base / "config.json").write_text(json.dumps({**config, "classes": [c for c in config["classes"] if c != "throw"]}))
    save_examples(load_examples(SHIPPED_DIR / EXAMPLES_FILE).without({"throw"}), base / EXAMPLES_FILE)
    result = {}
    try:
        with TestClient(create_app(ServeSettings(home=home / "home", base_model=base)),
                        base_url="http://127.0.0.1") as client:
            footage = sorted(f for f in args.footage.iterdir() if f.is_file()) if args.footage else []
            result["five_actions_from_s1_s2"] = []
            for people in (True, False):
                result["five_actions_from_s1_s2"].append(five_actions(client, args.data, footage, people, args.pan))
                print(json.dumps(result["five_actions_from_s1_s2"][-1], indent=2), flush=True)
            throw = clips(args.data, {"1"}, {"throw"})
            job, seconds = teach(client, "plus_throw", throw, "default")
            others = clips(args.data, {"2", "3", "4", "5", "6"})
            states = Counter()
            pairs = predict(client, "plus_throw", others, states)
            rest = [(t, q) for t, q in pairs if t != "throw"]
            result["throw_on_top_of_base"] = {
                "throw_clips": len(throw), "base_clips": job["metrics"]["base_examples"],
                "job_seconds": round(seconds, 1), "classes": job["metrics"]["classes"],
                "throw_recall_s2_s6": recall(pairs, "throw"),
                "others_accuracy_s2_s6": sum(t == q for t, q in rest) / len(rest),
                "recall_s2_s6": {c: recall(pairs, c) for c in sorted({t for t, _ in pairs})},
                "confusions": dict(Counter(f"{t}->{q}" for t, q in pairs if t != q)), "states": dict(states)}
            other: Counter = Counter()
            answers(client, "plus_throw", [("", f, "") for f in footage], other)
            result["throw_on_top_of_base"]["footage_states"] = dict(other)
        # the base above has no weights (examples and config only), so it can be compared by name only: the
        # duplicate check that runs the base model needs the shipped one
        with TestClient(create_app(ServeSettings(home=home / "home2")), base_url="http://127.0.0.1") as client:
            hello = [("hello", p, s) for _, p, s in clips(args.data, {"1"}, {"wave"})]
            job, seconds = teach(client, "hello", hello, "default", ok=False)
            result["hello_on_top_of_shipped"] = {"state": job["state"], "warnings": job["warnings"],
                                                 "job_seconds": round(seconds, 1)}
    finally:
        shutil.rmtree(home, ignore_errors=True)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
