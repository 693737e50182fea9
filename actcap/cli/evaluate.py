"""`actcap evaluate`: metrics of a trained model on a dataset (all clips, or a split's validation/test side)."""

from __future__ import annotations

import argparse
from pathlib import Path

from actcap.cli.common import add_data_args, print_json, scan_data, split_from_args
from actcap.data.folders import scan_dataset
from actcap.fileio import atomic_write_json


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a model on labelled clips", description=__doc__)
    p.add_argument("--model", type=Path, help="run directory (default: the shipped model)")
    add_data_args(p)
    p.add_argument("--test-clips", type=int, default=1, help="clips averaged per video")
    p.add_argument("--unknown", type=Path, help="clips of actions the model does not know, in class folders "
                   "like --data: adds the open-set figures (AUROC, known accuracy, unknown rejection)")
    p.add_argument("--engine", help="frame-CNN engine: onnx (CPU default) or torch")
    p.add_argument("--cache-dir", type=Path, help="feature cache root")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--out", type=Path, required=True, help="folder for metrics.json and the confusion matrix")
    p.set_defaults(run=run)


def _has_split(args) -> bool:
    return any(getattr(args, k) is not None for k in
               ("split", "val_fraction", "group_by", "val_groups", "train_list", "val_list"))


def run(args: argparse.Namespace) -> int:
    from actcap.inference.predictor import resolve_model_dir
    from actcap.models.recognizer import Recognizer
    from actcap.training.evaluate import evaluate, summarize_splits

    kw = dict(num_clips=args.test_clips, engine=args.engine, cache_dir=args.cache_dir,
              progress=not args.no_progress)
    if args.split == "hmdb51:all":
        # HMDB51's splits share clips (a split-1 training clip can be a split-2 test clip), so each split
        # is scored with the model trained on it: RUN_DIR/split{1,2,3} from `actcap train --split hmdb51:all`.
        root = resolve_model_dir(args.model)
        missing = [str(root / f"split{k}") for k in (1, 2, 3) if not (root / f"split{k}" / "config.json").is_file()]
        if missing:
            raise ValueError(f"`--split hmdb51:all` scores one model per split; missing {', '.join(missing)} "
                             "(train them with `actcap train --split hmdb51:all --out RUN_DIR`)")
        per_split = {}
        for k in (1, 2, 3):
            split, _ = split_from_args(args, split=f"hmdb51:{k}")
            model = Recognizer.load(root / f"split{k}")
            per_split[f"split{k}"] = evaluate(model, split.val, args.out / f"split{k}", **kw)
        summary = summarize_splits(per_split)
        args.out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(args.out / "metrics.json", summary)
        print_json(summary)
        return 0
    model = Recognizer.load(resolve_model_dir(args.model))
    records = split_from_args(args)[0].val if _has_split(args) else scan_data(args.data, args.classes)
    unknown = [r.path for r in scan_dataset(args.unknown)] if args.unknown else None
    m = evaluate(model, records, args.out, unknown=unknown, **kw)
    print_json({k: m[k] for k in ("top1", "top5", "mean_class_accuracy", "num_clips", "answered")}
               | {"ece": round(m["calibration"]["ece"], 4),
                  "ece_interval": [round(v, 4) for v in m["calibration"]["ece_interval"]],
                  "ece_uncalibrated": round(m["calibration"]["ece_uncalibrated"], 4)}
               | ({"open_set": m["open_set"]} if "open_set" in m else {})
               | {"per_class": m["per_class"], "out": str(args.out)}
               | ({"skipped": m["skipped"]} if m["skipped"] else {}))
    return 0
