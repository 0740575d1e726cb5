"""Benchmark: memory and latency of the real bot process as distinct users pile up.

``python -m bot run`` (no rate limit) against the Bot API stand-in of ``tests/botapi.py`` on
127.0.0.1. ``--users`` distinct users (default 20,000) each send one update, ``--concurrency``
of them at a time in a closed loop: mostly ``/start``, every 20th "salary?", every 10th a
question the bot cannot answer, each one different (so the unanswered-question log for
``/report`` is pushed past its bound). Every 1,000 users the bot process's own RSS is read from
``/proc/PID/status`` (never this driver's); after ``--warmup`` users the growth per 1,000 users
is the least-squares slope of those samples.

The engine's p99 is taken twice, after the warm-up and at the end: ``--probe`` questions from
``tests/data/labelled.yaml`` answered by an in-process ``Engine`` on a snapshot of the bot's own
database (SQLite's backup API), one at a time, each as a new user; and the same questions sent
through the bot at ``--probe-rate`` per second (no queueing), from getUpdates hand-out to the
reply's arrival.

    .venv/bin/python bench/users_soak.py                   # 20,000 users (~10 min on 2 cores)
    .venv/bin/python bench/users_soak.py --users 3000 --warmup 1000   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from _common import (
    DEFAULT_TOKEN,
    ROOT,
    BotApiStandIn,
    Recorder,
    percentile,
    running_bot,
    stop_process,
    store_size,
    table,
    vm_status,
)

BASE_USER = 3_000_000
PROBE_USER = 9_000_000
STEP_TIMEOUT = 60.0


def message_for(i: int) -> str:
    """The one update user ``i`` sends."""
    if i % 10 == 0:
        return f"how much does a pilot make in city number {i}"  # unanswered, distinct
    if i % 20 == 1:
        return "salary?"
    return "/start"


def snapshot(db: Path, to: Path) -> None:
    """A consistent copy of the bot's live database."""
    src, dst = sqlite3.connect(db), sqlite3.connect(to)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def engine_p99(db: Path, questions: list[str], tmp: Path, tag: str) -> tuple[float, float]:
    """p50 and p99 (ms) of Engine.handle on a snapshot of the bot's database, new users."""
    from bot.engine import Engine
    from bot.knowledge import load
    from bot.store import Store

    copy = tmp / f"probe-{tag}.db"
    snapshot(db, copy)
    engine = Engine(load(), Store(copy))
    engine.handle("warm", questions[0])
    times = []
    for n, question in enumerate(questions):
        began = time.perf_counter()
        engine.handle(f"probe-{tag}-{n}", question)
        times.append((time.perf_counter() - began) * 1000)
    engine.store.close()
    return percentile(times, 50), percentile(times, 99)


async def user(uid: int, text: str, api: BotApiStandIn, rec: Recorder) -> float | None:
    """One user's update; the latency (ms) from hand-out to reply, None on timeout."""
    update_id = api.text_message(uid, text)
    if not await rec.wait(uid, 1, STEP_TIMEOUT):
        return None
    return (rec.replies[uid][0][0] - rec.handout[update_id]) * 1000


