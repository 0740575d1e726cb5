"""The real ``python -m bot run`` as a child process that talks only to the Bot API stand-in.

Shared by the process tests (``tests/test_run_process.py``) and the benchmarks (``bench/``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from botapi import BotApiStandIn

# the checkout these tests belong to: its bot is what a child process runs, not whichever one
# the virtual environment has installed (an editable install of another checkout)
CHECKOUT = str(Path(__file__).resolve().parent.parent)


def bare_env(home: Path, **extra: str) -> dict[str, str]:
    """A child's environment with nothing of this shell's but PATH; the checkout's bot."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": CHECKOUT, **extra}


def bot_env(
    db: Path, api: BotApiStandIn | None = None, rate_limit: float = 0, **extra: str
) -> dict[str, str]:
    """A bot process's environment: none of this shell's ``TELEGRAM_``/``CAREERBOT_`` settings,
    the store in ``db``, and with ``api`` the stand-in's token and address (else no token)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CAREERBOT_"))}
    env.update(CAREERBOT_DB=str(db), CAREERBOT_RATE_LIMIT=f"{rate_limit:g}", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = CHECKOUT
    if api is not None:
        env.update(TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_BASE_URL=api.base_url)
    env.update(extra)
    return env


@contextlib.contextmanager
def bot_process(
    env: dict[str, str], cwd: Path, log: Path, command: list[str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run the bot (or ``command``) with ``env``, its output appended to ``log``; killed if still
    running when the block ends."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command or [sys.executable, "-m", "bot", "run"],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def run_to_exit(
    env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m bot run`` with ``env`` until it exits (it refused to start), output kept."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
