"""`actcap cv`: leave-groups-out cross-validation of a training configuration (see actcap/training/crossval.py)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from actcap.cli.common import csv_list, keypoint_streams, print_json, scan_data
from actcap.cli.options import add_field_args, add_train_groups, train_config
from actcap.config import TrainConfig
from actcap.data.folders import check_trainable, class_names
from actcap.fileio import atomic_write_json


def add_parser(sub) -> None:
    p = sub.add_parser("cv", help="cross-validate on unseen groups (people, source videos)", description=__doc__,
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    g = p.add_argument_group("data and folds")
    g.add_argument("--data", type=Path, required=True,
                   help="dataset root: DATA/<class>/<clip>.avi|mp4|… or DATA/<class>/<clip>/<frame>.jpg")
    g.add_argument("--classes", type=csv_list, help="only these classes, e.g. clap,walk,run")
    add_field_args(g, TrainConfig, ("group_by",), group_by={"required": True})
    g.add_argument("--groups-per-fold", type=int, default=1, help="groups in each fold's validation side")
    g.add_argument("--pairs", type=csv_list, default=[], help="class pairs to report, e.g. swipe_left/swipe_right")
    g.add_argument("--compare-random", action="store_true", help="also report a random 80/20 clip split")
    add_field_args(g, TrainConfig, ("seed",))
    add_train_groups(p)  # the same flags as `actcap train`, built from TrainConfig
    p.add_argument("--open-set-protocol", action="store_true",
                   help="instead: leave one action out × leave one group out, with synthetic negatives; reports "
                        "AUROC, known accuracy and unknown rejection per left-out action (actcap/training/protocol.py)")
    add_field_args(p, TrainConfig, ("out",), out={"help": "folder for cv.json, the folds' models and figures"})
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from actcap.training.crossval import cross_validate

    records = scan_data(args.data, args.classes)
    check_trainable(records)
    keypoint_streams(args)
    bad = [p for p in args.pairs if p.count("/") != 1]
    if bad:
        raise ValueError(f"--pairs takes class pairs written a/b; got {', '.join(bad)}")
    cfg = train_config(args, out=args.out, progress=False)
    if args.open_set_protocol:
        return _protocol(records, cfg, args.group_by)
    s = cross_validate(records, class_names(records), cfg, args.group_by, args.groups_per_fold,
                       [tuple(p.split("/")) for p in args.pairs], args.compare_random)
    print_json({k: s[k] for k in ("config", "mean_top1", "std_top1", "pairs")}
               | {k: round(s["calibration"][k], 4) for k in ("known_accuracy", "known_rejected")}
               | {"ece": round(s["calibration"]["ece"], 4),
                  "ece_interval": [round(v, 4) for v in s["calibration"]["ece_interval"]],
                  "ece_uncalibrated": round(s["calibration"]["ece_uncalibrated"], 4)}
               | {"folds": {",".join(f["val_groups"]): round(f["top1"], 3) for f in s["folds"]},
                  "per_class_recall": {c: round(v["recall"], 3) for c, v in s["pooled"]["per_class"].items()}}
               | ({"random_80_20_top1": s["random_80_20_top1"]} if "random_80_20_top1" in s else {}))
    return 0


def _protocol(records, cfg: TrainConfig, group_by: str) -> int:

    from actcap.config import cache_root
    from actcap.training.protocol import open_set_protocol

    cfg = replace(cfg, cache_dir=cfg.cache_dir or cache_root(), keep="last")
    result = open_set_protocol(records, class_names(records), cfg, group_by)
    cfg.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(cfg.out / "open_set.json", result)
    print_json({"ece": round(result["ece"], 4), "ece_interval": [round(v, 4) for v in result["ece_interval"]],
                "folds": result["folds"],
                "scores": {name: {k: round(v, 3) for k, v in r["mean"].items()}
                           for name, r in result["scores"].items()},
                "per_action": {a: {k: round(v[k], 3) for k in ("auroc", "known_accuracy", "unknown_rejection")}
                               for a, v in result["scores"][result["default_score"]]["per_action"].items()},
                "out": str(cfg.out / "open_set.json")})
    return 0
