"""Benchmark: thousands of reminder messages due at the same moment, and a kill -9 in the middle.

N users each have one reminder whose notification is due at the same second, a few seconds after
the real ``python -m bot run`` process is launched against the Bot API stand-in of
``tests/botapi.py`` (127.0.0.1 only). The reminders are made with
``bot.reminders.service.Reminders.create`` on the bot's SQLite file, then their ``fire_at`` is set
to the chosen moment.

For each configuration two runs:

* clean: start the bot, wait until every notification has arrived;
* kill:  start the bot, ``kill -9`` it once half have arrived, start it again, wait for the rest.

Reported: all delivered? how many twice? total time, achieved rate, and the user-visible delay
(arrival at the stand-in minus the due time) p50/p99/max; for the kill run also how many messages
Telegram had accepted but the store had not yet marked sent at the kill (those may be sent again:
delivery is at-least-once) and the time from the restart to the last delivery. Also: how long the
bot took to schedule the pending notifications at start-up, how many sends it retried, how many
messages called themselves late ("(Late: ... while I was offline"), the bot's peak RSS.

Run:

    .venv/bin/python bench/reminder_burst.py                 # 10,000 at no limit, 2,000 at 30/s
    .venv/bin/python bench/reminder_burst.py --full-limited  # 10,000 at 30/s too (~6 min a run)
    .venv/bin/python bench/reminder_burst.py --count 2000 --limited-count 0 --no-kill
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import sqlite3
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    DEFAULT_TOKEN,
    BotApiStandIn,
    PollWatch,
    bot_env,
    bot_process,
    cpu_seconds,
    percentile,
    stop_process,
    table,
    vm_status,
)

BASE_USER = 2_000_000
TELEGRAM_LIMIT = 30.0
GRACE = 3.0  # seconds to keep listening after the last delivery, for anything sent twice
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


@dataclass
class Run:
    rate_limit: float
    count: int
    kill: bool
    delivered: int = 0  # distinct notifications that arrived
    messages: int = 0  # reminder messages that arrived (duplicates included)
    duplicates: int = 0  # messages beyond the first for a notification
    unmarked_at_kill: int = 0  # arrived before the kill, still 'pending' in the store after it
    arrived_at_kill: int = 0
    total_s: float = float("nan")  # due time -> last first-delivery
    rate: float = float("nan")  # delivered / (first arrival -> last arrival)
    p50: float = float("nan")
    p99: float = float("nan")
    max: float = float("nan")
    restart_to_done_s: float = float("nan")
    schedule_s: list[float] = field(default_factory=list)  # launch -> "scheduled N" log line
    first_poll_s: list[float] = field(default_factory=list)  # launch -> first getUpdates
    retries: int = 0  # "not sent ...; retrying" log lines
    retry_kinds: dict[str, int] = field(default_factory=dict)
    late_labelled: int = 0  # messages saying "(Late: ... while I was offline"
    chatters: int = 0  # users who sent /start one second after the due time (clean runs)
    chat_answered: int = 0
    chat_p50: float = float("nan")  # seconds from their message to the bot's reply
    chat_max: float = float("nan")
    replies_dropped: int = 0  # "timed out; not repeating it" log lines (chat replies given up)
    peak_mb: float = float("nan")
    bot_cpu_s: float = float("nan")
    pending_left: int = -1
    complete: bool = True
    notes: list[str] = field(default_factory=list)


def create_notifications(db: Path | str, count: int) -> None:
    """One reminder for each of ``count`` users, made the way the bot makes them (``db``: a
    SQLite file or a ``postgresql://`` URL)."""
    from bot.knowledge import load
    from bot.reminders.service import Reminders
    from bot.store import Store

    kb = load()
    store = Store(db)
    reminders = Reminders(store, kb)
    day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).date()
    certs = ["cert_cmm", "cert_fache", "cert_cphq", "cert_chfp", None]
    with store.transaction():  # one commit for all (create joins the outer transaction)
        for i in range(count):
            entry = certs[i % len(certs)]
            title = f"{entry.removeprefix('cert_').upper()} exam" if entry else "Board meeting"
            reminders.create(
                str(BASE_USER + i),
                title,
                day,
                dt.time(9, 0),
                "UTC",
                kind="exam" if entry else "other",
                entry=entry,
                leads=[0],
            )
    store.close()


