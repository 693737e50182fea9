"""`actcap teach`: train a model on a few examples of your own actions, and keep it under a name.

    actcap teach --name gestures wave=clips/wave/ clap=clips/clap1.mp4 clap=clips/clap2.mp4
    actcap teach --name more --base none --group-by '_p(\\d+)_' sit=sit/ stand=stand/
    actcap teach --name hi --base none hello:ann=ann/hello/ hello:bob=bob/hello/ no:ann=ann/no/ no:bob=bob/no/ \\
        --caption hello="A person is waving hello."
    actcap predict --model gestures clip.mp4        # then use it wherever --model works

LABEL=PATH: a video file, a frame folder, or a folder of videos (each one an example); LABEL:PERSON=PATH says
who is in them (or --group-by finds the person in each file name). With 2+ people per label the check holds one
person out at a time: an estimate for people the model did not learn from. With --base default (the default)
the model also keeps the shipped model's actions and trains on their examples too; a new label that looks
like one of them stops the job (--allow-duplicates trains anyway; --base none keeps only your labels). The
model goes to $ACTCAP_HOME (or the user data folder); `actcap models` lists them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from actcap.cli.common import print_json


def add_parser(sub) -> None:
    p = sub.add_parser("teach", help="teach new actions from a few example videos", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("examples", nargs="+", metavar="LABEL[:PERSON]=VIDEO_OR_FOLDER",
                   help="one label (and who is in them) and its example(s)")
    p.add_argument("--name", required=True, help="model name: letters, digits, '_' and '-', at most 40")
    p.add_argument("--base", choices=["default", "none"], default="default",
                   help="default: keep the shipped model's actions and examples; none: only the taught labels")
    p.add_argument("--group-by", help=r"regex whose first group names the person in a file name, e.g. '_s(\d+)_'; "
                   "accuracy is then checked by person")
    p.add_argument("--caption", action="append", default=[], metavar='LABEL="SENTENCE"',
                   help='the sentence said for a label, e.g. --caption hello="A person is waving hello." (repeat it)')
    p.add_argument("--allow-duplicates", action="store_true", help="train even when a new label looks like one of "
                   "the base model's actions (same name, or examples it answers as one of them)")
    p.add_argument("--base-model", type=Path, help="model to extend instead of the shipped one (needs its "
                   "examples.safetensors)")
    p.set_defaults(run=run)


def parse_examples(items: list[str], group_by: str | None = None) -> list:
    """['wave=a.mp4', 'clap=dir/'] → TeachExamples; a folder holds one example per video or frame folder."""
    from actcap.data.folders import _has_image, _scan_class
    from actcap.teach.examples import group_of
    from actcap.teach.trainer import TeachExample

    out, problems = [], []
    for item in items:
        label, sep, path = item.partition("=")
        label, _, person = label.partition(":")
        if not sep or not label or not path:
            problems.append(f"{item!r}: expected LABEL=VIDEO_OR_FOLDER or LABEL:PERSON=VIDEO_OR_FOLDER, e.g. "
                            "wave=clips/wave/")
            continue
        p = Path(path)
        if not p.exists():
            problems.append(f"{label}={path}: no such file or folder")
        elif p.is_dir() and not _has_image(p):
            clips, issues = _scan_class(p)
            problems += issues
            out += [TeachExample(c.path, label, person or group_of(c.name, group_by), c.path.name) for c in clips]
        else:
            out.append(TeachExample(p, label, person or group_of(p.stem if p.is_file() else p.name, group_by), p.name))
    if problems:
        raise ValueError("\n".join(problems))
    return out


def run(args: argparse.Namespace) -> int:
    from actcap.models.store import ModelStore
    from actcap.teach.trainer import TeachRequest, check_request, parse_captions, teach

    req = TeachRequest(args.name, parse_examples(args.examples, args.group_by), args.base,
                       parse_captions(args.caption, "--caption"), args.allow_duplicates)
    check_request(req)
    store = ModelStore()
    seen = set()

    def progress(stage: str, fraction: float) -> None:
        if stage not in seen:
            seen.add(stage)
            print(f"{stage}…", file=sys.stderr, flush=True)

    result = teach(req, store, args.base_model or store.shipped, progress)
    m = result["metrics"]
    print_json({"model": args.name, "path": str(store.get_path(args.name)), "classes": m["classes"],
                "check": m["method"], "people": m["people"], "answered": m["answered"], "top1": m["top1"],
                "optimistic": m["optimistic"], "summary": m["summary"],
                "per_label": {k: v["accuracy"] for k, v in m["per_label"].items()}, "seconds": m["seconds"]})
    return 0
