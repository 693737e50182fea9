"""Motion levels (actcap/honesty/motion.py) of real clips: the still ends of each clip against its busiest time slot.

    python studies/motion_levels.py ../shared/data/utd-mhad-5

Prints percentiles of the fraction of pixels moving in the first and last three frames of every clip, of
each clip's busiest dense slot (what the idle rule looks at), and how many clips — and how many "first six
frames" clips (the person standing still) — the rule calls idle. The figures in docs/model-card.md, "Idle".
"""

import sys

import numpy as np

from actcap.data.folders import scan_dataset
from actcap.data.pooling import slot_features
from actcap.data.video import open_clip
from actcap.honesty.motion import IDLE_LEVEL, motion_levels


def busiest_slot(levels: np.ndarray) -> float:
    return float(slot_features(levels[:, None], 16, "dense")[0, :, 0].max())


def main(root: str) -> None:
    ends, busiest, still = [], [], []
    for r in scan_dataset(root):
        clip = open_clip(r.path)
        levels = motion_levels(clip.read(list(range(len(clip)))))
        ends += list(levels[1:4]) + list(levels[-3:])
        busiest.append(busiest_slot(levels))
        still.append(busiest_slot(levels[:6]))
    pct = lambda a: " ".join(f"{v:.2%}" for v in np.percentile(a, [0, 50, 95, 99, 100]))  # noqa: E731
    print(f"first/last 3 frames, pixels moving (min median p95 p99 max): {pct(ends)}")
    print(f"busiest slot per clip (min median p95 p99 max):              {pct(busiest)}")
    print(f"clips idle: {sum(b < IDLE_LEVEL for b in busiest)} of {len(busiest)}; "
          f"first 6 frames idle: {sum(s < IDLE_LEVEL for s in still)} of {len(still)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/utd-mhad-5")
