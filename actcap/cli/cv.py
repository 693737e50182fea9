"""`actcap cv`: leave-groups-out cross-validation of a training configuration (see actcap/training/crossval.py)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from actcap.cli.common import add_open_set_arg, csv_list, head_args, mirror_pairs, print_json
from actcap.config import TrainConfig
from actcap.data.folders import check_trainable, class_names, scan_dataset
from actcap.features.streams import parse_streams
from actcap.fileio import atomic_write_json


def add_parser(sub) -> None:
    p = sub.add_parser("cv", help="cross-validate on unseen groups (people, source videos)", description=__doc__,
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--classes", type=csv_list)
    p.add_argument("--group-by", required=True, help=r"regex naming a clip's group, e.g. '_s(\d+)_'")
    p.add_argument("--groups-per-fold", type=int, default=1)
    p.add_argument("--pairs", type=csv_list, default=[], help="class pairs to report, e.g. swipe_left/swipe_right")
    p.add_argument("--compare-random", action="store_true", help="also report a random 80/20 clip split")
    p.add_argument("--streams", default="appearance")
    p.add_argument("--backbone", default="efficientnet_lite0")
    p.add_argument("--head", default="lstm")
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--sampling", choices=["frames", "dense"], default="frames")
    p.add_argument("--head-args", type=head_args, default={}, help="head settings, e.g. hidden=128,dropout=0.3")
    p.add_argument("--engine")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mirror", type=mirror_pairs, help="mirrored training clips; label pairs that swap, or none")
    p.add_argument("--cache-dir", type=Path)
    add_open_set_arg(p, "fit")
    p.add_argument("--open-set-protocol", action="store_true",
                   help="instead: leave one action out × leave one group out, with synthetic negatives; reports "
                        "AUROC, known accuracy and unknown rejection per left-out action (actcap/training/protocol.py)")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from actcap.training.crossval import cross_validate

    records = scan_dataset(args.data, args.classes)
    check_trainable(records)
    bad = [p for p in args.pairs if p.count("/") != 1]
    if bad:
        raise ValueError(f"--pairs takes class pairs written a/b; got {', '.join(bad)}")
    cfg = TrainConfig(out=args.out, streams=parse_streams(args.streams), backbone=args.backbone, engine=args.engine,
                      head=args.head, head_kwargs=args.head_args, num_frames=args.frames, sampling=args.sampling,
                      epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
                      label_smoothing=args.label_smoothing,
                      seed=args.seed, mirror=args.mirror, cache_dir=args.cache_dir, progress=False,
                      open_set=args.open_set, group_by=args.group_by)
    if args.open_set_protocol:
        return _protocol(records, cfg, args.group_by)
    s = cross_validate(records, class_names(records), cfg, args.group_by, args.groups_per_fold,
                       [tuple(p.split("/")) for p in args.pairs], args.compare_random)
    print_json({k: s[k] for k in ("config", "mean_top1", "std_top1", "pairs")}
               | {k: round(s["calibration"][k], 4) for k in ("known_accuracy", "known_rejected")}
               | {"ece": round(s["calibration"]["ece"], 4),
                  "ece_uncalibrated": round(s["calibration"]["ece_uncalibrated"], 4)}
               | {"folds": {",".join(f["val_groups"]): round(f["top1"], 3) for f in s["folds"]},
                  "per_class_recall": {c: round(v["recall"], 3) for c, v in s["pooled"]["per_class"].items()}}
               | ({"random_80_20_top1": s["random_80_20_top1"]} if "random_80_20_top1" in s else {}))
    return 0


def _protocol(records, cfg: TrainConfig, group_by: str) -> int:

    from actcap.features.engine import cache_root
    from actcap.training.protocol import open_set_protocol

    cfg = replace(cfg, cache_dir=cfg.cache_dir or cache_root(), keep="last")
    result = open_set_protocol(records, class_names(records), cfg, group_by)
    cfg.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(cfg.out / "open_set.json", result)
    print_json({"ece": round(result["ece"], 4), "folds": result["folds"],
                "scores": {name: {k: round(v, 3) for k, v in r["mean"].items()}
                           for name, r in result["scores"].items()},
                "per_action": {a: {k: round(v[k], 3) for k in ("auroc", "known_accuracy", "unknown_rejection")}
                               for a, v in result["scores"][result["default_score"]]["per_action"].items()},
                "out": str(cfg.out / "open_set.json")})
    return 0
