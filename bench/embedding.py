"""Measure the embedding runtime's settings: load time, per-message p50/p99, peak RSS.

Run one setting per process (RSS is per process):
``python bench/embedding.py LEVEL [THREADS] [ARENA 0|1] [MEM_PATTERN 0|1] [MAX_TOKENS]``,
LEVEL all|extended|basic|none; ``python bench/embedding.py sweep`` runs the grid, one child each.
The messages are the intents' examples plus one 4,000-character message (a stand-in for real
traffic; no test set is read).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time

import numpy as np

from bot.knowledge import load
from bot.understanding import embedder
from bot.understanding.embedder import Embedder

SWEEP = [
    ("basic", "1", "1", "1"),
    ("basic", "1", "0", "0"),
    ("extended", "1", "0", "0"),
    ("all", "1", "0", "0"),
    ("none", "1", "0", "0"),
    ("basic", "2", "0", "0"),
]


def main(
    level: str = "all", threads: str = "1", arena: str = "1", pattern: str = "1", tokens: str = ""
) -> None:
    """Print one line of numbers for one setting."""
    if tokens:
        embedder.MAX_TOKENS = int(tokens)
    texts = [e for i in load().intents.values() for e in i.examples][:400]
    texts.append("I keep getting asked to cover for our department head " * 70)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    emb = Embedder(
        optimization=level, threads=int(threads), arena=arena == "1", mem_pattern=pattern == "1"
    )
    loaded = time.perf_counter() - start
    emb.embed_one("warm up")
    times = []
    for text in texts:
        t0 = time.perf_counter()
        emb.embed_one(text)
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1000
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{level:9} threads {threads} arena {arena} pattern {pattern} "
        f"tokens {embedder.MAX_TOKENS}: load {loaded:.2f} s  p50 {np.percentile(ms, 50):.1f} ms  "
        f"p99 {np.percentile(ms, 99):.1f} ms  max {ms.max():.1f} ms  "
        f"peak RSS {rss:.0f} MB (before the model {base:.0f} MB)"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["sweep"]:
        for setting in SWEEP:
            subprocess.run([sys.executable, __file__, *setting, *sys.argv[2:]], check=True)
    else:
        main(*sys.argv[1:])
