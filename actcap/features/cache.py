"""Per-frame stream features, extracted once to disk and reused.

    cache/features/<stream>-<key>/manifest.json     what the key stands for (readable on a mismatch)
    cache/features/<stream>-<key>/<clip-id>.npz      features (L, dim) float16, frame indices, frame count
    cache/features/<stream>-<key>/skipped.json       clips that could not be decoded, with the reason

The key hashes everything that changes the features: the stream's config (backbone, weights,
preprocessing, flow grid…), how many frames per clip are kept (`cache_frames`; its published key in the hash
and the manifest stays `max_frames`, so caches already on disk stay valid) and the cache format.
A clip id hashes its absolute path, size and modification time, so a re-encoded file is re-extracted.
Every entry and the manifest are written to a temporary file and renamed, so Ctrl-C or kill -9 never
leaves a corrupt entry: a resumed run simply extracts what is missing. Processes sharing a cache (two
trainings, or the ranks of `torchrun ... actcap extract`) lock each clip while they extract it
(cache/features/locks/<clip-id>.lock), so each clip is extracted once. Decoding runs in a thread ahead
of the CNN.

ACTCAP_TEST_KILL_AFTER=K (with ACTCAP_TEST_KILL_RANK=R, default any rank) makes the process kill itself
with SIGKILL while writing its (K+1)-th entry: the tests use it to check that death corrupts nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from actcap.config import DEFAULT_CACHE_FRAMES
from actcap.data.keypoints import is_keypoint_ref
from actcap.data.sampling import kept_indices, previous_indices
from actcap.data.video import VideoError, open_clip
from actcap.features.keypoints import keypoint_features
from actcap.features.locks import claim_free, claim_waiting, create_lock
from actcap.features.streams.base import Stream
from actcap.fileio import atomic_path, atomic_write_text

log = logging.getLogger(__name__)
CACHE_FORMAT = 1


class CacheMismatchError(ValueError):
    """A cache folder's manifest does not describe what its key says (a collision or a hand edit)."""


@dataclass
class ClipFeatures:
    features: np.ndarray  # (L, D) float32, one row per kept source frame
    frame_indices: np.ndarray  # (L,) indices into the source clip
    num_source_frames: int


def read_for(streams, clip, indices: list[int]) -> tuple[np.ndarray, np.ndarray | None]:
    """Frames at `indices`, plus the frame before each only when a stream compares frames (flow)."""
    if any(s.uses_previous for s in streams):
        return read_with_previous(clip, indices)
    return clip.read(indices), None


