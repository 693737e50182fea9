"""Open-set scores: how unlike the training clips an input is. Higher means more likely unknown.

    s = create_score("knn").fit(embeddings, logits, labels)      # at training time
    s.score(embeddings, logits)                                    # (N,) at prediction time

Every score works on what any head gives: its logits and its embedding (the input of its last linear
layer, see models/heads.py `head_outputs`). Candidates, all measured on the leave-one-action-out × leave-one-subject-out
protocol (docs/model-card.md, "Open set"):

- `msp`: 1 − the top softmax probability. Sees only the logits, which stay confident far from the data.
- `energy`: −logsumexp(logits) (Liu et al. 2020). Same weakness.
- `prototype`: cosine distance to a class mean of the L2-normalised embeddings: the mean of the class the
  head predicts (`match="predicted"`, what training fits since session 4), or the nearest mean (`"nearest"`,
  models saved before, whose config has no `score_kwargs`). With `parts=True` (what training fits since
  session 8) each class also has a mean of its clips' middles (windows.py `clip_middle`), which a whole window
  of a longer stream (live, timelines: `windowed`; judge.py `Judge.window`) is compared with too: a live window
  that is all gesture (a steady wave) is near the middle of the wave clips, though far from their
  rest–gesture–rest whole. Whole clips, and a window's parts, are compared with the whole clips' means only.
  With `clusters=K` (`actcap train --open-set-clusters K`) each class and kind has up to K means, of the
  clusters its clips form (k-means on the unit sphere), and an input is compared with the nearest of its class's:
  a class whose clips come in several looks (people filmed whole and from the waist up: the shipped model's
  training data, docs/model-card.md "Framing") is not one mean between them, far from both.
- `knn`: cosine distance to the k-th nearest training clip (Sun et al. 2022), no class structure assumed.
- `mahalanobis`: distance to the nearest class mean under the shared, shrunk covariance (Lee et al. 2018).

The threshold is not a property of the score: `threshold_for` applies the documented rule to scores of
known clips that the scoring model never saw (held-out groups; see held_out.py).
"""

from __future__ import annotations

import numpy as np

from actcap.registry import Registry

SCORES: Registry = Registry("open-set score")
DEFAULT_SCORE = "prototype"
"""Chosen by measurement: the best AUROC both against a left-out real action and against the synthetic
negatives (docs/model-card.md, "Open set"; the logit scores rate the negatives as *more* familiar)."""
DEFAULT_SCORE_KWARGS = {"prototype": {"match": "predicted", "parts": True}}
"""What training fits (stored as the model's `open_set.score_kwargs`). The predicted class's mean, not the
nearest: an input unlike the class the head names is unknown even when it lies near another class. Never
lower than the nearest-mean score, so whatever that rejects far from the data it still rejects; measured
better on every axis of the protocol (studies/openset_rules.py, docs/model-card.md "Open set")."""
KNOWN_QUANTILE = 0.95
"""The threshold rule: the score below which this fraction of held-out known clips falls."""


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)


class Score:
    name = ""
    parts = False
    """Whether fit wants the embeddings of the training clips' parts too (`kinds` > 0; held_out.fit_score)."""

    def fit(self, emb: np.ndarray, logits: np.ndarray, labels: np.ndarray, kinds: np.ndarray | None = None
            ) -> "Score":
        return self

    def score(self, emb: np.ndarray, logits: np.ndarray, windowed: bool = False) -> np.ndarray:
        """(B, E) embeddings and (B, C) logits → (B,) scores; `windowed`: windows of a longer stream."""
        raise NotImplementedError

    def tensors(self) -> dict[str, np.ndarray]:
        """What the model file keeps to score later (as `open_set.<name>` tensors)."""
        return {}

    def load(self, tensors: dict[str, np.ndarray]) -> "Score":
        return self


def spherical_kmeans(u: np.ndarray, k: int, iterations: int = 25) -> np.ndarray:
    """(N, E) unit vectors → (≤ k, E) unit centres of their clusters by cosine similarity: the first centre is the
    mean direction, each next the vector least like the centres so far (deterministic), then Lloyd's steps. k 1:
    the mean direction alone; clusters left empty are dropped."""
    centres = _unit(u.mean(0, keepdims=True))
    for _ in range(1, min(k, len(u))):
        centres = np.vstack([centres, u[(u @ centres.T).max(1).argmin()]])
    if len(centres) == 1:
        return centres
    for _ in range(iterations):
        nearest = (u @ centres.T).argmax(1)
        kept = [j for j in range(len(centres)) if (nearest == j).any()]
        moved = _unit(np.stack([u[nearest == j].mean(0) for j in kept]))
        if len(moved) == len(centres) and np.allclose(moved, centres):
            break
        centres = moved
    return centres


