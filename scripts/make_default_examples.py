"""Rebuild the shipped model's training examples (actcap/assets/default_model/examples.safetensors).

    python scripts/make_default_examples.py [--data ../shared/data/utd-mhad-5] [--without throw] [--out FILE]

Per-clip flow features of every UTD-MHAD clip the shipped model was trained on, with labels and subjects,
extracted with the shipped model's own stream config. `actcap teach --base default` (and POST /teach with
base=default) trains on these plus the new examples. The file does not depend on the head, so retraining
model.safetensors (scripts/make_default_model.sh) does not require rebuilding it unless the streams change.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actcap.config import cache_root  # noqa: E402
from actcap.data.folders import scan_dataset  # noqa: E402
from actcap.features.cache import FeatureCache  # noqa: E402
from actcap.features.streams import create_streams  # noqa: E402
from actcap.inference.predictor import DEFAULT_MODEL  # noqa: E402
from actcap.models.recognizer import Recognizer  # noqa: E402
from actcap.teach.examples import EXAMPLES_FILE, build_examples, save_examples  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "utd-mhad-5")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model whose stream config to use")
    p.add_argument("--without", default="", help="comma-separated labels to leave out (for experiments)")
    p.add_argument("--group-by", default=r"_s(\d+)_", help="regex naming the person in a clip name")
    p.add_argument("--out", type=Path, default=DEFAULT_MODEL / EXAMPLES_FILE)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = Recognizer.load(args.model).config
    streams = create_streams(config.streams)
    without = {w for w in args.without.split(",") if w}
    records = [r for r in scan_dataset(args.data) if r.label not in without]
    cache = FeatureCache(cache_root(), streams, config.cache_frames)
    ex, skipped = build_examples(records, streams, cache, args.group_by)
    if skipped:
        print(f"skipped {len(skipped)} clip(s): {skipped}", file=sys.stderr)
    save_examples(ex, args.out)
    print(f"{args.out}: {len(ex.labels)} clips of {', '.join(ex.classes)}, {args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