def read_with_previous(clip, indices: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Frames at `indices` and the source frame just before each (the first frame is its own)."""
    prev = previous_indices(indices)
    wanted = sorted(set(indices) | set(prev))
    frames = clip.read(wanted)  # (U, H, W, 3)
    row = {i: k for k, i in enumerate(wanted)}
    return frames[[row[i] for i in indices]], frames[[row[i] for i in prev]]


def stream_key(stream: Stream, cache_frames: int) -> str:
    blob = json.dumps({"stream": stream.cache_config(), "max_frames": cache_frames, "format": CACHE_FORMAT},
                      sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def clip_id(path: Path) -> str:
    st = path.stat()
    if path.is_dir():  # a frame folder changes when its files do
        files = sorted(p for p in path.iterdir() if p.is_file())
        sig = "|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    else:
        sig = f"{st.st_size}:{st.st_mtime_ns}"
    # surrogateescape: a name that is not valid UTF-8 (Latin-1 bytes from an old camera) hashes by its bytes;
    # valid names hash exactly as before, so existing caches stay valid
    return hashlib.sha1(f"{path.resolve()}|{sig}".encode("utf-8", "surrogateescape")).hexdigest()[:20]


class FeatureCache:
    def __init__(self, root: str | Path, streams: list[Stream], cache_frames: int = DEFAULT_CACHE_FRAMES):
        if cache_frames < 1:
            raise ValueError(f"cache_frames must be >= 1; got {cache_frames}")
        self.root, self.streams, self.cache_frames = Path(root), streams, cache_frames
        self.dirs = [self.root / "features" / f"{s.name}-{stream_key(s, cache_frames)}" for s in streams]
        for s, d in zip(streams, self.dirs):
            self._check_manifest(s, d)
        self.counts: Counter = Counter()  # clips extracted / loaded / skipped by this process
        self._kill_after = _kill_after()

    def _check_manifest(self, stream: Stream, d: Path) -> None:
        # through JSON, so tuples compare equal to the lists they are read back as
        manifest = json.loads(json.dumps({"stream": stream.cache_config(), "max_frames": self.cache_frames,
                                          "format": CACHE_FORMAT}))
        path = d / "manifest.json"
        if path.is_file():
            found = json.loads(path.read_text())
            if found != manifest:  # a hash collision or a hand-edited folder: refuse silent reuse
                raise CacheMismatchError(f"feature cache {d} holds {found}, not {manifest}; "
                                         "delete the folder to rebuild it")
        else:
            d.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(manifest, indent=2) + "\n")  # a concurrent reader sees all or none

    def _entry(self, d: Path, cid: str) -> Path:
        return d / f"{cid}.npz"

    def _load(self, path: Path) -> ClipFeatures | None:
        try:
            with np.load(path, allow_pickle=False) as z:
                return ClipFeatures(z["features"].astype(np.float32), z["indices"], int(z["num_frames"]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            log.warning("ignoring unreadable cache entry %s (%s); it will be rebuilt", path, e)
            return None

    def _save(self, path: Path, cf: ClipFeatures, source: Path) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:  # an interrupted write never looks like an entry
            np.savez(f, features=cf.features.astype(np.float16), indices=cf.frame_indices,
                     num_frames=np.int64(cf.num_source_frames), source=np.str_(str(source)))
            if self._kill_after is not None and self.counts["extracted"] == self._kill_after:
                f.flush()
                os.kill(os.getpid(), signal.SIGKILL)  # test hook: die mid-write, leaving the temporary file

    def get(self, path: Path) -> ClipFeatures | None:
        """Concatenated features of every stream for one clip, or None if any stream lacks it."""
        cid = clip_id(path)
        parts = [self._load(self._entry(d, cid)) if self._entry(d, cid).is_file() else None for d in self.dirs]
        if any(p is None for p in parts):
            return None
        feats = np.concatenate([p.features for p in parts], axis=1)  # (L, ΣD)
        return ClipFeatures(feats, parts[0].frame_indices, parts[0].num_source_frames)

    def extract(self, paths: list[Path], progress: bool = True, workers: int = 2
                ) -> tuple[dict[Path, ClipFeatures], list[tuple[str, str]]]:
        """Features for every path (extracting what is missing) and the list of (path, reason) skipped."""
        results: dict[Path, ClipFeatures] = {}
        refs = [p for p in paths if is_keypoint_ref(p)]  # clips of a keypoint file: features from their joints
        for p, (feats, idx, n) in keypoint_features(refs, self.streams, self.cache_frames).items():
            results[p] = ClipFeatures(feats, idx, n)
        paths = [p for p in paths if p not in results]
        todo = []
        for p in paths:
            cf = self.get(p)
            if cf is None:
                todo.append(p)
            else:
                results[p] = cf
        self.counts["cached"] += len(results) - len(refs)
        skipped: list[tuple[str, str]] = []
        if todo:
            log.info("extracting features for %d of %d clips (%d cached)", len(todo), len(paths), len(results))
            self._extract_missing(todo, results, skipped, progress, workers)
        if skipped:
            self._record_skipped(skipped)
        return results, skipped

    def _decode(self, path: Path):
        clip = open_clip(path)
        n = len(clip)
        idx = kept_indices(n, self.cache_frames)
        frames, prev = read_for(self.streams, clip, idx)
        return n, idx, frames, prev

    def _lock(self, path: Path):
        return create_lock(self.root / "features" / "locks" / f"{clip_id(path)}.lock")

    def _done(self, results: dict):
        """done(path) for the claims: True (and the features kept) if another process cached the clip."""
        def done(path: Path) -> bool:
            cf = self.get(path)
            if cf is not None:
                results[path] = cf
                self.counts["cached"] += 1
                return True
            self._remove_stale(clip_id(path))  # we hold the clip: leftovers of a killed writer are garbage
            return False

        return done

    def _remove_stale(self, cid: str) -> None:
        for d in self.dirs:
            for tmp in d.glob(f".{cid}.npz.*.tmp"):
                tmp.unlink(missing_ok=True)

    def _extract_missing(self, todo, results, skipped, progress, workers) -> None:
        bar = tqdm(total=len(todo), desc="features", unit="clip", disable=not progress)
        done, deferred = self._done(results), []
        # clips nobody else holds, decoded ahead; then, one at a time, those another process had
        self._pipeline(claim_free(todo, self._lock, done, deferred), workers, results, skipped, bar)
        self._pipeline(claim_waiting(deferred, done), 0, results, skipped, bar)
        bar.close()

    def _pipeline(self, claims, ahead: int, results, skipped, bar) -> None:
        n_frames, t0 = 0, time.perf_counter()
        held = []  # (path, lock, decode future) in order; up to `ahead` clips decode while the CNN runs
        with ThreadPoolExecutor(max_workers=max(1, ahead)) as pool:
            try:
                for path, lock in claims:
                    held.append((path, lock, pool.submit(self._decode, path)))
                    while len(held) > ahead:
                        n_frames += self._finish_one(*held.pop(0), results, skipped)
                        bar.update(1)
                        bar.set_postfix(frames_per_s=f"{n_frames / (time.perf_counter() - t0):.1f}")
                while held:
                    n_frames += self._finish_one(*held.pop(0), results, skipped)
                    bar.update(1)
            finally:
                for _, lock, fut in held:
                    fut.cancel()
                    lock.release()

    def _finish_one(self, path: Path, lock, fut, results, skipped) -> int:
        """Run the streams on one decoded clip, save its entries and release its lock; frames processed."""
        try:
            try:
                n, idx, frames, prev = fut.result()
            except VideoError as e:
                skipped.append((str(path), e.reason))
                self.counts["skipped"] += 1
                log.warning("skipping %s: %s", path, e.reason)
                return 0
            cid = clip_id(path)
            parts = []
            for stream, d in zip(self.streams, self.dirs):
                entry = self._entry(d, cid)
                cf = self._load(entry) if entry.is_file() else None
                if cf is None:
                    # rounded as the cache stores them: a cold run trains on what a warm rerun loads
                    feats = stream.extract(frames, prev).astype(np.float16).astype(np.float32)
                    cf = ClipFeatures(feats, np.asarray(idx), n)
                    self._save(entry, cf, path)
                parts.append(cf.features)
            results[path] = ClipFeatures(np.concatenate(parts, axis=1), np.asarray(idx), n)
            self.counts["extracted"] += 1
            return len(idx)
        finally:
            lock.release()

    def _record_skipped(self, skipped: list[tuple[str, str]]) -> None:
        path = self.root / "skipped.json"
        with create_lock(self.root / "skipped.json.lock"):  # read-modify-write: one process at a time
            old = json.loads(path.read_text()) if path.is_file() else {}
            old.update({p: r for p, r in skipped})
            atomic_write_text(path, json.dumps(old, indent=2) + "\n")


def _kill_after() -> int | None:
    """The test hook's clip count for this process (see the module docstring), or None."""
    k = os.environ.get("ACTCAP_TEST_KILL_AFTER")
    rank = os.environ.get("ACTCAP_TEST_KILL_RANK")
    if k is None or (rank is not None and rank != os.environ.get("RANK", "0")):
        return None
    return int(k)
