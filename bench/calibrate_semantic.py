"""Calibrate the semantic stage's thresholds by cross-validation on the intents only.

Every training phrase (intents and ``out_of_scope.yaml``) is held out once (5 folds, stratified
by class); the classifier trained on the rest judges it. The grid search then picks the
confidence, margin and nearest-example cosine that answer the most held-out in-scope phrases
right while answering at most ``MAX_WRONG`` of them wrong and rejecting at least ``MIN_REJECT``
of the held-out out-of-scope ones. No test set is read. ``python bench/calibrate_semantic.py``
"""

from __future__ import annotations

import itertools
import time

import numpy as np
from _common import shares

from bot.knowledge import load
from bot.understanding import semantic

FOLDS = 5
MAX_WRONG = 0.03
MIN_REJECT = 0.97


def held_out_verdicts() -> list[tuple[str, semantic.Verdict]]:
    """(true class, verdict) for every training phrase, judged by a model that never saw it."""
    kb = load()
    texts, labels = semantic.training_data(kb)
    start = time.perf_counter()
    vectors = semantic.embedder().embed(texts)
    print(f"embedded {len(texts)} phrases in {time.perf_counter() - start:.1f} s")
    rng = np.random.default_rng(0)
    fold = np.zeros(len(labels), np.int64)
    for label in set(labels):
        idx = np.array([i for i, lab in enumerate(labels) if lab == label])
        fold[rng.permutation(idx)] = np.arange(len(idx)) % FOLDS
    out: list[tuple[str, semantic.Verdict]] = []
    for k in range(FOLDS):
        train = np.flatnonzero(fold != k)
        model = semantic.Classifier.fit("cv", vectors[train], [labels[i] for i in train])
        out += [(labels[i], model.verdict(vectors[i])) for i in np.flatnonzero(fold == k)]
    return out


def score(
    verdicts: list[tuple[str, semantic.Verdict]], conf: float, margin: float, cos: float
) -> tuple[float, float, float]:
    """(right, wrong, rejected) shares under one setting."""
    return shares(
        (
            (label, v.top)
            if v.top != semantic.OOS
            and v.ranked[0][1] >= conf
            and v.margin >= margin
            and v.nearest[v.top] >= cos
            else (label, None)
            for label, v in verdicts
        ),
        semantic.OOS,
    )


def main() -> None:
    """Print the best settings and the neighbourhood around them."""
    verdicts = held_out_verdicts()
    results = []
    for conf, margin, cos in itertools.product(
        np.arange(0.3, 0.99, 0.04), np.arange(0.0, 0.4, 0.1), np.arange(0.3, 0.75, 0.05)
    ):
        right, wrong, rejected = score(verdicts, conf, margin, cos)
        if wrong <= MAX_WRONG and rejected >= MIN_REJECT:
            results.append((right, -wrong, conf, margin, cos, rejected))
    results.sort(reverse=True)
    for right, neg_wrong, conf, margin, cos, rejected in results[:8]:
        print(
            f"conf {conf:.2f} margin {margin:.2f} cos {cos:.2f}: right {right:.1%} "
            f"wrong {-neg_wrong:.1%} off-topic rejected {rejected:.1%}"
        )
    from bot.understanding import matcher as m

    now = (m.SEMANTIC_CONFIDENT, m.SEMANTIC_MARGIN, m.NEAREST_COSINE)
    right, wrong, rejected = score(verdicts, *now)
    print(
        f"current conf {now[0]:.2f} margin {now[1]:.2f} cos {now[2]:.2f}: right {right:.1%} "
        f"wrong {wrong:.1%} off-topic rejected {rejected:.1%}"
    )
    in_scope = [(label, v) for label, v in verdicts if label != semantic.OOS]
    top1 = sum(v.top == label for label, v in in_scope) / len(in_scope)
    print(f"held-out top-1 (any confidence): {top1:.1%}")


if __name__ == "__main__":
    main()
