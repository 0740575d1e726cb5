"""Every press and request is untrusted; a committed change is never reported as a failure.

Through the real Application on the Bot API stand-in: forged presses against another user's rows,
personal buttons in a group, repeated presses, replies owed across a crash and an outage, and two
processes on one database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ahead import EXAM_DAY, NEXT_YEAR
from botapi import DEFAULT_TOKEN, BotApiStandIn
from botprocess import bot_env, bot_process, run_to_exit
from test_telegram import USER, Running, bot_on_stand_in, button_data, reschedule

from bot.config import Settings, webhook_problem
from bot.knowledge import Knowledge
from bot.telegram import outbox

OTHER = 6002
GROUP = -100777


@pytest.fixture
async def running(kb: Knowledge, tmp_path: Path) -> AsyncIterator[Running]:
    async with bot_on_stand_in(kb, tmp_path / "bot.db", rate_limit=0) as bot:
        yield bot


def rows(running: Running, sql: str, *args: object) -> list[tuple[object, ...]]:
    return list(running.engine.store.db.execute(sql, args).fetchall())


async def delivered_reminder(running: Running, user: int, line: str) -> tuple[int, dict[str, str]]:
    """Set a reminder by /remind, make its first message due now and wait for it."""
    await running.say(f"/remind {line}", user=user)
    [(first,)] = rows(
        running,
        "SELECT min(id) FROM notifications WHERE user_id = ? AND state = 'pending'",
        str(user),
    )
    running.engine.store.db.execute(
        "UPDATE notifications SET fire_at = ? WHERE id = ?", (time.time(), first)
    )
    start = len(running.api.sent)
    await reschedule(running)
    call = await running.api.wait_for(
        lambda c: c.ok and "⏰" in (c.text or ""), chat_id=user, start=start
    )
    await running.quiet(start)
    return int(first), button_data(call)  # type: ignore[arg-type]


async def test_forged_presses_never_touch_another_users_reminders(running: Running):
    notification, buttons = await delivered_reminder(
        running, USER, f"{NEXT_YEAR}-03-14 10:00 CMM exam"
    )
    [(reminder,)] = rows(running, "SELECT id FROM reminders WHERE user_id = ?", str(USER))
    before = rows(running, "SELECT id, state, fire_at FROM notifications ORDER BY id")
    forged = [
        f"rd:{reminder}",
        buttons["Snooze 1 hour"],
        buttons["Snooze 1 day"],
        buttons["Done"],
        f"rz:{notification}:60",
        f"rn:{notification}",
    ]
    stale = running.engine.response("stale_button").text
    for data in forged:
        [reply] = await running.press(data, 900, user=OTHER)
        assert stale.split(".")[0] in (reply.text or ""), data
    assert rows(running, "SELECT id, state, fire_at FROM notifications ORDER BY id") == before
    [listing] = await running.press("rl", 901, user=OTHER)
    assert "You have no reminders" in (listing.text or "") and "10:00" not in (listing.text or "")
    [own] = await running.say("/reminders")
    assert "CMM exam" in (own.text or "")


async def test_personal_buttons_answer_only_in_the_private_chat(running: Running):
    await running.say(f"/remind {NEXT_YEAR}-03-14 10:00 CMM exam")
    [(reminder,)] = rows(running, "SELECT id FROM reminders WHERE user_id = ?", str(USER))
    running.api.group_message(USER, GROUP, "hello")
    refused = running.engine.response("private_only").text
    for data in ("rl", f"rd:{reminder}", "d:remind_setup", "n:remind_setup", "tz:move"):
        [reply] = await running.press_in(data, GROUP)
        assert reply.text == refused, data
        assert "CMM" not in (reply.text or "")
    assert rows(running, "SELECT count(*) FROM reminders") == [(1,)]
    [(dialog,)] = rows(running, "SELECT dialog FROM users WHERE id = ?", str(USER))
    assert dialog is None, "the reminder set-up did not start from the group"
    [tour] = await running.press_in("d:cert_finder", GROUP)
    assert tour.text != refused, "a guided tour with nothing personal works in groups"


async def test_a_repeated_snooze_snoozes_once(running: Running):
    _, buttons = await delivered_reminder(running, USER, f"{NEXT_YEAR}-03-14 10:00 CMM exam")
    replies = []
    for n in range(30):
        replies += await running.press(buttons["Snooze 1 hour"], 100 + n)
    snoozes = rows(running, "SELECT count(*) FROM notifications WHERE lead = -1")
    assert snoozes == [(1,)]
    assert sum("Snoozed" in (r.text or "") for r in replies) == 1
    assert all("Already snoozed" in (r.text or "") for r in replies[1:])


async def test_done_twice_on_a_repeating_reminder_skips_one_occurrence(running: Running):
    running.engine.reminders.create(
        str(USER),
        "CEU log",
        EXAM_DAY,
        dt.time(10, 0),
        "UTC",
        leads=[1440, 0],
        repeat="monthly",
    )
    [(ceu,)] = rows(running, "SELECT min(id) FROM notifications WHERE lead = 1440")
    # its first message (a day before) went out; the user presses its Done twice
    running.engine.store.db.execute("UPDATE notifications SET state = 'sent' WHERE id = ?", (ceu,))
    data = f"rn:{ceu}"
    [first] = await running.press(data, 300)
    [second] = await running.press(data, 301)
    assert "Marked done" in (first.text or "")
    assert "Already done" in (second.text or "")
    [(day,)] = rows(running, "SELECT local_date FROM reminders WHERE title = 'CEU log'")
    assert day == f"{NEXT_YEAR}-04-14", "one press skips one occurrence, the next stays"


async def test_a_failed_reply_is_resent_not_apologised_for(
    running: Running, monkeypatch: pytest.MonkeyPatch
):
    running.api.fail_next("sendMessage", 502, times=4)
    start = len(running.api.sent)
    running.api.text_message(USER, f"/remind {NEXT_YEAR}-03-14 10:00 CMM exam")
    svc = running.app.bot_data["services"]

    def four_failed(call: object) -> bool:
        return sum(c.failed for c in running.api.sent[start:]) == 4

    await running.api.wait_for(four_failed, start=start)
    await running.quiet(start, gap=0.5)
    assert not svc.owed_in_flight, "the send gave up after its last attempt"
    texts = [c.text or "" for c in running.api.sent[start:] if c.method == "sendMessage" and c.ok]
    assert not any("went wrong" in t for t in texts), "a committed reminder is not a failure"
    assert rows(running, "SELECT count(*) FROM outbox") == [(1,)], "the reply is still owed"
    monkeypatch.setattr(outbox, "RESEND_EVERY", 0.0)
    assert running.app.job_queue is not None
    running.app.job_queue.run_once(outbox.resend_owed, 0)  # what the retry job runs
    await running.api.wait_for(lambda c: c.ok and "Saved" in (c.text or ""), start=start)
    await running.quiet(start)
    saved = [c for c in running.api.sent[start:] if c.ok and "Saved" in (c.text or "")]
    assert len(saved) == 1
    # the user, not knowing, asks again: the same reminder is recognised, not doubled
    [again] = await running.say(f"/remind {NEXT_YEAR}-03-14 10:00 CMM exam")
    assert "already have this reminder" in (again.text or "")
    assert rows(running, "SELECT count(*) FROM reminders") == [(1,)]


async def test_replies_owed_at_a_crash_go_out_after_the_restart(kb: Knowledge, tmp_path: Path):
    db = tmp_path / "bot.db"
    async with bot_on_stand_in(kb, db, rate_limit=0) as first:
        first.api.fail_next("sendMessage", 502, times=1000)  # Telegram unreachable for replies
        start = len(first.api.sent)
        update_id = first.api.text_message(USER, f"/remind {NEXT_YEAR}-03-14 10:00 CMM exam")
        await first.api.wait_for(lambda c: c.failed, method="sendMessage", start=start)
        resent = first.api.updates_pushed[-1]
    # stopped without the reply delivered, as after kill -9; Telegram resends the update
    async with bot_on_stand_in(kb, db, rate_limit=0) as second:
        start = len(second.api.sent)
        second.api.push_update(resent)
        saved = await second.api.wait_for(
            lambda c: c.ok and "Saved" in (c.text or ""), chat_id=USER, start=start
        )
        assert saved is not None and update_id == resent["update_id"]
        await second.quiet(start, gap=0.5)
        sent = [c for c in second.api.sent[start:] if c.ok and "Saved" in (c.text or "")]
        assert len(sent) == 1, "owed once, sent once; the resent update changes nothing"
    check = sqlite3.connect(db)
    assert check.execute("SELECT count(*) FROM reminders").fetchone() == (1,)
    check.close()


@pytest.mark.parametrize(
    ("secret", "says"),
    [(None, "is not set"), ("short", "16 to 256"), ("has spaces in it, sixteen+", "16 to 256")],
)
def test_webhook_mode_refuses_to_start_without_a_good_secret(
    tmp_path: Path, secret: str | None, says: str
):
    env = bot_env(tmp_path / "bot.db", CAREERBOT_WEBHOOK_URL="https://bot.example.invalid/hook")
    env["TELEGRAM_BOT_TOKEN"] = DEFAULT_TOKEN
    if secret:
        env["CAREERBOT_WEBHOOK_SECRET"] = secret
    done = run_to_exit(env, tmp_path)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "CAREERBOT_WEBHOOK_SECRET" in line and says in line


def test_the_webhook_listens_on_loopback_unless_told(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CAREERBOT_WEBHOOK_LISTEN", raising=False)
    assert Settings.from_env().webhook_listen == "127.0.0.1"
    monkeypatch.setenv("CAREERBOT_WEBHOOK_LISTEN", "0.0.0.0")
    assert Settings.from_env().webhook_listen == "0.0.0.0"
    assert webhook_problem(Settings(webhook_secret="a" * 16)) is None


async def test_a_second_process_on_the_same_database_refuses(tmp_path: Path):
    log = tmp_path / "first.log"
    async with BotApiStandIn(token=DEFAULT_TOKEN) as api:
        with bot_process(bot_env(tmp_path / "bot.db", api), tmp_path, log):
            await api.wait_for(method="setMyCommands", timeout=60)
            done = await asyncio.to_thread(
                run_to_exit, bot_env(tmp_path / "bot.db", api), tmp_path
            )
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "another careerbot process" in line
