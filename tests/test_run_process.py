"""The real `python -m bot run` process against the Bot API stand-in: serve, stop, kill -9."""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from ahead import NEXT_YEAR
from botapi import DEFAULT_TOKEN, BotApiStandIn
from botprocess import bot_env, bot_process, run_to_exit

SECRET = DEFAULT_TOKEN.split(":")[1]


@pytest.mark.parametrize(
    ("token", "says"), [(None, "TELEGRAM_BOT_TOKEN is not set"), ("nonsense", "malformed")]
)
def test_run_without_a_usable_token_exits_2_with_one_line(tmp_path, token, says):
    env = bot_env(tmp_path / "bot.db")
    if token:
        env["TELEGRAM_BOT_TOKEN"] = token
    done = run_to_exit(env, tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0]
    assert "nonsense" not in done.stderr


def run_bot(
    api: BotApiStandIn, tmp_path: Path, log: Path, **extra: str
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """The bot process on the stand-in, its store in ``tmp_path``, no rate limit."""
    return bot_process(bot_env(tmp_path / "bot.db", api, **extra), tmp_path, log)


@asynccontextmanager
async def stand_in() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn(token=DEFAULT_TOKEN) as api:
        yield api


async def started(api: BotApiStandIn, since: int) -> None:
    """Wait until a bot process has finished starting (it registers its commands last)."""
    await api.wait_for(method="setMyCommands", start=since, timeout=60)
    await api.wait_for(method="getUpdates", start=since, timeout=30)


async def test_the_real_process_serves_and_stops_cleanly_on_sigterm(tmp_path):
    log = tmp_path / "bot.log"
    async with stand_in() as api:
        with run_bot(api, tmp_path, log) as proc:
            await started(api, 0)
            start = len(api.sent)
            api.text_message(77, "/start")
            reply = await api.wait_for(lambda c: c.ok, method="sendMessage", start=start)
            assert "careerbot" in (reply.text or "")
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(proc.wait, 30)
    assert code == 0
    text = log.read_text()
    assert "careerbot stopped" in text
    assert SECRET not in text, "the token never appears in the log"


async def test_kill_9_loses_no_reminder_and_sends_none_twice(tmp_path):
    log = tmp_path / "bot.log"
    users = [101, 102, 103]
    async with stand_in() as api:
        with run_bot(api, tmp_path, log) as proc:
            await started(api, 0)
            for user in users:
                start = len(api.sent)
                api.text_message(user, f"/remind {NEXT_YEAR}-03-14 10:00 CMM exam for {user}")
                saved = await api.wait_for(lambda c: c.ok, method="sendMessage", start=start)
                assert "Saved" in (saved.text or "")
            proc.send_signal(signal.SIGKILL)
            await asyncio.to_thread(proc.wait, 30)

        # While the bot is down, move the reminders' times: some passed during the outage,
        # some come due a few seconds after the restart.
        db = sqlite3.connect(tmp_path / "bot.db")
        ids = [row[0] for row in db.execute("SELECT id FROM notifications ORDER BY id")]
        assert len(ids) == 3 * len(users), "every accepted reminder was on disk before 'Saved'"
        now = time.time()
        for n, notification_id in enumerate(ids):
            when = now - 600 if n % 2 == 0 else now + 3
            db.execute(
                "UPDATE notifications SET fire_at = ? WHERE id = ?", (when, notification_id)
            )
        db.commit()
        db.close()

        since = len(api.sent)
        with run_bot(api, tmp_path, log):
            await started(api, since)

            def reminders() -> list[object]:
                return [c for c in api.sent[since:] if c.ok and "⏰" in (c.text or "")]

            def all_arrived(call: object) -> bool:
                return len(reminders()) >= len(ids)

            await api.wait_for(all_arrived, timeout=30, start=since)
            await asyncio.sleep(1.5)  # anything sent twice would show up by now
            delivered = reminders()

    assert len(delivered) == len(ids), "each notification arrives exactly once"
    per_user = {u: [c for c in delivered if c.chat_id == u] for u in users}  # type: ignore[attr-defined]
    assert all(len(calls) == 3 for calls in per_user.values())
    late = [c for c in delivered if "(Late:" in (c.text or "")]  # type: ignore[attr-defined]
    assert len(late) == (len(ids) + 1) // 2, "those due during the outage say they are late"
    db = sqlite3.connect(tmp_path / "bot.db")
    states = {row[0] for row in db.execute("SELECT state FROM notifications")}
    db.close()
    assert states == {"sent"}
    assert SECRET not in log.read_text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_mode_checks_the_secret_token(tmp_path):
    log = tmp_path / "bot.log"
    port = free_port()
    async with stand_in() as api:
        env_extra = {
            "CAREERBOT_WEBHOOK_URL": "https://bot.example.invalid/hook",
            "CAREERBOT_WEBHOOK_SECRET": "s3cret-token-0123456789",
            "CAREERBOT_PORT": str(port),
        }
        with run_bot(api, tmp_path, log, **env_extra) as proc:
            hook = await api.wait_for(method="setWebhook", timeout=60)
            assert hook.params["url"] == "https://bot.example.invalid/hook"
            assert hook.params["secret_token"] == "s3cret-token-0123456789"
            assert hook.params["allowed_updates"] == ["message", "callback_query"]
            update = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": 88, "type": "private"},
                    "from": {"id": 88, "is_bot": False, "first_name": "Ann"},
                    "text": "what is fache",
                },
            }
            async with httpx.AsyncClient() as client:
                for _ in range(100):  # the server may still be binding its port
                    try:
                        forged = await client.post(
                            f"http://127.0.0.1:{port}/hook",
                            json=update,
                            headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                        )
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                assert forged.status_code == 403
                real = await client.post(
                    f"http://127.0.0.1:{port}/hook",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token-0123456789"},
                )
                assert real.status_code == 200
                headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token-0123456789"}
                bogus = {"update_id": 2, "message": {"text": "BODY-NOT-LOGGED"}}
                bad = await client.post(
                    f"http://127.0.0.1:{port}/hook", json=bogus, headers=headers
                )
                assert bad.status_code == 400
                try:
                    padded = {**update, "update_id": 3}
                    padded["message"] = {**update["message"], "text": "x" * 10_000_000}
                    huge = await client.post(
                        f"http://127.0.0.1:{port}/hook", json=padded, headers=headers
                    )
                    assert huge.status_code >= 400, "a 10 MB body is refused"
                except httpx.TransportError:
                    pass  # refused by closing the connection: also a refusal
            reply = await api.wait_for(lambda c: c.ok, method="sendMessage", chat_id=88)
            assert "FACHE" in (reply.text or "")
            assert len([c for c in api.sent if c.method == "sendMessage"]) == 1
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(proc.wait, 30) == 0
    assert SECRET not in log.read_text() and "s3cret-token-0123456789" not in log.read_text()
