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

from bot.knowledge import load
from bot.understanding import matcher as M
from bot.understanding import semantic

FOLDS = 5


class _Fixed:
    """A semantic stage that answers from precomputed vectors (the held-out phrase's own)."""

    def __init__(self, classifier: semantic.Classifier, vectors: dict[str, semantic.Matrix]):
        self.classifier = classifier
        self.vectors = vectors

    def classify(self, text: str) -> semantic.Verdict:
        vector = self.vectors.get(text)
        if vector is None:  # the place-spelled text: embed it
            vector = semantic.embedder().embed_one(semantic.model_text(text))
        return self.classifier.verdict(vector)


def held_out() -> list[tuple[str, M.Match, semantic.Verdict]]:
    """(true class, lexical match, verdict) for every phrase, by stages that never saw it."""
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
    out: list[tuple[str, M.Match, semantic.Verdict]] = []
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
        for i in held:
            lexical = matcher.lexical_match(texts[i])
            out.append((labels[i], lexical, stage.classify(matcher.model_text(texts[i]))))
        print(f"fold {k + 1}/{FOLDS} done")
    return out


def decide(matcher: M.Matcher, lexical: M.Match, verdict: semantic.Verdict) -> M.Match:
    """The cascade's verdict from the two stages' (what ``Matcher._cascade`` does)."""
    if lexical.outcome is M.Outcome.EMPTY:
        return lexical
    if lexical.outcome is M.Outcome.MEDICAL:
        sure = matcher._sure(verdict)
        return M.Match(M.Outcome.CONFIDENT, verdict.ranked) if sure else lexical
    if lexical.outcome is M.Outcome.CONFIDENT and lexical.score >= M.NEAR_COPY:
        return lexical
    if matcher._other_job(lexical.words):
        return M.Match(M.Outcome.OFF_TOPIC, lexical.ranked, lexical.words)
    return matcher._semantic_match(verdict, lexical)


def score(
    matcher: M.Matcher, results: list[tuple[str, M.Match, semantic.Verdict]]
) -> tuple[float, float, float]:
    """(right, wrong, rejected) shares under the module's current thresholds."""
    right = wrong = rejected = in_scope = oos = 0
    for label, lexical, verdict in results:
        found = decide(matcher, lexical, verdict)
        answered = found.outcome is M.Outcome.CONFIDENT
        if label == semantic.OOS:
            oos += 1
            rejected += not answered
        else:
            in_scope += 1
            right += answered and found.intent == label
            wrong += answered and found.intent != label
    return right / in_scope, wrong / in_scope, rejected / oos


def main() -> None:
    """Print the grid around the agreement rule, and the rule switched off."""
    results = held_out()
    kb = load()
    matcher = M.Matcher(list(kb.intents.values()), kb.lexicon, set())
    saved = (M.AGREE_PROB, M.AGREE_SCORE)
    M.AGREE_PROB = 2.0
    right, wrong, rejected = score(matcher, results)
    print(f"no agreement rule: right {right:.1%} wrong {wrong:.1%} rejected {rejected:.1%}")
    for prob, lex in itertools.product(np.arange(0.25, 0.76, 0.05), (0.25, 0.30, 0.35, 0.40)):
        M.AGREE_PROB, M.AGREE_SCORE = float(prob), lex
        right, wrong, rejected = score(matcher, results)
        print(
            f"agree prob {prob:.2f} lexical {lex:.2f}: right {right:.1%} wrong {wrong:.1%} "
            f"rejected {rejected:.1%}"
        )
    M.AGREE_PROB, M.AGREE_SCORE = saved
    disputed = (M.DISPUTE_SCORE, M.DISPUTE_RANK)
    for lex, rank in itertools.product((0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 2.0), (2, 3)):
        M.DISPUTE_SCORE, M.DISPUTE_RANK = lex, rank
        right, wrong, rejected = score(matcher, results)
        print(
            f"dispute lexical {lex:.2f} rank {rank}: right {right:.1%} wrong {wrong:.1%} "
            f"rejected {rejected:.1%}"
        )
    M.DISPUTE_SCORE, M.DISPUTE_RANK = disputed
    below = M.DISPUTE_BELOW
    for cap in (0.90, 0.95, 0.98, 1.01):
        M.DISPUTE_BELOW = cap
        right, wrong, rejected = score(matcher, results)
        print(
            f"dispute below {cap:.2f}: right {right:.1%} wrong {wrong:.1%} rejected {rejected:.1%}"
        )
    M.DISPUTE_BELOW = below
    right, wrong, rejected = score(matcher, results)
    print(
        f"current prob {saved[0]:.2f} lexical {saved[1]:.2f}: right {right:.1%} "
        f"wrong {wrong:.1%} rejected {rejected:.1%}"
    )


if __name__ == "__main__":
    main()