async def probe_through_bot(
    api: BotApiStandIn, rec: Recorder, questions: list[str], rate: float, base: int
) -> tuple[float, float]:
    """p50 and p99 (ms) of the bot's reply latency at a gentle rate."""
    tasks = []
    for n, question in enumerate(questions):
        tasks.append(asyncio.create_task(user(base + n, question, api, rec)))
        await asyncio.sleep(1 / rate)
    got = [t for t in await asyncio.gather(*tasks) if t is not None]
    return percentile(got, 50), percentile(got, 99)


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares MB per 1,000 users."""
    n = len(points)
    if n < 2:
        return float("nan")
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    num = sum((x - mx) * (y - my) for x, y in points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return num / den * 1000


async def run(args: argparse.Namespace) -> None:
    from bot.evaluate import load_set

    labelled = [e.text for e in load_set(ROOT / "tests" / "data" / "labelled.yaml")]
    questions = labelled[: args.probe]
    with tempfile.TemporaryDirectory(prefix="careerbot-soak-") as tmp_name:
        tmp = Path(tmp_name)
        db = tmp / "bot.db"
        async with BotApiStandIn(token=DEFAULT_TOKEN) as api:
            rec = Recorder(api)
            async with running_bot(api, rec.watch, db, tmp) as (proc, startup):
                rss0 = vm_status(proc.pid).get("VmRSS", 0) / 1024
                print(f"bot up in {startup:.1f} s, RSS {rss0:.1f} MB", flush=True)
                samples: list[tuple[int, float]] = [(0, rss0)]
                latencies: list[float] = []
                timeouts = 0
                probes: dict[str, tuple[float, float, float, float]] = {}
                began = time.monotonic()
                next_user = 0
                while next_user < args.users:
                    batch = range(next_user, min(next_user + 1000, args.users))
                    sem = asyncio.Semaphore(args.concurrency)

                    async def one(i: int, sem: asyncio.Semaphore = sem) -> float | None:
                        async with sem:
                            return await user(BASE_USER + i, message_for(i), api, rec)

                    for got in await asyncio.gather(*(one(i) for i in batch)):
                        if got is None:
                            timeouts += 1
                        else:
                            latencies.append(got)
                    next_user = batch.stop
                    rss = vm_status(proc.pid).get("VmRSS", 0) / 1024
                    samples.append((next_user, rss))
                    print(
                        f"  {next_user:6,} users  bot RSS {rss:6.1f} MB  "
                        f"{time.monotonic() - began:6.0f} s",
                        flush=True,
                    )
                    if next_user == args.warmup or next_user == args.users:
                        tag = "start" if next_user == args.warmup else "end"
                        e50, e99 = await asyncio.to_thread(engine_p99, db, questions, tmp, tag)
                        base = PROBE_USER + (0 if tag == "start" else 100_000)
                        b50, b99 = await probe_through_bot(
                            api, rec, questions, args.probe_rate, base
                        )
                        probes[tag] = (e50, e99, b50, b99)
                        print(
                            f"  probe at {next_user:,}: engine p50/p99 {e50:.1f}/{e99:.1f} ms, "
                            f"through the bot {b50:.1f}/{b99:.1f} ms",
                            flush=True,
                        )
                peak = vm_status(proc.pid).get("VmHWM", 0) / 1024
                code = await stop_process(proc)
            con = sqlite3.connect(db)
            asked = con.execute("SELECT count(*), sum(count) FROM asked").fetchone()
            users_rows = con.execute("SELECT count(*) FROM users").fetchone()[0]
            con.close()
            db_mb = store_size(tmp) / 2**20
    after = [(u, r) for u, r in samples if u >= args.warmup]
    print(f"\ncareerbot users soak: {os.cpu_count()} CPUs, {args.users:,} distinct users")
    print(
        table(
            ["users", "bot RSS MB"],
            [[f"{u:,}", r] for u, r in samples if u % 2000 == 0 or u == args.users],
        )
    )
    print(
        f"\nRSS growth after {args.warmup:,} users: {slope(after):.2f} MB per 1,000 users "
        f"({after[0][1]:.1f} -> {after[-1][1]:.1f} MB); peak {peak:.1f} MB; bot exit {code}"
    )
    print(
        f"reply latency over the run (closed loop, {args.concurrency} at once): "
        f"p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms; "
        f"timeouts {timeouts}"
    )
    for tag, (e50, e99, b50, b99) in probes.items():
        print(
            f"probe at the {tag}: engine p50 {e50:.1f} / p99 {e99:.1f} ms; through the bot "
            f"at {args.probe_rate:g}/s p50 {b50:.1f} / p99 {b99:.1f} ms"
        )
    print(
        f"store: {users_rows:,} users, unanswered log {asked[0]:,} rows for {asked[1] or 0:,} "
        f"questions asked; database {db_mb:.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=2_000, help="a multiple of 1,000")
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument("--probe", type=int, default=100, help="questions per latency probe")
    parser.add_argument("--probe-rate", type=float, default=5.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
