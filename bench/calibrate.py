"""Choose the matcher's confidence thresholds without touching the labelled test set.

5-fold cross-validation over the intents' own examples (each fold's examples are matched by a
matcher built from the other four) plus the off-topic questions in bench/calibration_offtopic.txt.
For each (CONFIDENT, MARGIN) pair it reports in-scope accuracy, wrong answers and off-topic
rejection; the objective counts a wrong answer as twice as bad as a missed one.

Run: .venv/bin/python bench/calibrate.py
"""

from __future__ import annotations

import random
from pathlib import Path

from bot.knowledge import load
from bot.understanding import build_matcher
from bot.understanding import matcher as M

HERE = Path(__file__).resolve().parent
FOLDS = 5


def collect() -> list[tuple[str, list[tuple[str, float]], M.Outcome]]:
    kb = load()
    names = {n for e in kb.entries.values() for d in e.details for n in d.names}
    items = [(i.id, e) for i in kb.intents.values() for e in i.examples]
    random.Random(7).shuffle(items)
    saved = (M.CONFIDENT, M.MARGIN, M.UNSURE)
    M.CONFIDENT, M.MARGIN, M.UNSURE = 0.0, 0.0, 0.0  # record raw rankings
    results = []
    try:
        for fold in range(FOLDS):
            held = set(items[fold::FOLDS])
            intents = [
                i.model_copy(update={"examples": [e for e in i.examples if (i.id, e) not in held]})
                for i in kb.intents.values()
            ]
            matcher = M.Matcher(intents, kb.lexicon, names)
            for label, text in held:
                match = matcher.match(text)
                results.append((label, match.ranked, match.outcome))
        matcher = build_matcher(kb)
        for line in (HERE / "calibration_offtopic.txt").read_text().splitlines():
            if line.strip():
                match = matcher.match(line)
                results.append(("oos", match.ranked, match.outcome))
    finally:
        M.CONFIDENT, M.MARGIN, M.UNSURE = saved
    return results


def judge(
    results, t: float, m: float, t2: float = 1.0, m2: float = 1.0
) -> tuple[float, float, float]:
    ins = oos = right = wrong = rejected = 0
    for label, ranked, outcome in results:
        passed = outcome in (M.Outcome.CONFIDENT, M.Outcome.UNSURE) and ranked
        confident = False
        if passed:
            top = ranked[0][1]
            second = ranked[1][1] if len(ranked) > 1 else 0.0
            confident = (top >= t and top - second >= m) or (top >= t2 and top - second >= m2)
        if label == "oos":
            oos += 1
            rejected += not confident
        else:
            ins += 1
            right += confident and ranked[0][0] == label
            wrong += confident and ranked[0][0] != label
    return right / ins, wrong / ins, rejected / max(1, oos)


def main() -> None:
    results = collect()
    rows = []
    for t in [x / 100 for x in range(40, 62, 2)]:
        for m in [x / 100 for x in range(0, 10, 2)]:
            for t2 in [x / 100 for x in range(26, 50, 2)]:
                for m2 in [x / 100 for x in range(6, 22, 2)]:
                    acc, wrong, rej = judge(results, t, m, t2, m2)
                    rows.append((acc - 2 * wrong + rej, t, m, t2, m2, acc, wrong, rej))
    rows.sort(reverse=True)
    print("CONFIDENT MARGIN | CLEAR_LEAD_SCORE CLEAR_LEAD  accuracy  wrong  off-topic rejected")
    for _, t, m, t2, m2, acc, wrong, rej in rows[:10]:
        print(f"{t:9.2f} {m:6.2f} | {t2:16.2f} {m2:10.2f}  {acc:8.1%} {wrong:6.1%}  {rej:8.1%}")
    acc, wrong, rej = judge(results, M.CONFIDENT, M.MARGIN, M.CLEAR_SCORE, M.CLEAR_LEAD)
    print(
        f"current {M.CONFIDENT:.2f}/{M.MARGIN:.2f} | {M.CLEAR_SCORE:.2f}/{M.CLEAR_LEAD:.2f}: "
        f"{acc:.1%} right, {wrong:.1%} wrong, {rej:.1%} off-topic rejected"
    )


if __name__ == "__main__":
    main()