@SCORES.register("msp")
class MaxSoftmax(Score):
    name = "msp"

    def score(self, emb, logits, windowed=False):
        z = logits - logits.max(1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        return 1.0 - p.max(1)


@SCORES.register("energy")
class Energy(Score):
    name = "energy"

    def score(self, emb, logits, windowed=False):
        m = logits.max(1)
        return -(m + np.log(np.exp(logits - m[:, None]).sum(1)))


@SCORES.register("prototype")
class Prototype(Score):
    name = "prototype"
    MATCHES = ("nearest", "predicted")

    def __init__(self, match: str = "nearest", parts: bool = False, clusters: int = 1):
        if match not in self.MATCHES:
            raise ValueError(f"prototype score: unknown match {match!r}; choose one of: {', '.join(self.MATCHES)}")
        if int(clusters) != clusters or clusters < 1:
            raise ValueError(f"prototype score: clusters must be a whole number >= 1; got {clusters!r}")
        self.match, self.parts, self.clusters = match, bool(parts), int(clusters)

    def fit(self, emb, logits, labels, kinds=None):
        """(N, E) embeddings of training clips (`kinds` 0) and of their middles (1) → unit means per class and
        kind present: one, or the centres of up to `clusters` clusters of its clips (`spherical_kmeans`)."""
        u, labels = _unit(emb), np.asarray(labels)
        kinds = np.zeros(len(labels), int) if kinds is None else np.asarray(kinds)
        means, classes, mean_kinds = [], [], []
        for c, k in sorted({(int(c), int(k)) for c, k in zip(labels, kinds)}):
            centres = spherical_kmeans(u[(labels == c) & (kinds == k)], self.clusters)
            means.append(centres)
            classes += [c] * len(centres)
            mean_kinds += [k] * len(centres)
        self.means = np.concatenate(means)  # (M, E) unit
        self.classes = np.array(classes)  # (M,) each mean's class
        self.kinds = np.array(mean_kinds)  # (M,) 0: whole clips, 1: their middles
        return self

    def score(self, emb, logits, windowed=False):
        sims = _unit(emb) @ self.means.T  # (B, M) cosine to every mean
        usable = np.ones(sims.shape, bool) if windowed else (self.kinds == 0)[None]  # clips: whole clips' means
        if self.match == "predicted":  # only the means of the class the head names
            usable = usable & (self.classes[None] == np.asarray(logits).argmax(1)[:, None])
        return 1.0 - np.where(usable, sims, -np.inf).max(1)

    def tensors(self):
        return {"means": self.means.astype(np.float32), "classes": self.classes.astype(np.int64),
                "kinds": self.kinds.astype(np.int64)}

    def load(self, tensors):
        self.means = np.asarray(tensors["means"])
        m = len(self.means)  # models saved before session 8: one mean per class, whole clips
        self.classes = np.asarray(tensors.get("classes", np.arange(m)))
        self.kinds = np.asarray(tensors.get("kinds", np.zeros(m, np.int64)))
        return self


@SCORES.register("knn")
class NearestClips(Score):
    name = "knn"

    def __init__(self, k: int = 1):
        self.k = k

    def fit(self, emb, logits, labels, kinds=None):
        self.bank = _unit(emb).astype(np.float32)  # (N, E)
        return self

    def score(self, emb, logits, windowed=False):
        sims = _unit(emb) @ self.bank.T  # (B, N)
        k = min(self.k, sims.shape[1])
        return 1.0 - np.sort(sims, axis=1)[:, -k]

    def tensors(self):
        return {"bank": self.bank}

    def load(self, tensors):
        self.bank = np.asarray(tensors["bank"])
        return self


@SCORES.register("mahalanobis")
class Mahalanobis(Score):
    name = "mahalanobis"

    def __init__(self, shrink: float = 0.5):
        self.shrink = shrink

    def fit(self, emb, logits, labels, kinds=None):
        classes = np.unique(labels)
        self.means = np.stack([emb[labels == c].mean(0) for c in classes])  # (C, E)
        centred = emb - self.means[np.searchsorted(classes, labels)]
        cov = centred.T @ centred / max(len(emb) - len(classes), 1)  # (E, E) shared within-class covariance
        # few clips, many dimensions: shrink towards the mean variance so the inverse exists and is tame
        # (a floor on the variance: a handful of identical clips, as a taught fold can hold, has none)
        target = np.eye(len(cov)) * max(np.trace(cov) / len(cov), 1e-6)
        self.precision = np.linalg.inv((1 - self.shrink) * cov + self.shrink * target).astype(np.float32)
        return self

    def score(self, emb, logits, windowed=False):
        d = emb[:, None, :] - self.means[None]  # (B, C, E)
        return np.sqrt(np.einsum("bce,ef,bcf->bc", d, self.precision, d).min(1))

    def tensors(self):
        return {"means": self.means.astype(np.float32), "precision": self.precision}

    def load(self, tensors):
        self.means, self.precision = np.asarray(tensors["means"]), np.asarray(tensors["precision"])
        return self


def list_scores() -> list[str]:
    return SCORES.list()


def create_score(name: str, **kwargs) -> Score:
    return SCORES.get(name)(**kwargs)


def get_score_kwargs(name: str) -> dict:
    """The options training fits score `name` with (and stores in the model's `open_set.score_kwargs`)."""
    return dict(DEFAULT_SCORE_KWARGS.get(name, {}))


def load_score(spec: dict, tensors: dict[str, np.ndarray]) -> Score:
    """A model's fitted score from its `open_set` config and its `open_set.*` tensors (prefix removed).
    Configs without `score_kwargs` (saved before it existed) get the score's defaults, as they were fitted."""
    return create_score(spec["score"], **spec.get("score_kwargs", {})).load(tensors)


def threshold_for(held_out_known: np.ndarray, quantile: float = KNOWN_QUANTILE) -> float:
    """The documented rule: the `quantile` of the scores of known clips from groups the scoring model never
    saw, so about 1 − quantile of new people's known actions are rejected and anything stranger is too."""
    if len(held_out_known) == 0:
        raise ValueError("threshold_for needs scores of held-out known clips; got none")
    return float(np.quantile(held_out_known, quantile))


def auroc(known: np.ndarray, unknown: np.ndarray) -> float:
    """Probability that an unknown clip scores above a known one (ties count half)."""
    known, unknown = np.asarray(known, float), np.asarray(unknown, float)
    if not len(known) or not len(unknown):
        return float("nan")
    greater = (unknown[:, None] > known[None]).mean()
    ties = (unknown[:, None] == known[None]).mean()
    return float(greater + 0.5 * ties)