def set_due(db: Path, due: float) -> int:
    with sqlite3.connect(db) as conn:
        changed = conn.execute("UPDATE notifications SET fire_at = ?", (due,)).rowcount
    conn.close()
    return changed


def store_states(db: Path) -> Counter[str]:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return Counter(
            {
                state: n
                for state, n in conn.execute(
                    "SELECT state, count(*) FROM notifications GROUP BY state"
                )
            }
        )
    finally:
        conn.close()


def sent_ids(db: Path) -> set[int]:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM notifications WHERE state='sent'")}
    finally:
        conn.close()


class Deliveries:
    """Wraps the stand-in's sendMessage: which notification arrived when (wall clock)."""

    def __init__(self, api: BotApiStandIn) -> None:
        self.arrivals: list[tuple[float, int, bool]] = []  # (time.time(), notification id, late)
        self.first: dict[int, float] = {}
        self.other = 0
        self.chat: dict[int, float] = {}  # chat id -> first non-reminder message (time.time())
        # every non-reminder message per chat, (time.time(), text); every message's time.time()
        self.chat_log: dict[int, list[tuple[float, str]]] = {}
        self.times: list[float] = []
        send_message = api._m_sendMessage

        def recorded(call: Any) -> Any:
            message = send_message(call)
            nid = _notification_id(call.params.get("reply_markup"))
            now = time.time()
            self.times.append(now)
            if nid is None:
                self.other += 1
                chat = int(message["chat"]["id"])
                self.chat.setdefault(chat, now)
                self.chat_log.setdefault(chat, []).append((now, str(call.params.get("text"))))
            else:
                late = "(Late:" in str(call.params.get("text", ""))
                self.arrivals.append((now, nid, late))
                self.first.setdefault(nid, now)
            return message

        api.set_handler("sendMessage", recorded)


def _notification_id(markup: Any) -> int | None:
    if not isinstance(markup, dict):
        return None
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = str(button.get("callback_data", ""))
            if data.startswith("rz:"):
                return int(data.split(":")[1])
    return None


def log_facts(log: Path, launches: list[float], run: Run) -> None:
    """Start-up scheduling times and retried sends, from the bot's log."""
    lines = log.read_text(errors="replace").splitlines()
    scheduled = []
    for line in lines:
        if "pending reminder messages" in line and (m := LOG_TIME.match(line)):
            at = dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            scheduled.append(at)
        elif "not sent (" in line:
            run.retries += 1
            reason = line.split("not sent (", 1)[1]
            kind = "pool timeout" if "Pool timeout" in reason else reason[:50]
            run.retry_kinds[kind] = run.retry_kinds.get(kind, 0) + 1
        elif "not repeating it" in line:
            run.replies_dropped += 1
        elif "flood limit" in line or "rejected by Telegram" in line:
            run.retry_kinds[line[24:90]] = run.retry_kinds.get(line[24:90], 0) + 1
    run.schedule_s = [round(s - t, 1) for s, t in zip(scheduled, launches, strict=False)]


async def until(condition: Any, deadline: float, proc: Any) -> bool:
    """Poll ``condition()`` every 0.1 s until true (True), the deadline or the bot's death."""
    while not condition():
        if time.monotonic() > deadline or proc.poll() is not None:
            return False
        await asyncio.sleep(0.1)
    return True


CHAT_USER = 3_000_000


async def chat_during(api: BotApiStandIn, due: float, users: int) -> dict[int, float]:
    """``users`` people send /start one second after the due time; when each was sent."""
    await asyncio.sleep(max(0.0, due + 1 - time.time()))
    sent: dict[int, float] = {}
    for i in range(users):
        sent[CHAT_USER + i] = time.time()
        api.text_message(CHAT_USER + i, "/start")
    return sent


