"""How often the open-set score rejects windows that cut a known action somewhere else than a clip does.

    ACTCAP_CACHE=/path/to/cache python bench/openset_windows.py ../shared/data/utd-mhad-5

Flow features of the clips (cached), then for every left-out action × left-out subject of the open-set
protocol: prototypes of the normalised 4-segment embedding (what the shipped segments head's `prototype`
score uses; no head training needed, its input normaliser is the training features' mean/std), the threshold
by the training rule (0.95 quantile of held-out subjects' scores), and the share rejected of (a) the test
subject's known clips, (b) 45-frame windows every 5 frames over those clips played forward-back-forward (a
live window or a timeline window; also plain windows inside each clip, and windows straddling two of the
subject's known clips played back to back), (c) the left-out action, as clips and as sliding windows. Each is judged
by the clip threshold and by the window threshold that training now also fits (held_out.py: the same rule over
sliding windows of the held-out subjects' clips, the training clips' median length, every 5 frames), so the
trade-off of judging windows by their own threshold is visible. docs/model-card.md, "Open set".
"""

import sys

import numpy as np

from actcap.data.folders import class_names, scan_dataset
from actcap.data.pooling import slot_features
from actcap.data.splits import get_groups
from actcap.engine import cache_root
from actcap.features import FeatureCache
from actcap.held_out import sliding_windows
from actcap.openset import KNOWN_QUANTILE
from actcap.train import build_streams, load_features


def embedding(f: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    z = (slot_features(f, 16, "dense")[0] - mu) / sd  # (16, D)
    e = z.reshape(4, 4, -1).mean(1).ravel()  # 4 ordered segment means, as the segments head's fc reads them
    return e / max(np.linalg.norm(e), 1e-8)


def prototypes(feats, labels, mu, sd) -> np.ndarray:
    e = np.stack([embedding(f, mu, sd) for f in feats])
    p = np.stack([e[labels == c].mean(0) for c in np.unique(labels)])
    return p / np.linalg.norm(p, axis=1, keepdims=True)


def score(f, protos, mu, sd) -> float:
    return float(1 - (protos @ embedding(f, mu, sd)).max())


def windows(f: np.ndarray, length: int = 45, step: int = 5) -> list[np.ndarray]:
    looped = np.concatenate([f, f[::-1], f])
    return [looped[a:a + length] for a in range(0, len(looped) - length, step)]


def straddling(clips: list[np.ndarray], length: int, step: int = 5) -> list[np.ndarray]:
    """Windows over the clips played back to back (a live stream of one gesture after another) that hold the end
    of one clip and the start of the next."""
    ends = np.cumsum([len(c) for c in clips])[:-1]
    joined = np.concatenate(clips)
    return [joined[a:a + length] for a in range(0, len(joined) - length + 1, step)
            if any(a < e < a + length for e in ends)]


def main(root: str) -> None:
    records = scan_dataset(root)
    data = load_features(records, class_names(records), FeatureCache(cache_root(), build_streams(
        ["flow"], "efficientnet_lite0"), 64), 16, False)
    groups, labels, feats = np.array(get_groups(data.records, r"_s(\d+)_")), np.array(data.labels), data.features
    parts = ("known clips", "known windows", "known windows looped", "known straddling", "left-out clips",
             "left-out windows")
    rejected = {rule: {part: [] for part in parts} for rule in ("clip threshold", "window threshold")}
    for action in range(len(set(labels))):
        for g in sorted(set(groups)):
            tr = np.flatnonzero((labels != action) & (groups != g))
            allf = np.concatenate([feats[i] for i in tr])
            mu, sd = allf.mean(0), np.maximum(allf.std(0), 1e-3)
            length = int(np.median([len(feats[i]) for i in tr]))  # the model's clip_frames
            held, held_w = [], []
            for h in sorted(set(groups[tr])):
                fit, out = tr[groups[tr] != h], tr[groups[tr] == h]
                p = prototypes([feats[i] for i in fit], labels[fit], mu, sd)
                held += [score(feats[i], p, mu, sd) for i in out]
                held_w += [score(w, p, mu, sd) for i in out for w in sliding_windows(feats[i], length)]
            thresholds = {"clip threshold": np.quantile(held, KNOWN_QUANTILE),
                          "window threshold": np.quantile(held_w, KNOWN_QUANTILE)}
            p = prototypes([feats[i] for i in tr], labels[tr], mu, sd)
            test = np.flatnonzero((labels != action) & (groups == g))
            left_out = np.flatnonzero((labels == action) & (groups == g))
            scored = {"known clips": [score(feats[i], p, mu, sd) for i in test],
                      "known windows": [score(w, p, mu, sd) for i in test for w in sliding_windows(feats[i], length)],
                      "known windows looped": [score(w, p, mu, sd) for i in test for w in windows(feats[i], length)],
                      "known straddling": [score(w, p, mu, sd) for w in straddling([feats[i] for i in test], length)],
                      "left-out clips": [score(feats[i], p, mu, sd) for i in left_out],
                      "left-out windows": [score(w, p, mu, sd) for i in left_out
                                           for w in sliding_windows(feats[i], length)]}
            for rule, thr in thresholds.items():
                for part in parts:
                    rejected[rule][part] += [s > thr for s in scored[part]]
    print("| rejected by | " + " | ".join(parts) + " |")
    print("|---" * (len(parts) + 1) + "|")
    for rule, by_part in rejected.items():
        print(f"| {rule} | " + " | ".join(f"{np.mean(by_part[p]):.3f} ({len(by_part[p])})" for p in parts) + " |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/utd-mhad-5")
