"""Options shared by several subcommands: where the data is and how it is split."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from actcap.data.folders import DatasetError, scan_dataset
from actcap.data.keypoints import is_keypoint_file, keypoint_records
from actcap.data.splits import resolve_split
from actcap.data.video import VideoError
from actcap.models.backbones import BackboneUnavailableError
from actcap.models.recognizer import ModelFileError
from actcap.registry import UnknownNameError
from actcap.training.distributed import is_main_process

# Errors that mean "the user asked for something wrong": printed as one line, never a traceback.
USER_ERRORS = (DatasetError, VideoError, ModelFileError, UnknownNameError, BackboneUnavailableError,
               FileNotFoundError, ValueError)


def csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def on_off(text: str) -> bool:
    """`--open-set on|off` → True/False."""
    if text not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"expected on or off; got {text!r}")
    return text == "on"


def add_open_set_arg(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--open-set", type=on_off, default=True, metavar="{on,off}",
                   help=f"{what} the open-set score, so answers can be state \"unknown\" (on); off: never unknown")


def head_args(text: str) -> dict:
    """'hidden=128,dropout=0.3' → {'hidden': 128, 'dropout': 0.3} (numbers parsed, the rest kept as text)."""
    out = {}
    for item in csv_list(text):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"--head-args takes key=value pairs; got {item!r}")
        for cast in (int, float):
            try:
                out[key.strip()] = cast(value)
                break
            except ValueError:
                continue
        else:
            out[key.strip()] = value.strip()
    return out


def mirror_pairs(text: str) -> list[tuple[str, str]]:
    """'swipe_left:swipe_right,a:b' → [('swipe_left', 'swipe_right'), ('a', 'b')]; 'none' → []."""
    if text.strip().lower() == "none":
        return []
    pairs = [tuple(p.split(":")) for p in csv_list(text)]
    bad = [":".join(p) for p in pairs if len(p) != 2 or not all(p)]
    if bad or not pairs:
        raise argparse.ArgumentTypeError(f"--mirror takes label pairs a:b,c:d that swap when mirrored, or none; "
                                         f"got {text!r}")
    return pairs


def add_data_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    g = p.add_argument_group("data and split")
    g.add_argument("--data", type=Path, required=required,
                   help="dataset root: DATA/<class>/<clip>.avi|mp4|… or DATA/<class>/<clip>/<frame>.jpg, or a "
                   "keypoint file FILE.npz (docs/data-formats.md; trains the pose stream)")
    g.add_argument("--classes", type=csv_list, help="only these classes, e.g. clap,walk,run")
    g.add_argument("--split",
                   help="hmdb51:1, hmdb51:2, hmdb51:3 (official splits), or hmdb51:all (one model per split); "
                   "npz:NAME for a keypoint file's own split (npz:split1)")
    g.add_argument("--splits-dir", type=Path, help="folder with HMDB51's <class>_test_split<k>.txt files")
    g.add_argument("--val-fraction", type=float, help="stratified validation fraction (default 0.2; 0 = no validation)")
    g.add_argument("--group-by", help=r"regex whose first group names a clip's source, e.g. '_s(\d+)_'; "
                   "clips of one source never straddle train and validation")
    g.add_argument("--val-groups", type=csv_list, help="with --group-by: these groups form the validation set")
    g.add_argument("--train-list", type=Path, help="text file listing training clips")
    g.add_argument("--val-list", type=Path, help="text file listing validation clips")
    g.add_argument("--seed", type=int, default=0, help="random seed (split, sampling, initialisation)")


def scan_data(path: Path, classes: list[str] | None = None):
    """The clips of `--data`: a dataset folder, or the clips of a keypoint file (FILE.npz)."""
    return keypoint_records(path, classes) if is_keypoint_file(path) else scan_dataset(path, classes)


def keypoint_streams(args: argparse.Namespace) -> None:
    """A keypoint file trains the pose stream: `--streams` left at its default becomes `pose`."""
    from actcap.config import TrainConfig

    if is_keypoint_file(args.data) and args.streams == "+".join(TrainConfig(out=Path(".")).streams):
        args.streams = "pose"


def split_from_args(args: argparse.Namespace, split: str | None = None):
    """Scan --data and apply the split options; returns the data package's SplitResult."""
    records = scan_data(args.data, args.classes)
    return resolve_split(records, split=split if split is not None else args.split, splits_dir=args.splits_dir,
                         val_fraction=args.val_fraction, group_by=args.group_by, val_groups=args.val_groups,
                         train_list=args.train_list, val_list=args.val_list, seed=args.seed,
                         classes=args.classes), records


def print_json(obj) -> None:
    """Print a command's result; under torchrun only rank 0 prints, so the job answers once."""
    if is_main_process():
        try:
            print(json.dumps(obj, indent=2, ensure_ascii=False))
        except UnicodeEncodeError:  # a file name that is not UTF-8, or an ASCII-only terminal: JSON's \u escapes
            print(json.dumps(obj, indent=2))
