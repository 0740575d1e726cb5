"""Benchmark the understanding stage's cost: per-message latency inside the engine, peak RSS,
and ``ask`` start-up against a bare ``python -c "import telegram.ext, yaml, rapidfuzz, pydantic"``.

Run: .venv/bin/python bench/semantic_cost.py   (numbers go in the README, "Understanding")
The messages are the labelled questions (for cost only) plus long and odd inputs.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import percentile  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
BARE = "import telegram.ext, yaml, rapidfuzz, pydantic"
RUNS = 5


def engine_child() -> None:
    """In a child process: build the engine as `run` does and time every message."""
    import telegram.ext  # noqa: F401  # what `run` has loaded too, for a fair RSS

    from bot.engine import Engine
    from bot.evaluate import load_set
    from bot.knowledge import load
    from bot.store import Store

    engine = Engine(load(), Store(":memory:"))
    texts = [e.text for e in load_set(ROOT / "tests" / "data" / "labelled.yaml")]
    texts += ["x" * 4096, "😀" * 2000, "salary " * 585, "مرحبا كيف أصبح مدير مستشفى"]
    timings, cpu = [], []
    for n, text in enumerate(texts * 3):
        start, start_cpu = time.perf_counter(), time.process_time()
        engine.handle(f"b{n}", text)
        timings.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # CPU time is what a message costs; wall time adds the waits of a shared, busy machine
    print(
        f"engine.handle ({len(timings)} messages): wall p50 {percentile(timings, 50) * 1e3:.1f} "
        f"ms, p99 {percentile(timings, 99) * 1e3:.1f} ms, max {max(timings) * 1e3:.1f} ms; "
        f"CPU p50 {percentile(cpu, 50) * 1e3:.1f} ms, p99 {percentile(cpu, 99) * 1e3:.1f} ms; "
        f"peak RSS {rss:.0f} MB"
    )


def wall(cmd: list[str]) -> float:
    """Seconds one command takes, start to exit."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    """Print the numbers."""
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    subprocess.run([sys.executable, __file__, "--child"], check=True, cwd=ROOT)
    bare, ask = [], []
    for _ in range(RUNS):  # interleaved, so both see the same machine
        bare.append(wall([sys.executable, "-c", BARE]))
        ask.append(wall([sys.executable, "-m", "bot", "ask", "salary?"]))
    b, a = statistics.median(bare), statistics.median(ask)
    print(f"bare imports: median {b:.2f} s; `ask salary?`: median {a:.2f} s ({a / b:.1f}x)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        engine_child()
    else:
        main()
