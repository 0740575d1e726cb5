"""The Telegram channel end to end: the real Application against a Bot API stand-in on localhost"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import itertools
import json
import logging
import shutil
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from ahead import EXAM_DAY, NEXT_YEAR
from botapi import DEFAULT_TOKEN, BotApiStandIn, Call
from pgserver import PgServer, fresh_schema
from telegram import Chat, Message, Update, User
from telegram.ext import Application

from bot.config import Settings
from bot.dates import add_months
from bot.engine import Engine
from bot.evaluate import load_conversations
from bot.knowledge import Knowledge, default_data_dir
from bot.logs import setup_logging
from bot.reminders.models import CLAIM_LEASE
from bot.store import Store
from bot.telegram.app import PUBLIC_COMMANDS, build_application, polling, post_init
from bot.telegram.delivery import HORIZON, REMINDER_SHARE, schedule
from bot.telegram.order import PerUserOrder

USER = 5001
ADMIN = 9009


@dataclass
class Running:
    api: BotApiStandIn
    app: Application  # type: ignore[type-arg]
    engine: Engine

    async def say(self, text: str, user: int = USER, **kwargs: object) -> list[Call]:
        """Send a text message and return the bot's messages to that chat that follow."""
        start = len(self.api.sent)
        update_id = self.api.text_message(user, text, **kwargs)  # type: ignore[arg-type]
        return await self.replies(update_id, start, kwargs.get("chat_id") or user)

    async def press(self, data: str, message_id: int, user: int = USER) -> list[Call]:
        start = len(self.api.sent)
        update_id = self.api.callback(user, data, message_id)
        await self.api.wait_for(method="answerCallbackQuery", start=start)
        return await self.replies(update_id, start, user)

    async def press_in(self, data: str, chat: int, user: int = USER) -> list[Call]:
        """Press a button on a message in ``chat`` (a group) and return the replies there."""
        start = len(self.api.sent)
        update_id = self.api.callback(user, data, 1, chat_id=chat)
        await self.api.wait_for(method="answerCallbackQuery", start=start)
        return await self.replies(update_id, start, chat)

    async def replies(self, update_id: int, start: int, chat: object) -> list[Call]:
        await self.api.wait_delivered(update_id)
        await self.api.wait_for(
            lambda c: c.ok and c.method in ("sendMessage", "sendDocument"),
            # generous: /reload re-checks all the data, ~6 s on a loaded 2-core machine; a reply
            # that does come returns at once, so this only bounds how long a failure takes
            timeout=30.0,
            chat_id=chat,
            start=start,
        )
        await self.quiet(start)
        return [
            c
            for c in self.api.sent[start:]
            if c.method in ("sendMessage", "sendDocument") and c.chat_id == chat and c.ok
        ]

    async def quiet(self, start: int, gap: float = 0.15) -> None:
        """Wait until the bot has stopped sending for ``gap`` seconds."""
        seen = -1
        while seen != len(self.api.sent):
            seen = len(self.api.sent)
            try:
                await self.api.wait_for(
                    lambda c: c.method != "getUpdates", timeout=gap, start=seen
                )
            except TimeoutError:
                return


@pytest.fixture(autouse=True)
def timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@asynccontextmanager
async def bot_on_stand_in(
    kb: Knowledge, db: Path | str, rate_limit: int, data_dir: Path | None = None
) -> AsyncIterator[Running]:
    """The real Application polling a fresh stand-in, with its store in ``db``."""
    async with BotApiStandIn(token=DEFAULT_TOKEN) as api:
        settings = Settings(
            token=DEFAULT_TOKEN,
            api_base_url=api.base_url,
            db_path=db,
            admin_ids=frozenset({ADMIN}),
            rate_limit=rate_limit,
            data_dir=data_dir,
        )
        engine = Engine(kb, Store(settings.db_path))
        try:
            async with polling(build_application(settings, engine)) as app:
                yield Running(api, app, engine)
        finally:
            engine.store.close()


@pytest.fixture
async def running(kb: Knowledge, tmp_path: Path) -> AsyncIterator[Running]:
    async with bot_on_stand_in(kb, tmp_path / "bot.db", rate_limit=30) as bot:
        yield bot


