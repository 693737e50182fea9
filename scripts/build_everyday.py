"""Build the `everyday` vocabulary's keypoint file from JHMDB (HMDB51 clips) and Penn Action: one motion per word.

    python scripts/build_everyday.py ../shared/data/keypoints OUT.npz

Both sources are 2D joints annotated on real footage (the pose stream's domain). Words shared by the two mean
the same motion and are merged under HMDB51's names (golf, pullup, swing_baseball); Kinect sets stay out, since
their clap, wave and throw are other motions under the same words (issue 23). The split `official` is
JHMDB's split 1 and Penn Action's own train/test. Clips are written on the shared skeleton (13 joints, x, y,
confidence), so the file trains like any keypoint file: `actcap train --data OUT.npz --split npz:official`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actcap.data.keypoints import read_keypoints, save_keypoints  # noqa: E402
from actcap.features.keypoints import clip_points  # noqa: E402
from actcap.pose.skeleton import JOINTS  # noqa: E402

RENAME = {"penn_action": {"golf_swing": "golf", "baseball_swing": "swing_baseball"}, "jhmdb": {}}
SPLIT = {"jhmdb": "split1", "penn_action": "official"}


def main(root: Path, out: Path) -> int:
    clips, labels, ids, sides = [], [], [], []
    for name in ("jhmdb", "penn_action"):
        kset = read_keypoints(root / f"{name}.npz")
        column = kset.split[:, kset.split_names.index(SPLIT[name])]
        for i in range(len(kset)):
            clips.append(clip_points(kset, i))
            label = kset.classes[kset.labels[i]]
            labels.append(RENAME[name].get(label, label))
            ids.append(f"{name}_{kset.clips[i]}")
            sides.append(int(column[i]))
    kset = save_keypoints(out, clips, labels, JOINTS, ("x", "y", "confidence"), clip_ids=ids,
                          splits={"official": sides})
    counts = np.bincount(kset.labels, minlength=len(kset.classes))
    print(f"{out}: {len(kset)} clips, {len(kset.classes)} words: " +
          ", ".join(f"{c} {n}" for c, n in zip(kset.classes, counts)))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
