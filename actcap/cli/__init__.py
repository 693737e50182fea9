"""`actcap` command line: one subcommand per pipeline stage.

    actcap extract | train | evaluate | predict | caption | serve | export | bench

Each subcommand lives in its own module with `add_parser(subparsers)` and `run(args) -> int`.
Only this layer prints; library code logs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from actcap import __version__

COMMANDS = ["extract", "train", "evaluate", "predict", "caption", "serve", "export", "bench", "cv"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="actcap", description="Human action recognition with captions.")
    parser.add_argument("--version", action="version", version=f"actcap {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"actcap.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"actcap.cli.{name}":
                raise
            continue  # a stage not built yet
        module.add_parser(sub)
    return parser


def _configure_logging(verbose: bool) -> None:
    """Under torchrun, info comes from rank 0 only; other ranks log warnings, tagged with their rank."""
    from actcap.distributed import env_rank, is_main_process

    level = logging.DEBUG if verbose else logging.INFO
    tag = "" if os.environ.get("WORLD_SIZE", "1") == "1" else f"[rank {env_rank()}] "
    logging.basicConfig(level=level if is_main_process() else max(level, logging.WARNING),
                        format=f"{tag}%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    from actcap.cli.common import USER_ERRORS

    try:
        return int(args.run(args) or 0)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished work is kept (run the same command again to resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
