"""Two real `python -m bot run` processes in webhook mode on one PostgreSQL store: an update
given to both is handled once, every message through either is answered once, and each due
reminder is sent by exactly one of them."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import time
from collections import Counter
from pathlib import Path

import httpx
from ahead import EXAM_DAY
from botapi import DEFAULT_TOKEN, BotApiStandIn, text_update
from botprocess import bot_env, bot_process
from pgserver import PgServer, free_port, fresh_schema

from bot.engine import Engine
from bot.knowledge import Knowledge
from bot.store import Store
from bot.telegram.render import render

HOOK_SECRET = "replica-secret-0123456789"
USERS = range(7000, 7030)  # each with a reminder whose messages are all due now


async def post(client: httpx.AsyncClient, port: int, body: dict[str, object]) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET}
    for _ in range(300):  # the replica may still be starting
        try:
            done = await client.post(f"http://127.0.0.1:{port}/hook", json=body, headers=headers)
            return done.status_code
        except httpx.TransportError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def replies(api: BotApiStandIn, chat: int) -> list[str]:
    """The texts the bot sent to ``chat``, in the order they arrived."""
    return [
        c.text or "" for c in api.sent if c.ok and c.chat_id == chat and c.method == "sendMessage"
    ]


def expected(kb: Knowledge, tmp_path: Path, questions: list[str]) -> list[str]:
    """The replies a new user asking ``questions`` one after another gets, in order."""
    engine = Engine(kb, Store(tmp_path / "expected.db"))
    try:
        return [
            text
            for question in questions
            for reply in engine.handle("expected-user", question).replies
            for text, _ in render(reply)
        ]
    finally:
        engine.store.close()


async def test_two_webhook_replicas_share_the_work_and_keep_the_promises(
    tmp_path: Path, kb: Knowledge, pg_server: PgServer
) -> None:
    with fresh_schema(pg_server, "r") as url:
        engine = Engine(kb, Store(url))
        for user in USERS:
            engine.reminders.create(str(user), "CMM exam", EXAM_DAY, dt.time(9), "UTC")
        engine.store.execute("UPDATE notifications SET fire_at = ?", (time.time(),))
        due = Counter(int(n.user_id) for n in engine.reminders.pending())
        assert set(due) == set(USERS)
        engine.store.close()
        ports = [free_port(), free_port()]
        async with BotApiStandIn(token=DEFAULT_TOKEN) as api:
            envs = [
                bot_env(
                    tmp_path / "unused.db",
                    api,
                    CAREERBOT_DB=url,
                    CAREERBOT_WEBHOOK_URL="https://bot.example.invalid/hook",
                    CAREERBOT_WEBHOOK_SECRET=HOOK_SECRET,
                    CAREERBOT_PORT=str(port),
                )
                for port in ports
            ]

            def count(chat: int) -> int:
                return sum(
                    1 for c in api.sent if c.ok and c.chat_id == chat and c.method == "sendMessage"
                )

            with (
                bot_process(envs[0], tmp_path, tmp_path / "a.log") as first,
                bot_process(envs[1], tmp_path, tmp_path / "b.log") as second,
            ):
                async with httpx.AsyncClient(timeout=30) as client:
                    # Telegram resends an update to the other replica: handled once
                    codes = await asyncio.gather(
                        *(post(client, p, text_update(1, 88, "what is fache")) for p in ports)
                    )
                    assert codes == [200, 200]
                    # one user's messages through both replicas, alternately, each posted the
                    # moment the one before was acknowledged
                    questions = ["salary?", "what is fache", "cmm?", "mha?", "salary?", "hi"]
                    for i, text in enumerate(questions):
                        assert (
                            await post(client, ports[i % 2], text_update(10 + i, 89, text)) == 200
                        )
                        assert count(89) == i + 1, "acknowledged once answered"

                def reminders_sent() -> Counter[int]:
                    return Counter(
                        int(c.chat_id or 0) for c in api.sent if c.ok and "⏰" in (c.text or "")
                    )

                deadline = time.monotonic() + 90
                while (
                    count(88) < 1
                    or count(89) < len(questions)
                    or sum(reminders_sent().values()) < due.total()
                ):
                    assert time.monotonic() < deadline, (
                        count(88),
                        count(89),
                        sum(reminders_sent().values()),
                    )
                    await asyncio.sleep(0.5)
                await asyncio.sleep(3)  # anything sent twice would arrive by now
                assert count(88) == 1, "an update given to both replicas is answered once"
                assert count(89) == len(questions), "each message through either is answered once"
                assert replies(api, 89) == expected(kb, tmp_path, questions), "in order"
                assert reminders_sent() == due, "each reminder message sent once, by one replica"
                both = {
                    log.name
                    for log in (tmp_path / "a.log", tmp_path / "b.log")
                    if "scheduled" in log.read_text()
                }
                assert both == {"a.log", "b.log"}, "both replicas took part"
                for proc in (first, second):
                    proc.send_signal(signal.SIGTERM)
                for proc in (first, second):
                    assert await asyncio.to_thread(proc.wait, 30) == 0
        check = Store(url)
        states = check.execute("SELECT state, count(*) FROM notifications GROUP BY state")
        assert dict(states.fetchall()) == {"sent": due.total()}
        check.close()


async def test_an_update_the_webhook_acknowledged_is_answered_though_the_bot_dies_at_once(
    tmp_path: Path,
) -> None:
    """Telegram does not resend an update the webhook answered 200, so the bot answers 200 only
    once the update is handled: killed with SIGKILL the moment the 200 comes, the bot (started
    again) has lost no message."""
    port = free_port()
    async with BotApiStandIn(token=DEFAULT_TOKEN) as api:
        env = bot_env(
            tmp_path / "bot.db",
            api,
            CAREERBOT_WEBHOOK_URL="https://bot.example.invalid/hook",
            CAREERBOT_WEBHOOK_SECRET=HOOK_SECRET,
            CAREERBOT_PORT=str(port),
        )
        async with httpx.AsyncClient(timeout=60) as client:
            for round_ in range(2):
                with bot_process(env, tmp_path, tmp_path / "bot.log") as proc:
                    chat = 7200 + round_
                    assert (
                        await post(client, port, text_update(100 + round_, chat, "what is fache"))
                        == 200
                    )
                    proc.kill()
                start = len(api.sent)
                with bot_process(env, tmp_path, tmp_path / "bot.log"):
                    await api.wait_for(method="setWebhook", start=start, timeout=120)
                    await asyncio.sleep(2)  # a reply owed from before the kill goes out at start
                assert replies(api, chat), f"the message acknowledged in round {round_} was lost"
