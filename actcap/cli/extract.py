"""`actcap extract`: fill the feature cache ahead of training, one shard per torchrun rank.

    actcap extract --data DATA --streams flow
    torchrun --standalone --nproc-per-node=4 -m actcap extract --data DATA --streams appearance

Uses the cache `actcap train` reads with the same --streams, --backbone, --engine and --cache-frames.
A rerun (after Ctrl-C, or a rank that died) extracts only what is missing. Prints what each rank did.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from actcap.cli.common import csv_list, print_json
from actcap.cli.options import add_field_args
from actcap.config import TrainConfig
from actcap.data.folders import scan_dataset
from actcap.features.streams import parse_streams


def add_parser(sub) -> None:
    p = sub.add_parser("extract", help="fill the feature cache (sharded across torchrun ranks)",
                       description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", type=Path, required=True,
                   help="dataset root: DATA/<class>/<clip>.avi|mp4|… or DATA/<class>/<clip>/<frame>.jpg")
    p.add_argument("--classes", type=csv_list, help="only these classes, e.g. clap,walk,run")
    add_field_args(p, TrainConfig, ("streams", "backbone", "engine", "cache_frames", "cache_dir", "progress"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    records = scan_dataset(args.data, args.classes)
    streams = parse_streams(args.streams)
    from actcap.config import cache_root
    from actcap.features.cache import FeatureCache
    from actcap.features.labelled import build_streams
    from actcap.features.shards import extract_shards
    from actcap.training.distributed import session

    with session() as ctx:
        cache = FeatureCache(args.cache_dir or cache_root(), build_streams(streams, args.backbone, args.engine),
                             args.cache_frames)
        _, report = extract_shards(cache, [r.path for r in records], progress=not args.no_progress, ctx=ctx,
                                   load_all=False)
        print_json({"cache": [str(d) for d in cache.dirs], **report.to_dict()})
    return 0