async def run_one(
    rate_limit: float,
    count: int,
    kill: bool,
    lead: float,
    max_seconds: float,
    tmpdir: str | None,
    chatters: int = 0,
) -> Run:
    run = Run(rate_limit, count, kill, chatters=0 if kill else chatters)
    with tempfile.TemporaryDirectory(prefix="careerbot-burst-", dir=tmpdir) as tmp:
        tmp_path = Path(tmp)
        db, log = tmp_path / "bot.db", tmp_path / "bot.log"
        await asyncio.to_thread(create_notifications, db, count)
        async with BotApiStandIn(token=DEFAULT_TOKEN) as api:
            watch = PollWatch(api)
            got = Deliveries(api)
            env = bot_env(db, api, rate_limit)
            due = time.time() + lead
            set_due(db, due)
            launches = [time.time()]
            began = time.monotonic()
            deadline, kill_by = began + max_seconds, began + max_seconds / 2
            with bot_process(env, tmp_path, log) as proc:
                if not kill:
                    chat = asyncio.create_task(chat_during(api, due, run.chatters))
                    ok = await until(lambda: len(got.first) >= count, deadline, proc)
                    asked = await chat
                    await until(lambda: len(got.chat) >= len(asked), time.monotonic() + 10, proc)
                    waits = [got.chat[u] - t for u, t in asked.items() if u in got.chat]
                    run.chat_answered = len(waits)
                    if waits:
                        run.chat_p50, run.chat_max = percentile(waits, 50), max(waits)
                    await finish(run, got, proc, db, ok)
                else:
                    half = count // 2
                    if not await until(lambda: len(got.first) >= half, kill_by, proc):
                        run.notes.append(f"killed after {max_seconds / 2:.0f} s, before half")
                    proc.kill()
                    await asyncio.to_thread(proc.wait, 30)
                    run.arrived_at_kill = len(got.first)
                    marked = await asyncio.to_thread(sent_ids, db)
                    run.unmarked_at_kill = len(set(got.first) - marked)
            if kill:
                launches.append(time.time())
                restarted = time.monotonic()
                with bot_process(env, tmp_path, log) as proc:
                    ok = await until(lambda: len(got.first) >= count, deadline, proc)
                    run.restart_to_done_s = time.monotonic() - restarted
                    await finish(run, got, proc, db, ok)
            run.first_poll_s = [
                round(min((t for t in watch.poll_times if t >= at), default=float("nan")) - at, 1)
                for at in launches
            ]
            if got.other > run.chat_answered:
                run.notes.append(f"{got.other} other messages")
        log_facts(log, launches, run)
        summarize(run, got, due)
    return run


async def finish(run: Run, got: Deliveries, proc: Any, db: Path, ok: bool) -> None:
    """Listen a little longer for duplicates, read the bot's memory and CPU, stop it."""
    if not ok:
        run.complete = False
        died = " (bot died)" if proc.poll() is not None else ""
        run.notes.append(f"stopped with {len(got.first)} of {run.count} delivered{died}")
    await asyncio.sleep(GRACE)
    status = vm_status(proc.pid)
    run.peak_mb = status.get("VmHWM", 0) / 1024
    run.bot_cpu_s = cpu_seconds(proc.pid)
    states = await asyncio.to_thread(store_states, db)
    run.pending_left = states.get("pending", 0)
    code = await stop_process(proc)
    if code != 0:
        run.notes.append(f"bot exited with {code}")


