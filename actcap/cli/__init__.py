"""`actcap` command line: one subcommand per pipeline stage.

    actcap extract | train | evaluate | predict | caption | serve | export | bench | cv | teach | models

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

COMMANDS = ["extract", "train", "evaluate", "predict", "caption", "serve", "export", "bench", "cv", "teach",
            "models"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="actcap", description="Human action recognition with captions.")
    parser.add_argument("--version", action="version", version=f"actcap {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error instead of one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"actcap.cli.{name}").add_parser(sub)  # a missing module is a packaging bug: fail
    return parser


def _configure_logging(verbose: bool) -> None:
    """Under torchrun, info comes from rank 0 only; other ranks log warnings, tagged with their rank."""
    from actcap.training.distributed import env_rank, is_main_process

    level = logging.DEBUG if verbose else logging.INFO
    tag = "" if os.environ.get("WORLD_SIZE", "1") == "1" else f"[rank {env_rank()}] "
    logging.basicConfig(level=level if is_main_process() else max(level, logging.WARNING),
                        format=f"{tag}%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    if not args.verbose:  # FFmpeg inside OpenCV prints decoder complaints itself; our errors say what matters
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET, read when OpenCV first opens a video
        import cv2  # and OpenCV's own "[ERROR:0@…] … Failed to initialize VideoCapture": our error says it

        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    from actcap.cli.common import USER_ERRORS

    try:
        return int(args.run(args) or 0)
    except USER_ERRORS as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk or a read-only folder is said in words; any other is a bug
        from actcap.fileio import disk_problem

        if args.debug:
            raise
        if disk_problem(e) is None:
            return _bug(e)
        print(f"error: {disk_problem(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; finished work is kept (run the same command again to resume)", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - a bug, not the user's input: one line, the traceback on request
        if args.debug:
            raise
        return _bug(e)


def _bug(e: Exception) -> int:
    kind = type(e).__name__ if type(e).__module__ == "builtins" else f"{type(e).__module__}.{type(e).__name__}"
    text = " ".join(str(e).split())  # native libraries' messages carry newlines
    print(f"error: {kind}: {text} (an actcap bug? run again with --debug for the traceback and report it)",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
