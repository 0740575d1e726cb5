"""Shared helpers for the Telegram benchmarks (throughput.py, reminder_burst.py).

Everything talks to the Bot API stand-in of ``tests/botapi.py`` on 127.0.0.1 only. The real bot
runs either in this process (``build_application``) or as the real ``python -m bot run``
subprocess, whose memory is read from ``/proc/PID/status``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
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
    "bot_env",
    "bot_process",
    "percentile",
    "started",
    "stop_process",
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
