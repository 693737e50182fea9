"""An open-set score on the head's *input* instead of its embedding, measured against the shipped score.

The shipped `prototype` score compares a clip's head embedding with class means. This one compares the flow
features the head reads (HOF slots: 8 directions × 4 × 4 cells × 16 time slots) after pooling cells to coarser
grids, a square root (the Hellinger map for histograms) and K segment means, z-normalised by the training clips.
Head-free it separates a left-out action better (AUROC 0.895 vs 0.810, studies/openset_embeddings.py); with the
head and the training threshold rule it rejects 0.29–0.45 of it (shipped 0.30) and only 0.19–0.44 of the synthetic
negatives (shipped 0.80) (studies/openset_rules.py, "input" and "OR" rows; figures
in docs/model-card.md, "Open set"). Kept as a candidate, not shipped.
"""

import numpy as np


def _unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)



class InputPrototype:
    """Cosine distance to a class mean of the embedded head input (see the module docstring); `match`: the class
    the head predicts or the nearest one."""
    uses_inputs = True

    def __init__(self, grids=(1, 2), k=8, match="predicted", bins=8, grid=4, sqrt=True):
        self.grids, self.k, self.match, self.bins, self.grid, self.sqrt = grids, k, match, bins, grid, sqrt

    def embed(self, x: np.ndarray) -> np.ndarray:
        """(N, T, bins·grid·grid) slots → (N, K, D') segment means of the pooled, square-rooted cells."""
        n, t, _ = x.shape
        v = x.reshape(n, t, self.bins, self.grid, self.grid)
        parts = []
        for g in self.grids:
            r = self.grid // g
            parts.append(v.reshape(n, t, self.bins, g, r, g, r).mean((4, 6)).reshape(n, t, -1))
        e = np.concatenate(parts, 2)
        if self.sqrt:
            e = np.sqrt(np.maximum(e, 0))
        return e.reshape(n, self.k, t // self.k, -1).mean(2)

    def fit(self, x, logits, labels):
        e = self.embed(x)
        self.mu, self.sd = e.mean(0), e.std(0) + 1e-6
        u = _unit(((e - self.mu) / self.sd).reshape(len(e), -1))
        self.means = _unit(np.stack([u[labels == c].mean(0) for c in np.unique(labels)]))
        return self

    def score(self, x, logits):
        u = _unit(((self.embed(x) - self.mu) / self.sd).reshape(len(x), -1))
        sims = u @ self.means.T
        if self.match == "predicted":
            return 1.0 - sims[np.arange(len(u)), logits.argmax(1)]
        return 1.0 - sims.max(1)


class ViewDisagreement:
    """1 − the mean probability the clip's views (its first, middle and last 60%) give the class the whole clip is
    given: a known gesture is the same gesture in every part of it; an unfamiliar one may be named differently."""

    def fit(self, emb, logits, labels):
        return self

    def score_answers(self, ans):
        p = np.exp(ans["view_logits"] - ans["view_logits"].max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        first, n = ans["view_first"], len(p)
        ends = list(first[1:]) + [n]
        out = []
        for a, b in zip(first, ends):
            whole = p[a].argmax()
            out.append(1.0 - p[a + 1:b, whole].mean() if b - a > 1 else 0.0)
        return np.array(out)
