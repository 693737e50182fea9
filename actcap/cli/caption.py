"""`actcap caption LABEL…`: print the caption sentence for each label, one per line.

    actcap caption clap ride_bike JumpingJack
    actcap caption clap --confidence 0.45          # A person appears to be clapping their hands.
    actcap caption wave --captions my_captions.yaml
    actcap caption --table hmdb51                  # Markdown table of a dataset's captions (docs/captions.md)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _probability(text: str) -> float:
    try:
        p = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text!r}") from None
    if not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text}")
    return p


def add_parser(sub) -> None:
    p = sub.add_parser("caption", help="print the caption sentence for labels", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("labels", nargs="*", metavar="LABEL", help="class labels, e.g. clap ride_bike JumpingJack")
    p.add_argument("--confidence", type=_probability, metavar="P",
                   help="caption each label as if predicted with probability P: ≥ 0.6 plain, "
                        "0.3–0.6 'appears to be', < 0.3 'The action is unclear.'")
    p.add_argument("--captions", type=Path, metavar="FILE",
                   help="JSON or YAML file of label → sentence overriding the built-in ones (docs/captions.md)")
    p.add_argument("--table", choices=["hmdb51", "utd_mhad", "keypoints"],
                   help="print a Markdown table of every class of this dataset instead")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from actcap.caption import CaptionFileError, Captions, caption_for, load_captions
    from actcap.caption.files import markdown_table
    from actcap.caption.sentences import DATASETS

    if not args.labels and not args.table:
        print("error: give at least one LABEL (e.g. actcap caption clap) or --table hmdb51", file=sys.stderr)
        return 2
    try:
        captions = load_captions(args.captions) if args.captions else Captions()
        if args.table:
            lines = [markdown_table(DATASETS[args.table], captions)]
        elif args.confidence is None:
            lines = [captions.get(label).sentence for label in args.labels]
        else:
            lines = [caption_for([(label, args.confidence)], captions) for label in args.labels]
    except (CaptionFileError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    return 0