def button_data(call: Call) -> dict[str, str]:
    return {b["text"]: b["callback_data"] for b in call.buttons}


async def test_start_registers_commands_and_shows_the_menu(running: Running, kb: Knowledge):
    assert [c["command"] for c in running.api.commands] == [c for c, _ in PUBLIC_COMMANDS]
    [remind] = [c["description"] for c in running.api.commands if c["command"] == "remind"]
    ahead = dt.date.fromisoformat(remind.split("/remind ")[1].split()[0])
    assert dt.date.today() + dt.timedelta(days=60) < ahead, "the example is dated at start-up"
    [menu] = await running.say("/start")
    labels = [b.label for b in kb.responses["start"].buttons]
    assert list(button_data(menu)) == labels
    assert "careerbot" in (menu.text or "")


async def test_a_question_gets_an_html_answer_with_sources(running: Running, kb: Knowledge):
    [answer] = await running.say("salry?")
    entry = kb.entries["pay_median"]
    assert answer.params["parse_mode"] == "HTML"
    assert (answer.text or "").startswith(f"<b>{entry.title}</b>")
    assert "Sources: " in (answer.text or "")
    assert "f:pay_median:1" in button_data(answer).values()


async def test_a_dialog_to_its_result_with_button_presses(running: Running):
    [question] = await running.say("/certifications")
    data = button_data(question)
    [question] = await running.press(
        data["Physician practice or clinic"], question.result["message_id"]
    )
    data = button_data(question)
    [question] = await running.press(data["Practice management"], question.result["message_id"])
    [result] = await running.say("4")
    assert "my suggestion" in (result.text or "") and "Sources:" in (result.text or "")
    assert running.api.stats["answerCallbackQuery"] >= 2

    # the first question's buttons are stale now: a polite answer, and the query is answered
    stale = await running.press(data["Practice management"], question.result["message_id"])
    assert "earlier conversation" in (stale[0].text or "")


async def test_sticker_photo_edit_and_long_message(running: Running, kb: Knowledge):
    start = len(running.api.sent)
    update = running.api.sticker(USER)
    [reply] = await running.replies(update, start, USER)
    assert reply.text == kb.responses["non_text"].text
    start = len(running.api.sent)
    update = running.api.photo(USER, caption="what about this?")
    [reply] = await running.replies(update, start, USER)
    assert reply.text == kb.responses["non_text"].text

    edit = running.api.edited_message(USER, "how do I become a pilot")
    [greeting] = await running.say("hello")  # the only reply: the edit gets none
    assert "pilot" not in (greeting.text or "")
    assert edit not in running.api.delivered, "edits are not even asked for (allowed_updates)"

    replies = await running.say("salary " * 1000)  # 7,000 characters
    assert replies and all(len(c.text or "") <= 4096 for c in replies)


async def test_flood_limit_and_bad_gateway_are_retried_once(running: Running):
    running.api.fail_next("sendMessage", 429, retry_after=1)
    started = time.monotonic()
    replies = await running.say("what is fache")
    assert len(replies) == 1 and "FACHE" in (replies[0].text or "")
    assert time.monotonic() - started >= 0.9, "the flood limit was waited out"

    running.api.fail_next("sendMessage", 502)
    replies = await running.say("what is an mha")
    assert len(replies) == 1, "sent once after the 502, not twice"


async def test_a_user_who_blocked_the_bot_is_marked_inactive(running: Running):
    running.api.block_user(USER)
    start = len(running.api.sent)
    update = running.api.text_message(USER, "salary?")
    await running.api.wait_delivered(update)
    await running.api.wait_for(lambda c: c.method == "sendMessage" and c.failed, start=start)
    await running.quiet(start)
    assert running.engine.store.user(str(USER)).active is False
    running.api.unblock_user(USER)
    [again] = await running.say("hi")  # the bot goes on, and the user is active again
    assert running.engine.store.user(str(USER)).active is True
    assert again.ok


