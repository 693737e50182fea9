"""Processes sharing one feature cache: per-clip locks, so each clip is extracted once and nothing is corrupt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from actcap.features.cache import FeatureCache
from actcap.features.locks import claim_free, claim_waiting, create_lock
from actcap.features.streams import create_stream

ROOT = Path(__file__).resolve().parents[1]


def _entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.glob("features/flow-*/*.npz") if not p.name.startswith("."))


def test_two_processes_on_one_cache_extract_each_clip_once(motion_dataset, tmp_path):
    """Two real `actcap extract` processes started together on the same cache (what two `actcap train` runs
    do first): between them every clip is extracted exactly once, whichever way they interleave."""
    cache = tmp_path / "cache"
    cmd = [sys.executable, "-m", "actcap", "extract", "--data", str(motion_dataset), "--streams", "flow",
           "--cache-dir", str(cache), "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    reports = [json.loads(out) for out, _ in outs]
    assert sum(r["extracted"] for r in reports) == 12
    assert all(r["extracted"] + r["cached"] == 12 for r in reports)
    assert len(_entries(cache)) == 12
    for p in _entries(cache):
        with np.load(p) as z:
            assert z["features"].dtype == np.float16 and len(z["indices"]) == int(z["num_frames"])
    assert not list(cache.rglob("*.tmp*"))
    manifest = json.loads(next(cache.glob("features/flow-*/manifest.json")).read_text())
    assert manifest["max_frames"] == 64 and manifest["stream"]["name"] == "flow"


def test_a_held_item_is_deferred_then_skipped_if_its_holder_finished_it(tmp_path):
    locks = {k: create_lock(tmp_path / f"{k}.lock") for k in "abc"}
    other = create_lock(tmp_path / "b.lock")  # another holder (its own descriptor: flock sees two owners)
    other.acquire()
    finished: set[str] = set()
    deferred: list = []
    first = []
    for item, lock in claim_free("abc", locks.get, finished.__contains__, deferred):
        first.append(item)
        finished.add(item)
        lock.release()
    assert first == ["a", "c"] and [d[0] for d in deferred] == ["b"]
    finished.add("b")  # the other holder finished b, then let go
    other.release()
    assert list(claim_waiting(deferred, finished.__contains__)) == []


def test_a_held_item_whose_holder_died_is_done_by_the_waiter(tmp_path):
    other = create_lock(tmp_path / "b.lock")
    other.acquire()
    deferred: list = []
    assert [i for i, lock in claim_free("b", lambda k: create_lock(tmp_path / f"{k}.lock"), lambda k: False,
                                        deferred)] == []
    other.release()  # what the kernel does when the holder dies, without it finishing b
    claimed = list(claim_waiting(deferred, lambda k: False))
    assert [i for i, _ in claimed] == ["b"]
    claimed[0][1].release()


def test_a_clip_another_process_cached_is_loaded_not_extracted(motion_dataset, tmp_path):
    clips = sorted(motion_dataset.rglob("*.avi"))[:3]
    first = FeatureCache(tmp_path / "cache", [create_stream("flow")])
    first.extract(clips[:1], progress=False)
    second = FeatureCache(tmp_path / "cache", [create_stream("flow")])
    feats, skipped = second.extract(clips, progress=False)
    assert skipped == [] and second.counts["extracted"] == 2 and second.counts["cached"] == 1
    again = first.get(clips[0])
    assert np.array_equal(feats[clips[0]].features, again.features)


def test_skipped_clips_from_two_runs_are_merged_not_overwritten(tmp_path):
    (tmp_path / "a.avi").write_bytes(b"not a video")
    (tmp_path / "b.avi").write_bytes(b"nor this")
    for name in ("a.avi", "b.avi"):
        FeatureCache(tmp_path / "cache", [create_stream("flow")]).extract([tmp_path / name], progress=False)
    recorded = json.loads((tmp_path / "cache" / "skipped.json").read_text())
    assert sorted(recorded) == [str(tmp_path / "a.avi"), str(tmp_path / "b.avi")]
    assert not list((tmp_path / "cache").rglob("*.tmp*"))


def test_extract_on_a_missing_folder_is_a_one_line_error(tmp_path, capsys):
    from actcap.cli import main

    assert main(["extract", "--data", str(tmp_path / "nope"), "--no-progress"]) == 2
    assert capsys.readouterr().err == (f"error: data folder {tmp_path / 'nope'} does not exist; expected "
                                       f"{tmp_path / 'nope'}/<class>/<clip>.avi or "
                                       f"{tmp_path / 'nope'}/<class>/<clip>/<frame>.jpg\n")
