"""Benchmark: the single-machine limits behind the numbers in bench/README.md.

1. SQLite commits per second as the store opens it (WAL, synchronous=FULL): one writer, then two
   writer processes on the same file (SQLite allows one writer at a time).
2. The store's own transactions: ``Engine.handle`` of a question (one commit each) per second,
   the bytes a user and a handled update take on disk.
3. Start-up scheduling of pending reminders: ``bot.telegram.delivery.schedule`` for N pending
   notifications all due within the hour (each one becomes a JobQueue job; until commit 2c0b633
   each was first looked up by name among all jobs, which made this quadratic).

Run: .venv/bin/python bench/limits.py [--seconds 3] [--schedule 1000,2000,4000,10000]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from _common import DEFAULT_TOKEN, ROOT, table


def commit_loop(path: str, seconds: float, start_at: float) -> int:
    """Insert one row per transaction until ``seconds`` have passed; the number of commits."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    while time.time() < start_at:
        time.sleep(0.001)
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t (v) VALUES ('x')")
        db.execute("COMMIT")
        n += 1
    db.close()
    return n


def commits_per_second(folder: Path, writers: int, seconds: float) -> float:
    path = folder / f"commits{writers}.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    db.close()
    start_at = time.time() + 0.5
    with multiprocessing.get_context("spawn").Pool(writers) as pool:
        counts = pool.starmap(commit_loop, [(str(path), seconds, start_at)] * writers)
    return sum(counts) / seconds


def engine_transactions(folder: Path, seconds: float) -> tuple[float, float]:
    """Engine.handle of a question, a new user each time: per second, and with update ids."""
    from bot.engine import Engine
    from bot.evaluate import load_set
    from bot.knowledge import load
    from bot.store import Store

    questions = [e.text for e in load_set(ROOT / "tests" / "data" / "labelled.yaml")]
    engine = Engine(load(), Store(folder / "engine.db"))
    for q in questions:  # warm the matcher's caches, as a running bot has them
        engine.matcher.match(q)
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        engine.handle(str(10_000_000 + n), questions[n % len(questions)], True, 500_000_000 + n)
        n += 1
    engine.store.close()
    size = sum(p.stat().st_size for p in folder.glob("engine.db*"))
    return n / seconds, size / n


def update_row_bytes(folder: Path, rows: int = 200_000) -> float:
    """Bytes the store keeps per handled Telegram update (``updates`` table, pruned after 7 days
    but only when the bot starts)."""
    from bot.store import Store

    store = Store(folder / "updates.db")
    empty = (folder / "updates.db").stat().st_size
    now = time.time()
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO updates (id, at) VALUES (?, ?)",
            ((900_000_000 + i, now) for i in range(rows)),
        )
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return ((folder / "updates.db").stat().st_size - empty) / rows


async def schedule_time(count: int) -> float:
    from telegram.ext import Application

    from bot.reminders import Notification
    from bot.telegram.delivery import schedule

    app = Application.builder().token(DEFAULT_TOKEN).build()
    assert app.job_queue is not None
    now = time.time()
    pending = [  # spread over the next 50 minutes: inside the horizon, so every one is a job
        Notification(i, i, str(i), now + 60 + i % 3000, 0, "2030-01-01")
        for i in range(1, count + 1)
    ]
    began = time.perf_counter()
    added = schedule(app.job_queue, pending)
    took = time.perf_counter() - began
    assert added == count, f"scheduled {added} of {count}"
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each timed loop")
    parser.add_argument(
        "--schedule",
        default="1000,2000,4000,10000",
        help="pending notification counts to schedule",
    )
    parser.add_argument("--tmpdir", default=None, help="where the temporary databases go")
    args = parser.parse_args()
    print(f"careerbot limits: {os.cpu_count()} CPUs")
    rows = []
    with tempfile.TemporaryDirectory(prefix="careerbot-limits-", dir=args.tmpdir) as tmp:
        folder = Path(tmp)
        for writers in (1, 2):
            rate = commits_per_second(folder, writers, args.seconds)
            rows.append([f"SQLite commits/s, WAL + synchronous=FULL, {writers} writer(s)", rate])
        per_s, per_user = engine_transactions(folder, args.seconds)
        rows.append(["Engine.handle(question) per s, new user each, one commit each", per_s])
        rows.append(["store bytes per user after one question (users+updates rows)", per_user])
        rows.append(["store bytes per handled update (updates table)", update_row_bytes(folder)])
    for count in (int(c) for c in args.schedule.split(",") if c):
        seconds = asyncio.run(schedule_time(count))
        rows.append([f"start-up: schedule {count} pending notifications, seconds", seconds])
    print(table(["measure", "value"], rows))


if __name__ == "__main__":
    main()