def summarize(run: Run, got: Deliveries, due: float) -> None:
    run.delivered = len(got.first)
    run.messages = len(got.arrivals)
    run.duplicates = run.messages - run.delivered
    run.late_labelled = sum(1 for _, _, late in got.arrivals if late)
    if not got.first:
        return
    firsts = sorted(got.first.values())
    delays = [t - due for t in firsts]
    run.total_s = firsts[-1] - due
    span = firsts[-1] - firsts[0]
    run.rate = run.delivered / span if span > 0 else float("nan")
    run.p50, run.p99, run.max = percentile(delays, 50), percentile(delays, 99), max(delays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--count",
        type=int,
        default=10_000,
        help="notifications (and users) without a rate limit (default 10,000; 0: skip)",
    )
    parser.add_argument(
        "--limited-count",
        type=int,
        default=2_000,
        help="notifications for the runs with the default rate limit 30 (default 2,000; 0: skip)",
    )
    parser.add_argument(
        "--full-limited",
        action="store_true",
        help="use --count for the rate-limited runs too (10,000 at 30/s: ~6 min a run)",
    )
    parser.add_argument("--no-kill", action="store_true", help="skip the kill -9 runs")
    parser.add_argument(
        "--chatters",
        type=int,
        default=20,
        help="users who send /start one second after the due time (clean runs; default 20)",
    )
    parser.add_argument(
        "--lead", type=float, default=5.0, help="seconds from the bot's launch to the due time"
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=300.0,
        help="give up on a run after this long (default 300; a kill run kills at half or "
        "after half of this)",
    )
    parser.add_argument("--tmpdir", default=None, help="where the temporary databases go")
    args = parser.parse_args()

    configs: list[tuple[float, int]] = []
    if args.count > 0:
        configs.append((0.0, args.count))
    limited = args.count if args.full_limited else args.limited_count
    if limited > 0:
        configs.append((TELEGRAM_LIMIT, limited))
    print(f"careerbot reminder burst: {os.cpu_count()} CPUs, due {args.lead:g} s after launch")
    runs: list[Run] = []
    for rate_limit, count in configs:
        for kill in (False,) if args.no_kill else (False, True):
            if kill and not runs[-1].complete:
                print(
                    f"  rate_limit={rate_limit:<3g} count={count:<6} kill -9: skipped, the "
                    "clean run did not finish in time"
                )
                continue
            began = time.monotonic()
            run = asyncio.run(
                run_one(
                    rate_limit,
                    count,
                    kill,
                    args.lead,
                    args.max_seconds,
                    args.tmpdir,
                    args.chatters,
                )
            )
            runs.append(run)
            print(
                f"  rate_limit={rate_limit:<3g} count={count:<6} {'kill -9' if kill else 'clean'}:"
                f" {run.delivered}/{count} delivered, {run.duplicates} twice, "
                f"run took {time.monotonic() - began:.0f} s {'; '.join(run.notes)}",
                flush=True,
            )

    headers = [
        "limit",
        "count",
        "run",
        "delivered",
        "all?",
        "twice",
        "total s",
        "rate/s",
        "p50 s",
        "p99 s",
        "max s",
        "sched s",
        "poll s",
        "retries",
        "'Late'",
        "chat ok",
        "chat p50",
        "chat max",
        "peak MB",
    ]
    rows = []
    for r in runs:
        rows.append(
            [
                f"{r.rate_limit:g}",
                r.count,
                "kill -9" if r.kill else "clean",
                r.delivered,
                "yes" if r.delivered == r.count and r.pending_left == 0 else "NO",
                r.duplicates,
                r.total_s,
                r.rate,
                r.p50,
                r.p99,
                r.max,
                "+".join(f"{s:g}" for s in r.schedule_s) or "-",
                "+".join(f"{s:g}" for s in r.first_poll_s) or "-",
                r.retries,
                r.late_labelled,
                f"{r.chat_answered}/{r.chatters}" if r.chatters else "-",
                r.chat_p50,
                r.chat_max,
                r.peak_mb,
            ]
        )
    print()
    print(table(headers, rows))
    print(
        "\ndelay = arrival at the stand-in - due time; total = due time -> last delivery; "
        "sched = launch -> 'scheduled N pending' logged, poll = launch -> first getUpdates "
        "(per start; nan: never); retries = sends the bot "
        "retried; 'Late' = messages saying they were late while the bot was offline; chat = "
        "/start sent by other users 1 s after the due time: answered/asked and seconds to the "
        "reply; peak MB = VmHWM of the (last) bot process"
    )
    for r in runs:
        if r.kill:
            print(
                f"kill -9 at {r.arrived_at_kill} of {r.count} (rate_limit {r.rate_limit:g}): "
                f"{r.unmarked_at_kill} had reached Telegram but were not yet marked sent, "
                f"{r.duplicates} arrived twice; restart -> all delivered in "
                f"{r.restart_to_done_s:.1f} s"
            )
        if r.replies_dropped:
            print(
                f"chat replies given up after a timeout (rate_limit {r.rate_limit:g}, {r.count}):"
                f" {r.replies_dropped} ('timed out; not repeating it' in the bot's log)"
            )
        if r.retry_kinds:
            kinds = ", ".join(f"{n} x {k}" for k, n in r.retry_kinds.items())
            print(f"retried sends (rate_limit {r.rate_limit:g}, {r.count}): {kinds}")


if __name__ == "__main__":
    main()
