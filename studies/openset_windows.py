"""How often the open-set score rejects windows that cut a known action somewhere else than a clip does.

    ACTCAP_CACHE=/path/to/cache python studies/openset_windows.py ../shared/data/utd-mhad-5

Flow features of the clips (cached), then for every left-out action × left-out subject of the open-set
protocol: prototypes of the normalised 4-segment embedding (what the shipped segments head's `prototype`
score uses; no head training needed, its input normaliser is the training features' mean/std), the threshold
by the training rule (0.95 quantile of held-out subjects' scores), and the share rejected of (a) the test
subject's known clips, (b) 45-frame windows every 5 frames over those clips played forward-back-forward (a
live window or a timeline window; also plain windows inside each clip, and windows straddling two of the
subject's known clips played back to back), (c) the left-out action, as clips and as sliding windows. Each is judged
by the clip threshold, by a window threshold (the same rule over sliding windows of the held-out subjects' clips,
the training clips' median length, every 5 frames), and by the window threshold over each window's best view (its
lowest score of the whole window and its first, middle, last 0.6: what training fits and live windows use,
held_out.py), so the trade-off is visible. docs/model-card.md, "Open set".
"""

import sys

import numpy as np

from actcap.config import cache_root
from actcap.data.folders import class_names, scan_dataset
from actcap.data.pooling import slot_features
from actcap.data.splits import get_groups
from actcap.features.cache import FeatureCache
from actcap.features.labelled import build_streams, load_features
from actcap.honesty.openset import KNOWN_QUANTILE
from actcap.honesty.windows import sliding_windows, window_views


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
    rules = ("clip threshold", "window threshold", "window threshold, best view")
    rejected = {rule: {part: [] for part in parts} for rule in rules}
    for action in range(len(set(labels))):
        for g in sorted(set(groups)):
            tr = np.flatnonzero((labels != action) & (groups != g))
            allf = np.concatenate([feats[i] for i in tr])
            mu, sd = allf.mean(0), np.maximum(allf.std(0), 1e-3)
            length = int(np.median([len(feats[i]) for i in tr]))  # the model's clip_frames

            def best(f, p, mu=mu, sd=sd):  # the lowest score of a window's views (windows.window_views), as live
                return min(score(v, p, mu, sd) for v in window_views(f, 16))  # windows are judged

            held, held_w, held_b = [], [], []
            for h in sorted(set(groups[tr])):
                fit, out = tr[groups[tr] != h], tr[groups[tr] == h]
                p = prototypes([feats[i] for i in fit], labels[fit], mu, sd)
                held += [score(feats[i], p, mu, sd) for i in out]
                held_w += [score(w, p, mu, sd) for i in out for w in sliding_windows(feats[i], length)]
                held_b += [best(w, p) for i in out for w in sliding_windows(feats[i], length)]
            thresholds = dict(zip(rules, [np.quantile(x, KNOWN_QUANTILE) for x in (held, held_w, held_b)]))
            p = prototypes([feats[i] for i in tr], labels[tr], mu, sd)
            test = np.flatnonzero((labels != action) & (groups == g))
            left_out = np.flatnonzero((labels == action) & (groups == g))
            views = {"known clips": [feats[i] for i in test],
                     "known windows": [w for i in test for w in sliding_windows(feats[i], length)],
                     "known windows looped": [w for i in test for w in windows(feats[i], length)],
                     "known straddling": straddling([feats[i] for i in test], length),
                     "left-out clips": [feats[i] for i in left_out],
                     "left-out windows": [w for i in left_out for w in sliding_windows(feats[i], length)]}
            for part, fs in views.items():
                plain = [score(f, p, mu, sd) for f in fs]
                for rule, scores in zip(rules, (plain, plain, [best(f, p) for f in fs])):
                    rejected[rule][part] += [x > thresholds[rule] for x in scores]
    print("| rejected by | " + " | ".join(parts) + " |")
    print("|---" * (len(parts) + 1) + "|")
    for rule, by_part in rejected.items():
        print(f"| {rule} | " + " | ".join(f"{np.mean(by_part[p]):.3f} ({len(by_part[p])})" for p in parts) + " |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/utd-mhad-5")
