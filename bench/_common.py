"""Shared helpers for the Telegram benchmarks (throughput.py, users_soak.py, charts.py, ...).

Everything talks to the Bot API stand-in of ``tests/botapi.py`` on 127.0.0.1 only. The real bot
runs either in this process (``build_application``) or as the real ``python -m bot run``
subprocess, whose memory is read from ``/proc/PID/status``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from botapi import DEFAULT_TOKEN, BotApiStandIn  # noqa: E402
from botprocess import bot_env, bot_process  # noqa: E402

__all__ = [
    "DEFAULT_TOKEN",
    "ROOT",
    "BotApiStandIn",
    "PollWatch",
    "Recorder",
    "bot_env",
    "bot_process",
    "cpu_seconds",
    "percentile",
    "running_bot",
    "started",
    "stop_process",
    "store_size",
    "table",
    "vm_status",
]


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[rank]


def shares(
    outcomes: Iterable[tuple[str, str | None]], oos: str = "oos"
) -> tuple[float, float, float]:
    """(right, wrong, rejected) shares of ``(label, intent answered or None)`` pairs: right and
    wrong among the in-scope labels, rejected among the ``oos`` ones."""
    right = wrong = rejected = in_scope = out = 0
    for label, answered in outcomes:
        if label == oos:
            out += 1
            rejected += answered is None
        else:
            in_scope += 1
            right += answered == label
            wrong += answered is not None and answered != label
    return right / in_scope, wrong / in_scope, rejected / out


def vm_status(pid: int | str = "self") -> dict[str, int]:
    """``VmRSS``/``VmHWM``/... of a process, in kB (empty if the process is gone)."""
    found: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return found
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.startswith("Vm"):
            with contextlib.suppress(ValueError, IndexError):
                found[name] = int(value.split()[0])
    return found


async def stop_process(proc: subprocess.Popen[bytes], timeout: float = 30) -> int:  # noqa: ASYNC109
    """SIGTERM, wait up to ``timeout`` s, then SIGKILL; the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return await asyncio.to_thread(proc.wait, timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return await asyncio.to_thread(proc.wait, 10)


class PollWatch:
    """Wraps the stand-in's getUpdates: when each long poll starts, when each update is handed out.

    The stand-in records a call in ``api.sent`` only when it is answered, so a long poll shows up
    there up to its ``timeout`` late; this sees it arrive. ``handout[update_id]`` is the
    ``time.monotonic()`` at which a getUpdates answer first carried the update.
    """

    def __init__(self, api: BotApiStandIn) -> None:
        self.polls = 0
        self.poll_times: list[float] = []  # time.time() of each getUpdates request's arrival
        self.handout: dict[int, float] = {}
        self._polled = asyncio.Event()
        get_updates = api._m_getUpdates

        async def watched(call: Any) -> Any:
            self.polls += 1
            self.poll_times.append(time.time())
            self._polled.set()
            batch = await get_updates(call)
            now = time.monotonic()
            for update in batch:
                self.handout.setdefault(update["update_id"], now)
            return batch

        api.set_handler("getUpdates", watched)

    async def next_poll(self, timeout: float = 60) -> None:  # noqa: ASYNC109
        """Wait for the next getUpdates request to arrive."""
        self._polled.clear()
        await asyncio.wait_for(self._polled.wait(), timeout)


async def started(
    api: BotApiStandIn,
    watch: PollWatch,
    since: int,
    timeout: float = 300,  # noqa: ASYNC109
) -> float:
    """Wait until a bot has finished starting (commands registered, polling); seconds."""
    t = time.monotonic()
    polls = watch.polls
    await api.wait_for(method="setMyCommands", start=since, timeout=timeout)
    if watch.polls == polls:
        await watch.next_poll(max(1.0, timeout - (time.monotonic() - t)))
    return time.monotonic() - t


@contextlib.asynccontextmanager
async def running_bot(
    api: BotApiStandIn,
    watch: PollWatch,
    db: Path,
    folder: Path,
    rate_limit: float = 0,
    command: list[str] | None = None,
) -> AsyncIterator[tuple[subprocess.Popen[bytes], float]]:
    """The real ``python -m bot run`` (or ``command``) on ``db`` against ``api``, its log in
    ``folder/bot.log``, once it has started: the process and its start-up seconds. Killed if
    still running when the block ends."""
    with bot_process(bot_env(db, api, rate_limit), folder, folder / "bot.log", command) as proc:
        yield proc, await started(api, watch, 0)


class Recorder:
    """Wraps the stand-in's getUpdates and sendMessage to time hand-outs and replies."""

    def __init__(self, api: BotApiStandIn) -> None:
        self.watch = PollWatch(api)
        self.handout = self.watch.handout
        self.replies: dict[int, list[tuple[float, dict[str, Any]]]] = defaultdict(list)
        self.waiters: dict[int, tuple[int, asyncio.Future[None]]] = {}
        send_message = api._m_sendMessage

        def timed_send_message(call: Any) -> Any:
            message = send_message(call)  # raises BotApiError when Telegram would refuse it
            chat = int(message["chat"]["id"])
            got = self.replies[chat]
            got.append((time.monotonic(), message))
            waiter = self.waiters.get(chat)
            if waiter and len(got) >= waiter[0] and not waiter[1].done():
                waiter[1].set_result(None)
            return message

        api.set_handler("sendMessage", timed_send_message)

    async def wait(self, chat: int, count: int, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until ``chat`` has received ``count`` messages in all; False on timeout."""
        if len(self.replies[chat]) >= count:
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters[chat] = (count, future)
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self.waiters.pop(chat, None)


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a process has used (NaN once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def store_size(folder: Path) -> int:
    """Bytes of the bot's database with its WAL and shared-memory files."""
    return sum(p.stat().st_size for p in folder.glob("bot.db*") if p.is_file())


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table, right-aligned numbers."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
        for i, h in enumerate(headers)
    ]
    line = "  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "-" * len(line)]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(out)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"
    return str(value)
