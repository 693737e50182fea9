"""`actcap train`: extract (or reuse) features, train a temporal head, write a run directory."""

from __future__ import annotations

import argparse

from actcap.cli.common import add_data_args, keypoint_streams, print_json, split_from_args
from actcap.cli.options import add_field_args, add_train_groups, train_config
from actcap.config import TrainConfig
from actcap.data.folders import check_trainable, class_names
from actcap.fileio import atomic_write_json
from actcap.training.distributed import alone, is_main_process


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model on a dataset", description=__doc__,
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_data_args(p)
    add_train_groups(p)  # the same flags as `actcap cv`, built from TrainConfig
    r = p.add_argument_group("this run")
    add_field_args(r, TrainConfig, ("captions", "keep", "resume", "progress"))
    r.add_argument("--finetune-backbone", action="store_true",
                   help="train the CNN end to end with the head (appearance stream only; for a GPU)")
    add_field_args(p, TrainConfig, ("out",))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from actcap.training.distributed import session

    with session():  # under torchrun: join the job (DDP); alone: nothing happens
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    if args.split == "hmdb51:all":  # one model per official split, each tested on its own test side
        summaries = {}
        for k in (1, 2, 3):
            sub = argparse.Namespace(**{**vars(args), "split": f"hmdb51:{k}", "out": args.out / f"split{k}"})
            summaries[f"split{k}"] = _train_one(sub)
        print_json(summaries)
        return 0
    if args.split == "npz:all":  # a keypoint file's stored splits (JHMDB's three), one model each
        from actcap.data.keypoints import read_keypoints

        names = read_keypoints(args.data).split_names
        summaries = {n: _train_one(argparse.Namespace(**{**vars(args), "split": f"npz:{n}", "out": args.out / n}))
                     for n in names}
        summaries["mean_top1"] = sum(s.get("top1", 0.0) for s in summaries.values()) / max(len(names), 1)
        print_json(summaries)
        return 0
    print_json(_train_one(args))
    return 0


def _train_one(args: argparse.Namespace) -> dict:
    split, records = split_from_args(args)
    check_trainable(split.train)
    keypoint_streams(args)
    classes = class_names(records)
    cfg = train_config(args, out=args.out, progress=not args.no_progress and is_main_process())
    from actcap.training.train import train  # heavy imports only once the arguments are good

    if is_main_process():
        print(split.report)
    if args.finetune_backbone:
        return _finetune(cfg, split, classes)
    metrics = train(cfg, split.train, split.val, classes)
    summary = {"out": str(args.out), "train_clips": metrics["train_clips"], "best_epoch": metrics["best_epoch"]}
    if "validation" in metrics:
        v = metrics["validation"]
        summary.update({k: v[k] for k in ("top1", "top5", "mean_class_accuracy", "num_clips")})
    if metrics["skipped"]:
        summary["skipped"] = metrics["skipped"]
    return summary


def _finetune(cfg: TrainConfig, split, classes: list[str]) -> dict:

    from actcap.models.recognizer import Recognizer
    from actcap.training.evaluate import evaluate
    from actcap.training.finetune import finetune
    from actcap.training.metrics import plot_curve

    result = finetune(cfg, split.train, split.val, classes)
    if not is_main_process():  # rank 0 evaluates and writes the metrics
        return {}
    plot_curve(result["history"], cfg.out / "training_curve.png")
    metrics = {"history": result["history"]}
    if split.val:
        with alone():  # only rank 0 gets here; its evaluation must not wait for the others
            metrics["validation"] = evaluate(Recognizer.load(cfg.out), split.val, cfg.out, engine=cfg.engine,
                                             cache_dir=cfg.cache_dir, progress=cfg.progress)
    atomic_write_json(cfg.out / "metrics.json", metrics)
    summary = {"out": str(cfg.out), "finetune_backbone": True, "epochs": len(result["history"])}
    if split.val:
        summary.update({k: metrics["validation"][k] for k in ("top1", "top5", "mean_class_accuracy", "num_clips")})
    return summary
