"""`actcap predict`: the action, a confidence and a caption for a video file, a frame folder or images."""

from __future__ import annotations

import argparse
from pathlib import Path

from actcap.cli.common import print_json


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="predict the action in a clip", description=__doc__)
    p.add_argument("inputs", nargs="+", type=Path, help="a video file, a frame folder, or image files in order")
    p.add_argument("--model", type=Path, help="run directory (default: the shipped model)")
    p.add_argument("--engine", help="frame-CNN engine: onnx (CPU default) or torch")
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--test-clips", type=int, default=1, help="clips averaged (test-time augmentation)")
    p.add_argument("--captions", type=Path, help="captions file overriding the model's sentences")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from actcap.predict import Predictor

    captions = None
    if args.captions:
        from actcap.caption import load_captions

        captions = load_captions(args.captions)
    predictor = Predictor.load(args.model, engine=args.engine, top_k=args.top_k, num_clips=args.test_clips,
                               captions=captions)
    print_json(predictor.predict_paths(args.inputs))
    return 0