async def test_group_chats_answer_only_commands_and_mentions(running: Running, kb: Knowledge):
    group = -100777
    start = len(running.api.sent)
    update = running.api.group_message(USER, group, "what is fache")
    await running.api.wait_delivered(update)
    await running.quiet(start, gap=0.4)
    assert not [c for c in running.api.sent[start:] if c.method == "sendMessage"]

    start = len(running.api.sent)
    update = running.api.group_message(USER, group, "what is fache", mention_bot=True)
    [answer] = await running.replies(update, start, group)
    assert "FACHE" in (answer.text or "")

    for personal in (f"/remind {NEXT_YEAR}-03-14 CMM exam", "/export"):
        [refused] = await running.say(personal, chat_id=group, chat_type="group")
        assert refused.text == kb.responses["private_only"].text, personal


async def test_admin_commands_only_for_admins(running: Running, kb: Knowledge):
    [outsider] = await running.say("/report")
    assert "don't know the command" in (outsider.text or "")
    await running.say("how do I become a pilot")
    [report] = await running.say("/report", user=ADMIN)
    assert "how do i become a pilot" in (report.text or "")
    [reloaded] = await running.say("/reload", user=ADMIN)
    assert (reloaded.text or "").startswith("Reloaded.")


async def test_export_sends_a_json_file_and_forget_erases(running: Running):
    await running.say("/degrees")
    [document] = await running.say("/export")
    assert document.method == "sendDocument" and document.document is not None
    data = json.loads(document.document.data)
    assert data["user"] == str(USER) and data["dialog"]["id"] == "degree_planner"
    [confirm] = await running.say("/forget")
    [done] = await running.press(button_data(confirm)["Yes, delete"], confirm.result["message_id"])
    assert "deleted" in (done.text or "")
    assert running.engine.store.export(str(USER))["dialog"] is None


async def reschedule(running: Running) -> None:
    """Empty the job queue and schedule everything pending, as a restart does."""
    assert running.app.job_queue is not None
    for job in running.app.job_queue.jobs():
        job.schedule_removal()
    await post_init(running.app)


async def test_reminders_are_delivered_through_the_job_queue(running: Running):
    [saved] = await running.say(f"/remind {NEXT_YEAR}-03-14 CMM exam")
    assert "Saved" in (saved.text or "")
    store = running.engine.store
    # bring the first message forward to now: the job queue sends it, then it is marked sent
    first = running.engine.reminders.pending()[0]
    store.db.execute("UPDATE notifications SET fire_at = ? WHERE id = ?", (time.time(), first.id))
    start = len(running.api.sent)
    await reschedule(running)  # as after a restart: schedule everything pending
    call = await running.api.wait_for(
        lambda c: c.method == "sendMessage" and "Reminder" in (c.text or ""), start=start
    )
    assert "CMM exam" in (call.text or "") and "Snooze 1 hour" in button_data(call)
    await running.quiet(start)
    state = store.db.execute(
        "SELECT state FROM notifications WHERE id = ?", (first.id,)
    ).fetchone()
    assert state == ("sent",)
    sent = [c for c in running.api.sent if "⏰" in (c.text or "")]
    assert len(sent) == 1


async def test_the_token_never_reaches_the_logs(
    running: Running, caplog: pytest.LogCaptureFixture
):
    setup_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    for noisy in ("httpx", "httpcore"):  # even at DEBUG, where they print every URL
        logging.getLogger(noisy).setLevel(logging.DEBUG)
    running.api.fail_next("sendMessage", 502, times=2)
    await running.say("salary?")
    running.api.fail_next("sendMessage", 400, description="Bad Request: can't parse entities")
    start = len(running.api.sent)
    running.api.text_message(USER, "what is fache")
    await running.api.wait_for(lambda c: c.method == "sendMessage" and c.failed, start=start)
    await running.quiet(start)
    assert caplog.records, "something was logged"
    secret = DEFAULT_TOKEN.split(":")[1]
    for record in caplog.records:
        assert secret not in record.getMessage()
        assert secret not in (record.exc_text or "")


