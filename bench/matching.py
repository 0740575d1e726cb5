"""Benchmark: matching latency per question, and how long `ask` takes to start.

Run: .venv/bin/python bench/matching.py   (numbers go in the README, "Understanding")
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import percentile  # bench/ is on sys.path when run as a script

from bot.evaluate import load_set
from bot.knowledge import load
from bot.understanding import build_matcher

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 20


def main() -> None:
    started = time.perf_counter()
    kb = load()
    loaded = time.perf_counter()
    matcher = build_matcher(kb)
    built = time.perf_counter()
    questions = [e.text for e in load_set(ROOT / "tests" / "data" / "labelled.yaml")]
    for q in questions:  # warm the spelling-correction cache as a running bot would be
        matcher.match(q)
    timings: list[float] = []
    for _ in range(ROUNDS):
        for q in questions:
            t = time.perf_counter()
            matcher.match(q)
            timings.append(time.perf_counter() - t)
    cold: list[float] = []
    for q in questions:  # a fresh matcher: every unknown word is corrected for the first time
        fresh = build_matcher(kb)
        t = time.perf_counter()
        fresh.match(q)
        cold.append(time.perf_counter() - t)
        if len(cold) == 60:
            break
    starts: list[float] = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot", "ask", "salary?"],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        starts.append(time.perf_counter() - t)
    examples = sum(len(i.examples) for i in kb.intents.values())
    print(f"intents: {len(kb.intents)}, examples: {examples}, questions: {len(questions)}")
    print(
        f"load data: {(loaded - started) * 1000:.0f} ms, build matcher: "
        f"{(built - loaded) * 1000:.0f} ms"
    )
    print(
        f"match, warm ({len(timings)} calls): p50 {percentile(timings, 50) * 1e3:.3f} ms, "
        f"p99 {percentile(timings, 99) * 1e3:.3f} ms, max {max(timings) * 1e3:.3f} ms"
    )
    print(
        f"match, cold cache ({len(cold)} calls): p50 {percentile(cold, 50) * 1e3:.3f} ms, "
        f"p99 {percentile(cold, 99) * 1e3:.3f} ms"
    )
    print(
        f"`ask salary?` wall time (process start to answer, 5 runs): "
        f"median {statistics.median(starts):.2f} s, max {max(starts):.2f} s"
    )


if __name__ == "__main__":
    main()
