"""Start-up faults through the real ``python -m bot run`` (issue 14, item 6): a Bot API that
cannot be reached or refuses the token, a database or folder that cannot be used, each one line
and exit 2; a transient network error retried with a visible back-off; a failing cosmetic call
logged once while the bot serves anyway."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from pathlib import Path

import pytest
from botapi import DEFAULT_TOKEN, BotApiStandIn
from botprocess import bot_env, bot_process, run_to_exit
from test_run_process import free_port, started

OTHER_TOKEN = "654321:" + "B" * 35  # well shaped, but not the one the stand-in knows


def one_line(done: subprocess.CompletedProcess[str], says: str) -> str:
    """The process exited 2 with its cause as the last line, no traceback, sessions closed."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "Unclosed" not in done.stderr, "the HTTP session is closed before exit"
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("careerbot: ") and says in last, done.stderr
    return last


def test_a_closed_port_is_named_after_a_visible_back_off(tmp_path: Path):
    base = f"http://127.0.0.1:{free_port()}/bot"
    env = bot_env(tmp_path / "bot.db", TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN)
    env["TELEGRAM_API_BASE_URL"] = base
    done = run_to_exit(env, tmp_path)
    one_line(done, f"cannot reach the Bot API at {base}")
    waits = [line for line in done.stderr.splitlines() if "trying again in" in line]
    assert [w.split("trying again in ")[1] for w in waits] == ["1 s", "2 s", "4 s"]
    assert DEFAULT_TOKEN.split(":")[1] not in done.stderr


async def test_a_refused_token_is_one_line(tmp_path: Path):
    async with BotApiStandIn(token=DEFAULT_TOKEN) as api:
        env = bot_env(tmp_path / "bot.db", api, TELEGRAM_BOT_TOKEN=OTHER_TOKEN)
        done = await asyncio.to_thread(run_to_exit, env, tmp_path)
        assert [c.method for c in api.sent] == ["getMe"], "no retry of a refused token"
    one_line(done, "Telegram rejected the token")
    assert len(done.stderr.strip().splitlines()) <= 2  # "starting" and the cause
    assert OTHER_TOKEN.split(":")[1] not in done.stderr


async def test_a_transient_network_error_at_start_is_retried(tmp_path: Path):
    log = tmp_path / "bot.log"
    async with BotApiStandIn(token=DEFAULT_TOKEN) as api:
        api.fail_next("getMe", 502, times=1)
        api.drop_next("getMe", times=1)
        with bot_process(bot_env(tmp_path / "bot.db", api), tmp_path, log) as proc:
            await started(api, 0)
            assert proc.poll() is None, "it serves"
            start = len(api.sent)
            api.text_message(77, "salary?")
            await api.wait_for(lambda c: c.ok and c.method == "sendMessage", start=start)
    text = log.read_text()
    assert [c.method for c in api.sent[:3]] == ["getMe"] * 3
    assert text.count("trying again in") == 2 and "Traceback" not in text


async def test_a_failing_set_my_commands_is_logged_once_and_the_bot_serves(tmp_path: Path):
    log = tmp_path / "bot.log"
    async with BotApiStandIn(token=DEFAULT_TOKEN) as api:
        api.fail_next("setMyCommands", 500, "Internal Server Error: no such method", times=10)
        with bot_process(bot_env(tmp_path / "bot.db", api), tmp_path, log) as proc:
            await started(api, 0)
            start = len(api.sent)
            api.text_message(77, "salary?")
            reply = await api.wait_for(lambda c: c.ok and c.method == "sendMessage", start=start)
            assert "Median salary" in (reply.text or "")
            assert proc.poll() is None
        assert api.stats["setMyCommands"] == 1, "a cosmetic call is not retried"
    said = [line for line in log.read_text().splitlines() if "setMyCommands" in line]
    assert len(said) == 1 and "no such method" in said[0]


def _corrupt(db: Path) -> None:
    db.write_bytes(b"this is not a database, just some bytes" * 200)


def _from_the_future(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 999")


@pytest.mark.parametrize(
    ("spoil", "says"), [(_corrupt, "not a database"), (_from_the_future, "newer than this")]
)
async def test_an_unusable_database_is_one_line(tmp_path: Path, spoil, says):
    db = tmp_path / "bot.db"
    spoil(db)
    async with BotApiStandIn(token=DEFAULT_TOKEN) as api:
        done = await asyncio.to_thread(run_to_exit, bot_env(db, api), tmp_path)
        assert api.sent == [], "nothing is asked of Telegram"
    assert str(db) in one_line(done, says)


async def test_an_unusable_data_folder_is_one_line(tmp_path: Path):
    (tmp_path / "taken").write_text("a file where the data folder should be")
    db = tmp_path / "taken" / "bot.db"
    async with BotApiStandIn(token=DEFAULT_TOKEN) as api:
        done = await asyncio.to_thread(run_to_exit, bot_env(db, api), tmp_path)
    assert str(db) in one_line(done, "cannot use the database")
