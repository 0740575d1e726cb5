"""Benchmark conversations' cost: per-message CPU and wall time inside the engine with context in
play (the conversation set, each conversation one user, three rounds), peak RSS, and the bytes of
context a user keeps in the store.

Run: .venv/bin/python bench/conversation_cost.py   (numbers go in the README, "Conversations")
"""

from __future__ import annotations

import json
import resource
import time

from _common import percentile  # bench/ is on sys.path when run as a script

ROUNDS = 3


def main() -> None:
    """Play the conversation set and print the figures."""
    import telegram.ext  # noqa: F401  # what `run` has loaded too, for a fair RSS

    from bot.engine import Engine
    from bot.evaluate import load_conversations
    from bot.knowledge import load
    from bot.store import Store

    engine = Engine(load(), Store(":memory:"))
    conversations = load_conversations().conversations
    wall, cpu = [], []
    for n in range(ROUNDS):
        for c, conversation in enumerate(conversations):
            for turn in conversation.turns:
                start, start_cpu = time.perf_counter(), time.process_time()
                engine.handle(f"r{n}-{c}", turn.say)
                wall.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
    sizes = [
        len(json.dumps(engine.store.user(f"r0-{c}").context)) for c in range(len(conversations))
    ]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"messages: {len(cpu)} ({len(conversations)} conversations x {ROUNDS})")
    print(
        f"CPU per message: p50 {percentile(cpu, 50) * 1000:.1f} ms, "
        f"p99 {percentile(cpu, 99) * 1000:.1f} ms"
    )
    print(
        f"wall per message: p50 {percentile(wall, 50) * 1000:.1f} ms, "
        f"p99 {percentile(wall, 99) * 1000:.1f} ms"
    )
    print(f"peak RSS: {rss:.0f} MB")
    print(f"context kept per user: max {max(sizes)} bytes, mean {sum(sizes) / len(sizes):.0f}")


if __name__ == "__main__":
    main()
