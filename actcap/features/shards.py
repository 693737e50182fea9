"""Fill the feature cache, each torchrun rank extracting its own disjoint shard of the clips.

    actcap extract --data DATA --streams flow
    torchrun --standalone --nproc-per-node=4 -m actcap extract --data DATA --streams appearance

Rank r takes every W-th clip from r in a sorted list, so the shards are disjoint and cover every clip;
the per-clip locks in the cache (features.py) make a clip that two runs want be extracted once. After its
shard, every rank learns which clips the others could not decode, and loads the rest from the cache.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from actcap.features.cache import ClipFeatures, FeatureCache

log = logging.getLogger(__name__)


class OneProcess:
    """The ranks of a run that is not under torchrun: this one process (what training/distributed.py's Context
    is alone; a `ctx` here is any object with these members)."""

    rank, world_size, enabled, is_main = 0, 1, False, True

    def shard(self, items: list) -> list:
        return items

    def all_gather_object(self, obj) -> list:
        return [obj]


@dataclass
class ExtractReport:
    """What a sharded extraction did, per rank (rank order) and in all."""
    clips: int
    per_rank: list[dict] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def total(self, key: str) -> int:
        return sum(r.get(key, 0) for r in self.per_rank)

    def to_dict(self) -> dict:
        return {"clips": self.clips, "extracted": self.total("extracted"), "cached": self.total("cached"),
                "skipped": [{"path": p, "reason": r} for p, r in self.skipped], "ranks": self.per_rank}


def extract_shards(cache: FeatureCache, paths: list[Path], progress: bool = True, ctx=None,
                   load_all: bool = True) -> tuple[dict[Path, ClipFeatures], ExtractReport]:
    """Features of every clip (extracting this rank's missing shard), and what every rank did; `ctx`: the run's
    ranks (training/distributed.py `current()`; None: one process).

    With `load_all=False` only this rank's shard is returned (`actcap extract` needs no features in memory).
    """
    ctx = ctx or OneProcess()
    paths = sorted(set(paths), key=str)
    before = Counter(cache.counts)
    t0 = time.perf_counter()
    mine, skipped = cache.extract(ctx.shard(paths), progress=progress and ctx.is_main)
    done = cache.counts - before
    row = {"rank": ctx.rank, "clips": len(ctx.shard(paths)), "extracted": done["extracted"],
           "cached": done["cached"], "skipped": done["skipped"], "seconds": round(time.perf_counter() - t0, 3)}
    rows, skips = ctx.all_gather_object(row), ctx.all_gather_object(skipped)  # also waits for every shard
    report = ExtractReport(len(paths), rows, sorted(s for part in skips for s in part))
    if not load_all or not ctx.enabled:
        return mine, report
    bad = {p for p, _ in report.skipped}
    rest = [p for p in paths if p not in mine and str(p) not in bad]
    others, late = cache.extract(rest, progress=False)  # cached by the other ranks; extracts only if one died
    if late:
        report.skipped = sorted(set(report.skipped) | set(late))
    return {**mine, **others}, report
