"""`actcap predict`: the action, a confidence and a caption for a video file, a frame folder or images."""

from __future__ import annotations

import argparse
from pathlib import Path

from actcap.cli.common import add_open_set_arg, print_json
from actcap.cli.options import add_timeline_args, timeline_config


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="predict the action in a clip", description=__doc__,
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("inputs", nargs="+", type=Path, help="a video file, a frame folder, or image files in order")
    p.add_argument("--model", type=Path, help="run directory (default: the shipped model)")
    p.add_argument("--engine", help="frame-CNN engine: onnx (CPU default) or torch")
    p.add_argument("--top-k", type=int, default=5, help="how many of the best labels to list with their scores")
    p.add_argument("--test-clips", type=int, default=1, help="clips averaged (test-time augmentation)")
    p.add_argument("--captions", type=Path, help="captions file overriding the model's sentences")
    add_open_set_arg(p, "use")
    p.add_argument("--pose", action="store_true", help="add `pose`: the person's 13 joints in each frame the model "
                                                        "looked at (x, y as fractions of the frame; docs/api.md)")
    t = p.add_argument_group("timeline (long videos)")
    t.add_argument("--timeline", action="store_true", help="segment a long video and narrate it")
    add_timeline_args(t)  # TimelineConfig: the same defaults as Predictor.predict_timeline
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from actcap.data.video import open_clip
    from actcap.inference.keypoints import clip_keypoints
    from actcap.inference.predictor import Predictor, open_inputs

    captions = None
    if args.captions:
        from actcap.caption import load_captions

        captions = load_captions(args.captions)
    predictor = Predictor.load(args.model, engine=args.engine, top_k=args.top_k, num_clips=args.test_clips,
                               captions=captions, open_set=args.open_set)
    if args.timeline:
        if len(args.inputs) != 1:
            raise ValueError("--timeline takes one video file or frame folder")
        t = timeline_config(args)
        clip = open_clip(args.inputs[0])
        out = predictor.predict_timeline(clip, window=t.window, stride=t.stride, smooth=t.smooth,
                                         min_duration=t.min_duration, min_confidence=t.min_confidence)
    else:
        clip = open_inputs(args.inputs)
        out = predictor.predict_clip(clip)
    if args.pose:
        out["pose"] = clip_keypoints(clip, predictor.frames_to_read(len(clip)))
    print_json(out)
    return 0
