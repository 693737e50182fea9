"""Measure BlazePose's bone proportions on real clips, and a keypoint file's, for actcap/pose/bridge.py.

    python scripts/pose_proportions.py --clips ../shared/data/utd-mhad-5 \
        --keypoints ../shared/data/keypoints/utd_mhad_skeleton.npz --skip _s6_

Bone lengths are in torso lengths (shoulder centre to hip centre), medians over every frame of every clip; the
pose stream's features come from the feature cache (extracted once), the file's from its joints as training
reads them (before the bridge). Prints both and their ratio; BLAZEPOSE_BONES takes the first column.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actcap.config import cache_root  # noqa: E402
from actcap.data.folders import scan_dataset  # noqa: E402
from actcap.data.keypoints import read_keypoints  # noqa: E402
from actcap.features.cache import FeatureCache  # noqa: E402
from actcap.features.streams import create_stream  # noqa: E402
from actcap.pose.bridge import bone_lengths  # noqa: E402
from actcap.pose.skeleton import CONFIDENCES, JOINTS, POSITIONS  # noqa: E402


def points_of(features: np.ndarray) -> np.ndarray:
    """Pose features (T, D) → canonical body-relative points (T, 13, 3)."""
    pos = features[:, POSITIONS].reshape(len(features), len(JOINTS), 2)
    return np.concatenate([pos, features[:, CONFIDENCES, None]], -1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=Path, required=True, help="a dataset folder of videos (DATA/<class>/<clip>)")
    p.add_argument("--keypoints", type=Path, required=True, help="a keypoint .npz file")
    p.add_argument("--skip", help="leave out clips whose name matches this regex (the person a model is tested on)")
    args = p.parse_args()
    cache = FeatureCache(cache_root(), [create_stream("pose")])
    records = [r for r in scan_dataset(args.clips) if not (args.skip and re.search(args.skip, r.name))]
    found, _ = cache.extract([r.path for r in records], progress=False)
    video = bone_lengths(np.concatenate([points_of(f.features) for f in found.values()]))
    kset = read_keypoints(args.keypoints)
    joints = bone_lengths(np.concatenate([kset.canonical(i) for i in range(len(kset))]))
    print(f"{len(found)} clips, {len(kset)} keypoint clips")
    print(json.dumps({k: {"video": round(video[k], 3), "keypoints": round(joints[k], 3),
                          "ratio": round(joints[k] / video[k], 2)} for k in video}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
