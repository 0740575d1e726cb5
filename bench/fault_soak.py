"""Soak: mixed chat, buttons and reminders through the real ``python -m bot run`` while faults are
injected at random (issue 14's last paragraph).

The bot process talks to the Bot API stand-in of ``tests/botapi.py`` (127.0.0.1 only), its
SQLite file on a tmpfs of its own so the disk can really fill up. For ``--minutes``:

* ``--users`` simulated users, each in turn: a question, a ``/remind``, or a press of a button of
  the bot's last reply; each waits for the answer (up to 120 s) before the next;
* ``--reminders`` reminders (one message each, unique titles) due at moments spread over the run;
* every 10-30 s one fault at random: a flood limit (429), 5xx answers, dropped connections, an
  answer held back past the bot's read timeout;
* the disk full for a minute (a filler file takes the tmpfs's free space) at 40% of the run;
* ``kill -9`` at one third and two thirds, the bot started again at once.

Reported: messages sent and answered (and how late), reminders sent once / twice / never (a
double is inside the documented window when its two sends straddle a kill -9), replies still owed
at the end, the bot's peak RSS over its lives. Needs root (it mounts a tmpfs).

Run:

    .venv/bin/python bench/fault_soak.py                 # 30 minutes
    .venv/bin/python bench/fault_soak.py --minutes 8
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import DEFAULT_TOKEN, ROOT, BotApiStandIn, bot_env, percentile, table, vm_status

QUESTIONS = [
    "salary?",
    "what is fache",
    "how do I become a healthcare administrator",
    "which degree should I get",
    "what does a practice manager do",
    "is the CMM worth it",
    "how long does the MHA take",
    "hello",
    "/help",
    "/menu",
    "/certifications",
    "/reminders",
]
TITLE = re.compile(r"Soak (\d{4})")
ANSWER_WAIT = 120.0
READ_TIMEOUT = 5.0  # the bot's read timeout (bot/telegram/http.py)


def create_reminders(db: Path, count: int, start: float, span: float) -> dict[int, float]:
    """``count`` reminders, one message each, due spread over ``span`` seconds from ``start``."""
    from bot.knowledge import load
    from bot.reminders.service import Reminders
    from bot.store import Store

    store = Store(db)
    reminders = Reminders(store, load())
    day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).date()
    with store.transaction():
        for i in range(count):
            reminders.create(
                str(3_000_000 + i),
                f"Soak {i:04d}",
                day,
                dt.time(9),
                "UTC",
                kind="other",
                leads=[0],
            )
    store.close()
    due: dict[int, float] = {}
    rng = random.Random(14)
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT n.id, r.title FROM notifications n JOIN reminders r ON r.id = n.reminder_id"
        ).fetchall()
        for notification_id, title in rows:
            at = start + rng.uniform(0.0, span)
            conn.execute(
                "UPDATE notifications SET fire_at = ? WHERE id = ?", (at, notification_id)
            )
            due[int(TITLE.search(title).group(1))] = at  # type: ignore[union-attr]
    conn.close()
    return due


class Bot:
    """The bot process, restartable, its peak RSS kept over its lives."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.env, self.cwd, self.log = env, cwd, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_kb = 0
        self.kills: list[float] = []

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
            )

    def sample(self) -> None:
        if self.proc is not None:
            self.peak_kb = max(self.peak_kb, vm_status(self.proc.pid).get("VmHWM", 0))

    def kill9(self) -> None:
        assert self.proc is not None
        self.sample()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.kills.append(time.time())

    async def stop(self) -> int:
        assert self.proc is not None
        self.sample()
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.proc.wait, 60)


class Tally:
    def __init__(self) -> None:
        self.sent = 0
        self.answered = 0
        self.latencies: list[float] = []
        self.faults: Counter[str] = Counter()
        self.missed: list[tuple[float, str]] = []  # (wall time, what was sent) unanswered