async def test_reload_keeps_serving_old_data_when_the_new_is_broken(
    running: Running, tmp_path: Path
):
    broken = tmp_path / "data"
    for sub in ("intents", "knowledge"):
        shutil.copytree(default_data_dir() / sub, broken / sub)
    (broken / "knowledge" / "pay.yaml").write_text("version: 1\nentries: [oops\n")
    svc = running.app.bot_data["services"]
    # as if CAREERBOT_DATA_DIR pointed there
    svc.settings = svc.settings.model_copy(update={"data_dir": broken})
    [refused] = await running.say("/reload", user=ADMIN)
    assert (refused.text or "").startswith("Not reloaded") and "pay.yaml" in (refused.text or "")
    [answer] = await running.say("salary?")
    assert "Median salary" in (answer.text or ""), "the old data is still served"


async def _bring_forward(running: Running) -> int:
    """Make the user's first reminder message due now and schedule it as start-up would."""
    [saved] = await running.say(f"/remind {NEXT_YEAR}-03-14 CMM exam")
    assert "Saved" in (saved.text or "")
    first = running.engine.reminders.pending()[0]
    running.engine.store.db.execute(
        "UPDATE notifications SET fire_at = ? WHERE id = ?", (time.time(), first.id)
    )
    await reschedule(running)
    return first.id


def _state(running: Running, notification_id: int) -> str:
    row = running.engine.store.db.execute(
        "SELECT state FROM notifications WHERE id = ?", (notification_id,)
    ).fetchone()
    return str(row[0])


async def test_a_reminder_send_that_fails_is_retried_until_delivered(running: Running):
    running.api.fail_next("sendMessage", 502, times=1)
    start = len(running.api.sent)
    notification_id = await _bring_forward(running)
    call = await running.api.wait_for(
        lambda c: c.ok and "⏰" in (c.text or ""), start=start, timeout=10
    )
    assert call.chat_id == USER
    await running.quiet(start)
    assert _state(running, notification_id) == "sent"
    assert len([c for c in running.api.sent if c.ok and "⏰" in (c.text or "")]) == 1


async def test_a_blocked_user_s_reminders_are_held_not_lost(running: Running):
    start = len(running.api.sent)
    notification_id = await _bring_forward(running)
    running.api.block_user(USER)
    await running.api.wait_for(lambda c: c.failed and c.method == "sendMessage", start=start)
    await running.quiet(start)
    assert _state(running, notification_id) == "paused"
    assert running.engine.store.user(str(USER)).active is False


def _due_now(running: Running, users: range) -> list[int]:
    """Give each user a reminder whose first message is due now; return those notification ids."""
    reminders = running.engine.reminders
    for user in users:
        reminders.create(str(user), "CMM exam", EXAM_DAY, dt.time(9), "UTC")
    db = running.engine.store.db
    firsts = [
        db.execute(
            "SELECT id FROM notifications WHERE user_id = ? ORDER BY fire_at LIMIT 1", (str(u),)
        ).fetchone()[0]
        for u in users
    ]
    now = time.time()
    db.executemany("UPDATE notifications SET fire_at = ? WHERE id = ?", [(now, i) for i in firsts])
    return firsts


def _reminder_calls(running: Running) -> list[Call]:
    return [c for c in running.api.sent if c.method == "sendMessage" and "⏰" in (c.text or "")]


@pytest.mark.parametrize("rate_limit", [30, 0])
async def test_a_chat_reply_does_not_wait_behind_a_reminder_burst(
    kb: Knowledge, tmp_path: Path, rate_limit: int
):
    """150 reminders due at once take seconds to go out (at 30 messages/s, or over a slow
    connection with no limit); a question asked meanwhile is answered before most of them, and
    every reminder still arrives exactly once."""
    async with bot_on_stand_in(kb, tmp_path / "bot.db", rate_limit) as bot:
        if not rate_limit:
            bot.api.delay("sendMessage", 0.1)
        ids = _due_now(bot, range(8000, 8150))
        await reschedule(bot)
        await bot.api.wait_for(lambda c: "⏰" in (c.text or ""), timeout=10)
        bot.api.text_message(USER, "salary?")
        answer = await bot.api.wait_for(
            lambda c: c.ok and "Median salary" in (c.text or ""), chat_id=USER, timeout=20
        )
        before = [c for c in _reminder_calls(bot) if c.time < answer.time]
        assert len(before) < 75, f"the answer waited for {len(before)} of 150 reminders"
        await settled(lambda: all(_state(bot, i) == "sent" for i in ids), within=20)
        assert sorted(c.chat_id for c in _reminder_calls(bot)) == list(range(8000, 8150))


