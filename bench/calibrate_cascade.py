"""Calibrate the cascade's agreement rule by cross-validation on the intents only.

Each fold builds both stages from the other four (the lexical matcher from their examples, the
classifier from their vectors) and plays the held-out phrases, intents' and
``out_of_scope.yaml``'s, through the whole decision (gates, near-copies, the classifier, the
stages agreeing). The grid varies ``AGREE_PROB`` and ``AGREE_SCORE`` (both stages rank the same
intent first: answer), then ``DISPUTE_SCORE``, ``DISPUTE_RANK`` and ``DISPUTE_BELOW`` (the
lexical stage is confident of another of the classifier's top intents: "did you mean"), and
reports answered right, answered wrong and off-topic rejected. No test
set is read. ``python bench/calibrate_cascade.py``
"""

from __future__ import annotations

import itertools
import time

import numpy as np
from _common import shares

from bot.knowledge import load
from bot.understanding import matcher as M
from bot.understanding import semantic

FOLDS = 5


class _Fixed:
    """A semantic stage that answers from precomputed vectors (the held-out phrase's own)."""

    def __init__(self, classifier: semantic.Classifier, vectors: dict[str, semantic.Matrix]):
        self.classifier = classifier
        self.vectors = vectors
        self.verdicts: dict[str, semantic.Verdict] = {}

    def classify(self, text: str) -> semantic.Verdict:
        if text not in self.verdicts:
            vector = self.vectors.get(text)
            if vector is None:  # the place-spelled text: embed it
                vector = semantic.embedder().embed_one(semantic.model_text(text))
            self.verdicts[text] = self.classifier.verdict(vector)
        return self.verdicts[text]


Held = tuple[str, str, M.Match, M.Matcher]  # (true class, phrase, lexical match, fold's matcher)


def held_out() -> list[Held]:
    """Every phrase with its lexical match, by stages (of its fold) that never saw it."""
    kb = load()
    names = {n for e in kb.entries.values() for d in e.details for n in d.names}
    texts, labels = semantic.training_data(kb)
    start = time.perf_counter()
    vectors = semantic.embedder().embed(texts)
    print(f"embedded {len(texts)} phrases in {time.perf_counter() - start:.1f} s")
    rng = np.random.default_rng(0)
    fold = np.zeros(len(labels), np.int64)
    for label in set(labels):
        idx = np.array([i for i, lab in enumerate(labels) if lab == label])
        fold[rng.permutation(idx)] = np.arange(len(idx)) % FOLDS
    out: list[Held] = []
    for k in range(FOLDS):
        train = np.flatnonzero(fold != k)
        held = np.flatnonzero(fold == k)
        kept = {(labels[i], texts[i]) for i in train}
        intents = [
            i.model_copy(update={"examples": [e for e in i.examples if (i.id, e) in kept]})
            for i in kb.intents.values()
        ]
        model = semantic.Classifier.fit("cv", vectors[train], [labels[i] for i in train])
        stage = _Fixed(model, {texts[i]: vectors[i] for i in held})
        matcher = M.Matcher(intents, kb.lexicon, names, stage)  # type: ignore[arg-type]
        out += [(labels[i], texts[i], matcher.lexical_match(texts[i]), matcher) for i in held]
        print(f"fold {k + 1}/{FOLDS} done")
    return out


def score(results: list[Held]) -> tuple[float, float, float]:
    """(right, wrong, rejected) shares of the cascade under the module's current thresholds."""
    outcomes = []
    for label, text, lexical, matcher in results:
        found = matcher._cascade(text, lexical)  # the cascade itself, gates included
        outcomes.append((label, found.intent if found.outcome is M.Outcome.CONFIDENT else None))
    return shares(outcomes, semantic.OOS)


def main() -> None:
    """Print the grid around the agreement rule, and the rule switched off."""
    results = held_out()
    saved = (M.AGREE_PROB, M.AGREE_SCORE)
    M.AGREE_PROB = 2.0
    right, wrong, rejected = score(results)
    print(f"no agreement rule: right {right:.1%} wrong {wrong:.1%} rejected {rejected:.1%}")
    for prob, lex in itertools.product(np.arange(0.25, 0.76, 0.05), (0.25, 0.30, 0.35, 0.40)):
        M.AGREE_PROB, M.AGREE_SCORE = float(prob), lex
        right, wrong, rejected = score(results)
        print(
            f"agree prob {prob:.2f} lexical {lex:.2f}: right {right:.1%} wrong {wrong:.1%} "
            f"rejected {rejected:.1%}"
        )
    M.AGREE_PROB, M.AGREE_SCORE = saved
    disputed = (M.DISPUTE_SCORE, M.DISPUTE_RANK)
    for lex, rank in itertools.product((0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 2.0), (2, 3)):
        M.DISPUTE_SCORE, M.DISPUTE_RANK = lex, rank
        right, wrong, rejected = score(results)
        print(
            f"dispute lexical {lex:.2f} rank {rank}: right {right:.1%} wrong {wrong:.1%} "
            f"rejected {rejected:.1%}"
        )
    M.DISPUTE_SCORE, M.DISPUTE_RANK = disputed
    below = M.DISPUTE_BELOW
    for cap in (0.90, 0.95, 0.98, 1.01):
        M.DISPUTE_BELOW = cap
        right, wrong, rejected = score(results)
        print(
            f"dispute below {cap:.2f}: right {right:.1%} wrong {wrong:.1%} rejected {rejected:.1%}"
        )
    M.DISPUTE_BELOW = below
    right, wrong, rejected = score(results)
    print(
        f"current prob {saved[0]:.2f} lexical {saved[1]:.2f}: right {right:.1%} "
        f"wrong {wrong:.1%} rejected {rejected:.1%}"
    )


if __name__ == "__main__":
    main()