async def user_loop(api: BotApiStandIn, user: int, tally: Tally, until: float) -> None:
    """One user: ask, wait for the answer, sometimes press one of its buttons, repeat."""
    rng = random.Random(user)
    buttons: list[dict[str, str]] = []
    on = 1  # the message the buttons are on
    while time.time() < until:
        start = len(api.sent)
        if buttons and rng.random() < 0.35:
            what = rng.choice(buttons)["callback_data"]
            api.callback(user, what, on)
        elif rng.random() < 0.08:
            day = dt.date(dt.date.today().year + 1, rng.randint(1, 9), rng.randint(10, 19))
            what = f"/remind {day} CMM exam"
            api.text_message(user, what)
        else:
            what = rng.choice(QUESTIONS)
            api.text_message(user, what)
        tally.sent += 1
        t = time.monotonic()
        try:
            reply = await api.wait_for(
                lambda c: c.ok and c.method in ("sendMessage", "sendDocument", "sendPhoto"),
                timeout=ANSWER_WAIT,
                chat_id=user,
                start=start,
            )
        except TimeoutError:
            tally.missed.append((time.time() - ANSWER_WAIT, what))
            buttons = []
            continue
        tally.answered += 1
        tally.latencies.append(time.monotonic() - t)
        buttons = [b for b in reply.buttons if "callback_data" in b]
        on = int((reply.result or {}).get("message_id", 1))
        await asyncio.sleep(rng.uniform(0.5, 2.0))


async def faults(api: BotApiStandIn, tally: Tally, until: float, seed: int) -> None:
    """A random fault every 10-30 s."""
    rng = random.Random(seed)
    while time.time() < until:
        await asyncio.sleep(rng.uniform(10, 30))
        kind = rng.choice(["429", "5xx", "drop", "timeout"])
        tally.faults[kind] += 1
        if kind == "429":
            api.fail_next("sendMessage", 429, retry_after=rng.randint(1, 3))
        elif kind == "5xx":
            api.fail_next("*", rng.choice([500, 502, 503]), times=rng.randint(1, 4))
        elif kind == "drop":
            api.drop_next("sendMessage", times=rng.randint(1, 3))
        else:
            api.delay("sendMessage", READ_TIMEOUT + 2, times=1)  # past the bot's read timeout


def fill_disk(folder: Path, db: Path) -> Path:
    """Take every free byte of the filesystem ``folder`` is on. The WAL file is truncated first
    (a checkpoint from another connection), else the bot's writes reuse its space and never
    meet the full disk."""
    with contextlib.suppress(sqlite3.Error), sqlite3.connect(db, timeout=10) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    filler = folder / "filler"
    with contextlib.suppress(OSError), filler.open("wb", buffering=0) as out:
        while True:
            out.write(b"\0" * (1 << 16))
    return filler


