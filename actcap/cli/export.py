"""`actcap export`: a trained model as an ONNX bundle that runs with numpy + onnxruntime (inference/export.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from actcap.cli.common import print_json


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="export a model as an ONNX bundle", description=__doc__)
    p.add_argument("--model", type=Path, help="run directory (default: the shipped model)")
    p.add_argument("--format", choices=["onnx"], default="onnx", help="bundle format")
    p.add_argument("--out", type=Path, required=True, help="folder to write the bundle to")
    p.add_argument("--int8", action="store_true", help="static int8 frame CNN (calibrated on real frames)")
    p.add_argument("--calibration", type=Path,
                   help="clips to calibrate int8 on: a dataset folder, a video or a frame folder "
                        "(default: $ACTCAP_CALIBRATION, else synthetic frames)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from actcap.inference.export import export_bundle

    if args.calibration is not None and not args.int8:
        raise ValueError("--calibration only applies with --int8")
    config = export_bundle(args.model, args.out, int8=args.int8, calibration=args.calibration)
    files = {name: f"{(args.out / name).stat().st_size / 1e6:.1f} MB" for name in config["files"]}
    print_json({"out": str(args.out), "files": files, "verification": config["verification"]})
    return 0