async def test_a_burst_never_puts_more_than_the_rate_limit_into_one_second(
    kb: Knowledge, tmp_path: Path
):
    """90 reminders due at once at CAREERBOT_RATE_LIMIT=30: in no second do more than 30 (plus
    one at the window's edge) reach Telegram, the first second included."""
    async with bot_on_stand_in(kb, tmp_path / "bot.db", rate_limit=30) as bot:
        ids = _due_now(bot, range(8200, 8290))
        await reschedule(bot)
        await settled(lambda: all(_state(bot, i) == "sent" for i in ids), within=30)
        times = sorted(c.time for c in _reminder_calls(bot))
        busiest = max(sum(1 for t in times if first <= t < first + 1.0) for first in times)
        assert len(times) == 90
        assert busiest <= 31, f"{busiest} messages in one second at a limit of 30"


async def settled(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait until ``condition()`` holds (the bot commits after Telegram's answer arrives)."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_only_reminders_due_soon_are_jobs_and_a_refill_adds_the_rest(running: Running):
    [saved] = await running.say(f"/remind {NEXT_YEAR}-03-14 CMM exam")
    assert "Saved" in (saved.text or "")
    job_queue = running.app.job_queue
    assert job_queue is not None

    def jobs() -> set[str]:
        return {j.name or "" for j in job_queue.jobs() if (j.name or "").startswith("n")}

    assert jobs() == set(), "months ahead: in the store, not in memory"
    soon, later = running.engine.reminders.pending()[:2]
    db = running.engine.store.db
    db.execute("UPDATE notifications SET fire_at = ? WHERE id = ?", (time.time() + 600, soon.id))
    db.execute(
        "UPDATE notifications SET fire_at = ? WHERE id = ?", (time.time() + 2 * HORIZON, later.id)
    )
    [refill] = job_queue.get_jobs_by_name("refill")
    await refill.run(running.app)
    assert jobs() == {f"n{soon.id}"}


def _update(update_id: int, user: int) -> Update:
    sender = User(user, "someone", is_bot=False)
    chat = Chat(user, "private")
    return Update(update_id, message=Message(update_id, dt.datetime.now(dt.UTC), chat, sender))


async def test_one_user_s_backlog_does_not_hold_up_other_users():
    """Each user's updates run one at a time, in order; a user with many queued updates takes
    one slot, so another user's update goes through meanwhile."""
    order = PerUserOrder(max_concurrent_updates=4)
    release = asyncio.Event()
    done: list[tuple[int, int]] = []

    async def handle(update_id: int, user: int) -> None:
        if user == 1:
            await release.wait()
        done.append((user, update_id))

    backlog = [
        asyncio.create_task(order.process_update(_update(i, 1), handle(i, 1))) for i in range(20)
    ]
    other = asyncio.create_task(order.process_update(_update(99, 2), handle(99, 2)))
    await asyncio.wait_for(other, timeout=2)
    assert done == [(2, 99)], "the other user was answered while the first one's updates wait"
    release.set()
    await asyncio.gather(*backlog)
    assert done[1:] == [(1, i) for i in range(20)], "the first user's updates ran in order"


def _minute(at: float) -> dt.datetime:
    """``at`` (an epoch) as a UTC moment to the minute, as a reminder is set."""
    return dt.datetime.fromtimestamp(at, dt.UTC).replace(second=0, microsecond=0)


def _jobs(running: Running) -> list[str]:
    assert running.app.job_queue is not None
    return [j.name or "" for j in running.app.job_queue.jobs() if (j.name or "").startswith("n")]


async def test_a_reminder_moved_to_another_zone_goes_out_at_its_new_time(running: Running):
    """Its old job neither sends it at the old time nor keeps it from going out at the new."""
    event = _minute(time.time() + 6 * 3600)  # in UTC; 5:30 earlier in Asia/Kolkata (no DST)
    running.engine.reminders.create(
        str(USER), "CMM exam", event.date(), event.time(), "UTC", leads=[330, 0]
    )
    earlier, later = running.engine.reminders.pending()  # 5:30 before it (in ~30 min), at it
    job_queue = running.app.job_queue
    assert job_queue is not None
    db = running.engine.store.db
    db.execute("UPDATE notifications SET fire_at = ? WHERE id = ?", (time.time() + 1, later.id))
    [refill] = job_queue.get_jobs_by_name("refill")
    await refill.run(running.app)
    db.execute("UPDATE notifications SET fire_at = ? WHERE id = ?", (later.fire_at, later.id))
    # jobs as if from before: the first's at its time, a stale one in 1 s for the second
    assert sorted(_jobs(running)) == sorted([f"n{earlier.id}", f"n{later.id}"])
    [offer] = [r for r in await running.say("/timezone Asia/Kolkata") if r.buttons]
    start = len(running.api.sent)
    # the move's turn carries their new times: the first has passed (it goes out now), the
    # second is in ~30 min
    moved = await running.press(button_data(offer)["Move them"], offer.result["message_id"])
    assert any("Asia/Kolkata" in (c.text or "") for c in moved)
    await running.api.wait_for(lambda c: "⏰" in (c.text or ""), start=start, timeout=5)
    await asyncio.sleep(1.5)  # the second one's old job has come and gone by now
    assert len(_reminder_calls(running)) == 1
    assert _state(running, earlier.id) == "sent" and _state(running, later.id) == "pending"
    assert _jobs(running) == [f"n{later.id}"]


async def test_a_reminder_set_for_the_coming_hour_is_a_job_at_once(running: Running):
    """No refill or restart needed: the turn that saves it schedules it."""
    event = _minute(time.time() + 1800)
    [saved] = await running.say(f"/remind {event:%Y-%m-%d %H:%M} CMM exam")
    assert "Saved" in (saved.text or "")
    [due] = running.engine.reminders.pending()  # a week and a day before have passed
    assert _jobs(running) == [f"n{due.id}"]


async def test_a_repeat_due_within_the_hour_is_a_job_once_the_last_message_is_sent(
    running: Running,
):
    """A monthly reminder whose last message went out late: its next one, due in half an
    hour, is scheduled by the send itself."""
    event = _minute(time.time() + 1800)
    reminders = running.engine.reminders
    saved = reminders.save(str(USER), "CEU log", event.date(), event.time(), "UTC", leads=[0])
    [last] = saved.notifications
    month_before = add_months(event.date(), -1).isoformat()
    db = running.engine.store.db
    db.execute(
        "UPDATE reminders SET repeat = 'monthly', local_date = ?, first_date = ? WHERE id = ?",
        (month_before, month_before, saved.reminder.id),
    )
    db.execute(
        "UPDATE notifications SET occurrence = ?, fire_at = ? WHERE id = ?",
        (month_before, time.time(), last.id),
    )
    start = len(running.api.sent)
    await reschedule(running)
    await running.api.wait_for(lambda c: "⏰" in (c.text or ""), start=start, timeout=5)
    await settled(lambda: _state(running, last.id) == "sent")
    [following] = reminders.pending()
    assert following.fire_at == event.timestamp()
    await settled(lambda: _jobs(running) == [f"n{following.id}"])


ONE_OF_EACH_KIND = ["thread-01", "short-02", "two-07", "offtopic-02", "tour-14"]


async def test_one_conversation_of_each_kind_through_telegram(running: Running, kb: Knowledge):
    data = load_conversations()
    chosen = [c for c in data.conversations if c.id in ONE_OF_EACH_KIND]
    assert sorted(c.kind for c in chosen) == sorted({c.kind for c in data.conversations})
    declined = html.unescape(kb.responses["off_topic"].text).lower()
    for n, conversation in enumerate(chosen):
        user = USER + 100 + n
        for turn in conversation.turns:
            sent = await running.say(turn.say, user=user)
            text = html.unescape("\n".join(c.text or "" for c in sent)).lower()
            state = running.engine.store.user(str(user)).dialog
            where = f"{conversation.id}: {turn.say!r}"
            if turn.label == "oos":
                assert declined in text, where
            elif turn.label == "tour" and turn.expect == "start":
                assert state is not None and state.id == data.tours[turn.tour or ""], where
            elif turn.label == "tour" and turn.expect == "stop":
                assert state is None, where
            elif turn.label == "tour":
                dialog, step, option = (data.options[turn.option or ""] or "").split(".")
                slot = next(s.slot for s in kb.dialogs[dialog].steps if s.id == step)
                assert state is not None and state.slots.get(slot) == option, where
            else:
                for label in filter(None, [turn.label, turn.also]):
                    assert kb.entries[label].title.lower() in text, where
                assert all(f in text for f in turn.facts), where


@pytest.mark.both_backends
async def test_reload_on_one_process_reaches_the_others(
    kb: Knowledge, store_location: str, backend: str, data_copy: Path, monkeypatch
):
    """Two bot processes on one PostgreSQL store: /reload sent to one, both serve the new data.
    (On SQLite one process serves a file: there is no other to tell, and it does not poll.)"""
    monkeypatch.setattr("bot.telegram.app.RELOAD_POLL", 0.3)
    old = "Median salary of a medical and health services manager"
    async with (
        bot_on_stand_in(kb, store_location, 30, data_copy) as first,
        bot_on_stand_in(kb, store_location, 30, data_copy) as second,
    ):
        pay = data_copy / "knowledge" / "pay.yaml"
        pay.write_text(pay.read_text().replace(old, "Median pay, as the sources give it"))
        [reloaded] = await first.say("/reload", user=ADMIN)
        assert (reloaded.text or "").startswith("Reloaded.")
        [answer] = await first.say("salary?")
        assert "Median pay, as the sources give it" in (answer.text or "")
        polls = [j for j in second.app.job_queue.jobs() if j.name == "follow_reloads"]
        if backend == "sqlite":
            assert polls == []
            return
        deadline = time.monotonic() + 30
        while second.app.bot_data["services"].data_version != 1:
            assert time.monotonic() < deadline, "the second process never followed the reload"
            await asyncio.sleep(0.2)
        [answer] = await second.say("salary?")
        assert "Median pay, as the sources give it" in (answer.text or "")


async def test_replicas_keep_to_one_shared_pace_for_reminder_messages(
    kb: Knowledge, pg_server: PgServer
) -> None:
    """Two bot processes on one PostgreSQL store, 30 reminder messages due at once: each sent
    once, by both processes, and together within the shared pace (``REMINDER_SHARE`` of the
    rate limit, 10 a second here), not at each process's own limit (15 each, 30 together)."""
    rate, count = 15, 30
    budget = rate * REMINDER_SHARE
    users = [7100 + i for i in range(count)]
    with fresh_schema(pg_server) as url:
        async with (
            bot_on_stand_in(kb, url, rate) as first,
            bot_on_stand_in(kb, url, rate) as second,
        ):
            for user in users:
                first.engine.reminders.create(
                    str(user), "CMM exam", EXAM_DAY, dt.time(9), "UTC", leads=[0]
                )
            first.engine.store.execute("UPDATE notifications SET fire_at = ?", (time.time(),))
            due = first.engine.reminders.pending()
            assert len(due) == count
            for running in (first, second):
                assert running.app.job_queue is not None
                schedule(running.app.job_queue, due)

            def sent() -> list[Call]:
                return [
                    c
                    for running in (first, second)
                    for c in running.api.sent
                    if c.ok and "⏰" in (c.text or "")
                ]

            deadline = time.monotonic() + 60
            while len(sent()) < count:
                assert time.monotonic() < deadline, f"{len(sent())} of {count} sent"
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.5)  # anything sent twice would arrive by now
            calls = sent()
            assert sorted(c.chat_id for c in calls) == users, "each sent once"
            assert all(r.api.calls("sendMessage") for r in (first, second)), "both sent some"
            # what Telegram sees: in no second more than the budget (plus the event loop's jitter)
            arrivals = sorted(c.time for c in calls)
            most = max(sum(1 for t in arrivals if at <= t < at + 1) for at in arrivals)
            assert most <= budget + 2, f"{most} reminder messages within one second"
            # the moments the two reserved, together: one every 1/budget seconds, never closer
            moments = sorted(
                float(until) - CLAIM_LEASE
                for (until,) in first.engine.store.execute(
                    "SELECT claimed_until FROM notifications WHERE state = 'sent'"
                )
            )
            assert len(moments) == count
            gaps = [b - a for a, b in itertools.pairwise(moments)]
            assert min(gaps) >= 1 / budget - 1e-6


async def test_replicas_keep_to_one_rate_limit_for_all_their_messages(
    kb: Knowledge, pg_server: PgServer
) -> None:
    """Two bot processes on one PostgreSQL store at CAREERBOT_RATE_LIMIT=10, 40 users asking at
    once, 20 through each: every one answered, and what Telegram receives from both together
    stays within 10 messages in any second (each process alone would send 10, 20 together)."""
    rate, users = 10, [7300 + i for i in range(40)]
    with fresh_schema(pg_server) as url:
        async with (
            bot_on_stand_in(kb, url, rate) as first,
            bot_on_stand_in(kb, url, rate) as second,
        ):
            # one Telegram numbers its updates once: the second stand-in counts on from elsewhere
            second.api._update_ids = itertools.count(200_000_001)
            for n, user in enumerate(users):
                (first, second)[n % 2].api.text_message(user, "hello")

            def answers() -> list[Call]:
                return [
                    c
                    for running in (first, second)
                    for c in running.api.sent
                    if c.ok and c.method == "sendMessage"
                ]

            deadline = time.monotonic() + 60
            while len(answers()) < len(users):
                assert time.monotonic() < deadline, f"{len(answers())} of {len(users)} answered"
                await asyncio.sleep(0.2)
            calls = answers()
            assert sorted(c.chat_id for c in calls) == users, "each answered once"
            arrivals = sorted(c.time for c in calls)
            most = max(sum(1 for t in arrivals if at <= t < at + 1) for at in arrivals)
            assert most <= rate + 1, f"{most} messages within one second at a limit of {rate}"


async def test_the_database_going_away_and_coming_back(
    kb: Knowledge, pg_server: PgServer, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL stops under a running bot: a question gets the apology, the reminder due
    meanwhile waits, and once the server is back the bot answers and sends it, once."""
    with fresh_schema(pg_server) as url:
        async with bot_on_stand_in(kb, url, rate_limit=30) as running:
            [saved] = await running.say(f"/remind {NEXT_YEAR}-03-14 CMM exam")
            assert "Saved" in (saved.text or "")
            first = running.engine.reminders.pending()[0]
            running.engine.store.db.execute(
                "UPDATE notifications SET fire_at = ? WHERE id = ?", (time.time() + 3, first.id)
            )
            await reschedule(running)
            pg_server.stop()
            try:
                [sorry] = await running.say("salary?")
                assert sorry.text == kb.responses["error"].text
                caplog.clear()  # the engine logged that failure, as it should: expected here
                await asyncio.sleep(4)  # the reminder falls due while the server is away
                assert not [c for c in running.api.sent if "⏰" in (c.text or "")]
            finally:
                pg_server.start()
            start = len(running.api.sent)
            call = await running.api.wait_for(
                lambda c: c.ok and "⏰" in (c.text or ""), start=0, timeout=30
            )
            assert call.chat_id == USER and "CMM exam" in (call.text or "")
            [answer] = await running.say("salary?")
            assert "Median salary" in (answer.text or "")
            await running.quiet(start)
            assert _state(running, first.id) == "sent"
            assert len([c for c in running.api.sent if c.ok and "⏰" in (c.text or "")]) == 1