async def soak(mount: Path, minutes: float, users: int, count: int) -> None:
    """Run the soak with the bot's database on the tmpfs at ``mount``; print the report."""
    duration = minutes * 60
    db = mount / "bot.db"
    t0 = time.time()
    due = create_reminders(db, count, t0 + 60, duration - 150)
    async with BotApiStandIn(token=DEFAULT_TOKEN) as api:
        env = bot_env(db, api, rate_limit=30, PYTHONPATH=str(ROOT))
        log = Path(tempfile.gettempdir()) / "fault_soak_bot.log"
        log.write_bytes(b"")
        bot = Bot(env, mount, log)
        bot.start()
        await api.wait_for(method="setMyCommands", timeout=300)
        tally = Tally()
        start = time.time()
        until = start + duration - 60  # the last minute: no new chat, reminders finish
        tasks = [asyncio.create_task(user_loop(api, 100 + u, tally, until)) for u in range(users)]
        tasks.append(asyncio.create_task(faults(api, tally, until, 7)))
        events = sorted(
            [
                (start + duration / 3, "kill"),
                (start + 2 * duration / 3, "kill"),
                (start + 0.4 * duration, "full"),
            ]
        )
        for at, what in events:
            while time.time() < at:
                bot.sample()
                await asyncio.sleep(1)
            if what == "kill":
                bot.kill9()
                tally.faults["kill -9"] += 1
                bot.start()
            else:
                filler = await asyncio.to_thread(fill_disk, mount, db)
                tally.faults["disk full 60 s"] += 1
                for _ in range(60):
                    bot.sample()
                    await asyncio.sleep(1)
                filler.unlink()
        while time.time() < start + duration:
            bot.sample()
            await asyncio.sleep(1)
        await asyncio.gather(*tasks)
        rc = await bot.stop()
        sends: dict[int, list[float]] = {}
        timed_out: set[int] = set()  # reminders a send of which was answered past the timeout
        for c in api.sent:
            if c.ok and c.method == "sendMessage" and "⏰" in (c.text or ""):
                found = TITLE.search(c.text or "")
                if found:
                    sends.setdefault(int(found.group(1)), []).append(c.time)
                    if c.held >= READ_TIMEOUT:
                        timed_out.add(int(found.group(1)))
    with sqlite3.connect(db) as conn:
        owed = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
        states = Counter(s for (s,) in conn.execute("SELECT state FROM notifications"))
    conn.close()
    log_text = log.read_text(errors="replace")
    counts = Counter(len(sends.get(i, [])) for i in due)
    mono_to_wall = time.time() - time.monotonic()
    doubled_in_window = doubled_after_timeout = 0
    for number, times in sends.items():
        if len(times) > 1:
            first, last = times[0] + mono_to_wall, times[-1] + mono_to_wall
            if any(first - 5 <= k <= last + 5 for k in bot.kills):
                doubled_in_window += 1
            elif number in timed_out:
                doubled_after_timeout += 1
    doubled = sum(1 for t in sends.values() if len(t) > 1)
    print(
        f"fault soak: {minutes:g} min, {users} users, {count} reminders;",
        f"faults {dict(tally.faults)}",
    )
    print(
        table(
            ["what", "value"],
            [
                ["messages and presses sent", tally.sent],
                ["answered", tally.answered],
                ["not answered within 120 s", tally.sent - tally.answered],
                ["answer p50 / p99 / max (s)", _lat(tally.latencies)],
                ["reminders due", len(due)],
                ["sent once", counts.get(1, 0)],
                ["sent twice or more", doubled],
                ["  of which straddling a kill -9", doubled_in_window],
                ["  of which resent after a timed-out send", doubled_after_timeout],
                ["never sent", counts.get(0, 0)],
                ["notification states at the end", dict(states)],
                ["replies still owed at the end", owed],
                ["peak RSS over the bot's lives (MB)", round(bot.peak_kb / 1024, 1)],
                ["exit code at SIGTERM", rc],
                ["'database full' log lines", log_text.count("database full:")],
                ["tracebacks in the log", log_text.count("Traceback")],
            ],
        )
    )
    if tally.missed:
        kills = ", ".join(f"{k - start:.0f}" for k in bot.kills)
        print(f"unanswered (s from start; kills at {kills}; disk full from {0.4 * duration:.0f}):")
        for at, what in tally.missed:
            print(f"  {at - start:7.1f}  {what}")


def _lat(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{percentile(values, 50):.2f} / {percentile(values, 99):.2f} / {max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--users", type=int, default=12)
    parser.add_argument("--reminders", type=int, default=300)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("fault_soak needs root: it mounts a tmpfs to fill up")
    mount = Path(tempfile.mkdtemp(prefix="soak-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", str(mount)], check=True)
    try:
        asyncio.run(soak(mount, args.minutes, args.users, args.reminders))
    finally:
        subprocess.run(["umount", str(mount)], check=False)
        with contextlib.suppress(OSError):
            mount.rmdir()


if __name__ == "__main__":
    main()
