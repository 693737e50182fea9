"""`actcap train`: extract (or reuse) features, train a temporal head, write a run directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from actcap.cli.common import add_data_args, add_open_set_arg, head_args, mirror_pairs, print_json, split_from_args
from actcap.config import TrainConfig
from actcap.data.folders import check_trainable, class_names
from actcap.features.streams import parse_streams
from actcap.fileio import atomic_write_json
from actcap.models.backbones import list_backbones
from actcap.models.heads import list_heads
from actcap.training.distributed import alone, is_main_process


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model on a dataset", description=__doc__,
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_data_args(p)
    m = p.add_argument_group("model")
    m.add_argument("--streams", default="appearance", help="input streams joined by + or , e.g. appearance+flow")
    m.add_argument("--backbone", default="efficientnet_lite0", help=f"one of: {', '.join(list_backbones())}")
    m.add_argument("--head", default="lstm", help=f"one of: {', '.join(list_heads())}")
    m.add_argument("--frames", type=int, default=16, help="frames sampled per clip")
    m.add_argument("--sampling", choices=["frames", "dense"], default="frames",
                   help="fill each time slot with one frame, or the mean of its segment's frames")
    m.add_argument("--head-args", type=head_args, default={}, help="head settings, e.g. hidden=128,dropout=0.3")
    m.add_argument("--engine", help="frame-CNN engine: onnx (CPU default) or torch")
    m.add_argument("--captions", type=Path, help="captions file (JSON/YAML label → sentence) stored in the model")
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=4)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--weight-decay", type=float, default=1e-4)
    t.add_argument("--label-smoothing", type=float, default=0.0)
    t.add_argument("--class-weights", action="store_true", help="weight the loss by inverse class frequency")
    t.add_argument("--test-clips", type=int, default=1, help="clips averaged per video at validation")
    t.add_argument("--cache-frames", type=int, default=64, help="frames per clip kept in the feature cache")
    t.add_argument("--cache-dir", type=Path, help="feature cache root (default ~/.cache/actcap or $ACTCAP_CACHE)")
    t.add_argument("--finetune-backbone", action="store_true",
                   help="train the CNN end to end with the head (appearance stream only; for a GPU)")
    t.add_argument("--mirror", type=mirror_pairs, help="add mirrored training clips; label pairs that swap "
                   "(e.g. swipe_left:swipe_right), or none")
    t.add_argument("--keep", choices=["best", "last"], default="best",
                   help="save the best epoch on validation, or the last epoch")
    t.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    add_open_set_arg(t, "fit")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--out", type=Path, required=True, help="run directory to write")
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
    print_json(_train_one(args))
    return 0


def _train_one(args: argparse.Namespace) -> dict:
    split, records = split_from_args(args)
    check_trainable(split.train)
    classes = class_names(records)
    captions = {}
    if args.captions:
        from actcap.caption import load_captions

        captions = load_captions(args.captions).to_dict()
    cfg = TrainConfig(out=args.out, streams=parse_streams(args.streams), backbone=args.backbone,
                      engine=args.engine, head=args.head, head_kwargs=args.head_args, num_frames=args.frames,
                      sampling=args.sampling, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                      weight_decay=args.weight_decay,
                      label_smoothing=args.label_smoothing, class_weights=args.class_weights, seed=args.seed,
                      max_frames=args.cache_frames, cache_dir=args.cache_dir, num_clips=args.test_clips,
                      captions=captions, mirror=args.mirror, keep=args.keep, resume=args.resume,
                      open_set=args.open_set, group_by=args.group_by,
                      progress=not args.no_progress and is_main_process())
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
