"""Faults that must not break the promises (issue 14): a full disk, odd bytes in the terminal,
stores that grow with every user, a chat that no longer exists and an update nobody can read.

The full disk is real SQLite behaviour: ``PRAGMA max_page_count`` set to the file's current size
makes every write that needs a new page fail with SQLITE_FULL, after which SQLite has already
rolled the transaction back, exactly as on a full filesystem. Where a test needs one particular
statement to fail (a reminder's claim, its "sent" mark), the connection is wrapped and raises the
SQLITE_FULL error SQLite itself produced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from ahead import NEXT_YEAR
from botprocess import bare_env
from test_telegram import USER, Running, bot_on_stand_in, reschedule, settled

import bot.database
import bot.telegram.send
from bot.curation import MAX_ASKERS, MAX_UNANSWERED
from bot.database import StoreError
from bot.engine import Engine
from bot.knowledge import Knowledge
from bot.store import Store, User

# --- a full disk, for real -------------------------------------------------------------------


def fill(db: sqlite3.Connection) -> None:
    """Leave the database no room to grow, as a full disk does."""
    db.execute("CREATE TABLE IF NOT EXISTS filler (x BLOB)")
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    for size in (400, 40):
        with contextlib.suppress(sqlite3.OperationalError):
            while True:
                db.execute("INSERT INTO filler VALUES (randomblob(?))", (size,))


def make_room(db: sqlite3.Connection) -> None:
    """Space is freed on the disk."""
    db.execute("PRAGMA max_page_count = 1073741823")


def full_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "database full" in r.getMessage()]


def test_a_full_disk_is_reported_as_such_once_and_the_store_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    """SQLite rolls back by itself after SQLITE_FULL; the store's own rollback must not then
    fail and hide the real error ("cannot rollback - no transaction is active")."""
    monkeypatch.setattr(bot.database, "RECOVERED_AFTER", 0.2, raising=False)
    caplog.set_level(logging.INFO)
    store = Store(tmp_path / "bot.db")
    fill(store.db)
    big = User("1", profile={"notes": "x" * 50_000})  # needs new pages: there are none
    for _ in range(5):
        with pytest.raises(StoreError) as err:
            _save_in_transaction(store, big)
        assert "database full" in str(err.value) and "rollback" not in str(err.value)
        assert not store.db.in_transaction
    assert len(full_logs(caplog)) == 1, "logged once, not once per failure"
    make_room(store.db)
    time.sleep(0.25)
    _save_in_transaction(store, big)  # the same connection works again
    assert store.user("1").profile == big.profile
    assert any("writes succeed again" in r.getMessage() for r in caplog.records)
    fill(store.db)
    with pytest.raises(StoreError):
        _save_in_transaction(store, User("2", profile={"notes": "y" * 50_000}))
    assert len(full_logs(caplog)) == 2, "a new outage is logged again"
    store.close()


def _save_in_transaction(store: Store, user: User) -> None:
    with store.transaction():
        store.save(user)


@contextlib.asynccontextmanager
async def small_pages_bot(kb: Knowledge, tmp_path: Path) -> AsyncIterator[Running]:
    """The bot on a database of 512-byte pages: every reply stored in the outbox spills into
    new pages, so a full database makes every update fail."""
    db = tmp_path / "bot.db"
    setup = sqlite3.connect(db)
    setup.execute("PRAGMA page_size = 512")
    setup.execute("PRAGMA journal_mode = WAL")
    setup.close()
    async with bot_on_stand_in(kb, db, rate_limit=0) as bot:
        yield bot


async def test_a_full_disk_gets_users_the_apology_logged_once_then_recovers(
    kb: Knowledge,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(bot.database, "RECOVERED_AFTER", 0.3, raising=False)
    caplog.set_level(logging.INFO)
    apology = kb.responses["error"].text
    async with small_pages_bot(kb, tmp_path) as running:
        fill(running.engine.store.db)
        for user in (USER, USER + 1, USER + 2):
            [reply] = await running.say("salary?", user=user)
            assert reply.text == apology
        assert len(full_logs(caplog)) == 1
        tracebacks = [r for r in caplog.records if r.exc_info]
        assert not tracebacks, "one line, not a traceback per update"
        assert not [r for r in caplog.records if "cannot rollback" in r.getMessage()]
        make_room(running.engine.store.db)
        await asyncio.sleep(0.4)
        [answer] = await running.say("salary?")
        assert "Median salary" in (answer.text or "")
        await settled(lambda: not running.engine.store.outbox.owed())  # its outbox row is gone
        fill(running.engine.store.db)
        [reply] = await running.say("what is fache", user=USER + 3)
        assert reply.text == apology
        assert len(full_logs(caplog)) == 2, "logged again after recovering and failing again"


class FullFor:
    """The store's connection, on which statements containing ``pattern`` (and, with
    ``first``, whose first parameter is ``first``) fail with SQLite's own SQLITE_FULL error while
    ``full`` is set."""

    def __init__(self, db: sqlite3.Connection, pattern: str, first: object = None) -> None:
        self.db, self.pattern, self.first, self.full = db, pattern, first, True
        self.failed = 0

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        given = args[0][0] if args and args[0] else None
        if self.full and self.pattern in sql and self.first in (None, given):
            self.failed += 1
            raise sqlite_full()
        return self.db.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


def sqlite_full() -> sqlite3.OperationalError:
    """The error SQLite raises when it cannot grow the database file."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (x BLOB)")
    db.execute("PRAGMA max_page_count = 2")
    try:
        db.execute("INSERT INTO t VALUES (randomblob(100000))")
    except sqlite3.OperationalError as exc:
        assert exc.sqlite_errorcode == sqlite3.SQLITE_FULL
        return exc
    finally:
        db.close()
    raise AssertionError("SQLite did not report a full database")


def _reminders_sent(running: Running) -> list[object]:
    return [c for c in running.api.sent if c.method == "sendMessage" and "⏰" in (c.text or "")]


def _state(running: Running, notification_id: int) -> str:
    row = running.engine.store.db.execute(
        "SELECT state FROM notifications WHERE id = ?", (notification_id,)
    ).fetchone()
    return str(row[0])


async def _due_now(running: Running) -> int:
    [saved] = await running.say(f"/remind {NEXT_YEAR}-03-14 CMM exam")
    assert "Saved" in (saved.text or "")
    first = running.engine.reminders.pending()[0]
    running.engine.store.db.execute(
        "UPDATE notifications SET fire_at = ? WHERE id = ?", (time.time(), first.id)
    )
    return first.id


@pytest.fixture
async def running(kb: Knowledge, tmp_path: Path) -> AsyncIterator[Running]:
    async with bot_on_stand_in(kb, tmp_path / "bot.db", rate_limit=0) as bot:
        yield bot


async def test_a_reminder_that_cannot_be_claimed_is_not_sent_until_it_can_be(
    running: Running, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(bot.telegram.send, "RETRY_DELAYS", (0.3, 0.3, 0.3, 0.3, 0.3))
    notification_id = await _due_now(running)
    store = running.engine.store
    disk = FullFor(store.db, "UPDATE notifications SET state = 'sending'")
    store.db = disk  # type: ignore[assignment]
    await reschedule(running)
    await settled(lambda: disk.failed >= 3, within=5)
    assert _reminders_sent(running) == [], "nothing is sent that cannot be recorded"
    assert _state(running, notification_id) == "pending"
    assert not [r for r in caplog.records if r.exc_info], "no traceback per attempt"
    disk.full = False  # space again: delivery resumes by itself
    await settled(lambda: _state(running, notification_id) == "sent", within=5)
    await asyncio.sleep(0.5)
    assert len(_reminders_sent(running)) == 1


async def test_a_sent_reminder_whose_mark_cannot_be_written_is_not_sent_again(
    running: Running, caplog: pytest.LogCaptureFixture
):
    notification_id = await _due_now(running)
    store = running.engine.store
    disk = FullFor(store.db, "SET state = 'sent'")
    store.db = disk  # type: ignore[assignment]
    await reschedule(running)
    await running.api.wait_for(lambda c: "⏰" in (c.text or ""), timeout=5)
    await settled(lambda: disk.failed >= 1)
    job_queue = running.app.job_queue
    assert job_queue is not None
    [record] = job_queue.get_jobs_by_name("record")
    [refill] = job_queue.get_jobs_by_name("refill")
    for _ in range(3):  # the disk is still full: marks fail, nothing goes out again
        await record.run(running.app)
        await refill.run(running.app)
        await asyncio.sleep(0.2)
    assert _state(running, notification_id) == "sending"
    disk.full = False
    await record.run(running.app)
    assert _state(running, notification_id) == "sent"
    await refill.run(running.app)
    await asyncio.sleep(0.5)
    assert len(_reminders_sent(running)) == 1, "each reminder sent once"
    assert not [r for r in caplog.records if r.exc_info]


# --- Telegram's side: gone chats and unreadable updates ----------------------------------------


async def test_a_reminder_for_a_chat_that_no_longer_exists_is_held_like_a_blocked_one(
    running: Running, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    """Telegram answers 400 "chat not found" for a deleted account: held, not retried forever."""
    monkeypatch.setattr(bot.telegram.send, "RETRY_DELAYS", (0.2, 0.2, 0.2, 0.2, 0.2))
    caplog.set_level(logging.INFO)
    notification_id = await _due_now(running)
    running.api.fail_next("sendMessage", 400, "Bad Request: chat not found", times=20)
    await reschedule(running)
    await settled(lambda: _state(running, notification_id) == "paused")
    await asyncio.sleep(1.0)  # a retry would come after 0.2 s
    attempts = [c for c in _reminders_sent_or_tried(running) if c.failed]
    assert len(attempts) == 1, "no more sends to a chat that is gone"
    assert running.engine.store.user(str(USER)).active is False
    said = [r for r in caplog.records if "chat not found" in r.getMessage().lower()]
    assert len(said) == 1 and said[0].levelno < logging.ERROR, "one line, not an error"
    running.api.clear_faults()
    await running.say("salary?")  # the user is back: their reminder is released and sent
    await settled(lambda: _state(running, notification_id) == "sent")
    assert len([c for c in _reminders_sent(running) if c.ok]) == 1


def _reminders_sent_or_tried(running: Running) -> list[Any]:
    return [
        c
        for c in running.api.sent
        if c.method == "sendMessage" and "⏰" in str(c.params.get("text") or "")
    ]


async def test_the_bot_asks_only_for_the_updates_it_handles(running: Running):
    await running.say("salary?")
    assert running.api.allowed_updates == ["message", "callback_query"]


async def test_an_update_that_cannot_be_read_is_skipped_and_the_next_one_answered(
    running: Running, caplog: pytest.LogCaptureFixture
):
    """A forwarded poll from an older Bot API server (no options, no counts) between two good
    messages: python-telegram-bot cannot parse it, and it must not stop the bot."""
    caplog.set_level(logging.INFO)
    before = len(running.api.sent)
    first = running.api.text_message(USER, "salary?")
    odd = running.api.push_update(
        {
            "message": {
                "message_id": 4242,
                "date": int(time.time()),
                "chat": {"id": USER + 1, "type": "private"},
                "from": {"id": USER + 1, "is_bot": False, "first_name": "Old"},
                "poll": {"id": "77", "question": "Which certification?"},
            }
        }
    )
    second = running.api.text_message(USER + 2, "what is fache")
    for update_id, chat in ((first, USER), (second, USER + 2)):
        await running.api.wait_delivered(update_id)
        await running.api.wait_for(lambda c: c.ok and c.method == "sendMessage", chat_id=chat)
    polls = [c for c in running.api.sent[before:] if c.method == "getUpdates"]
    assert len(polls) < 20, "no busy loop at the same offset"
    skipped = [r for r in caplog.records if str(odd) in r.getMessage()]
    assert len(skipped) == 1 and skipped[0].levelno == logging.WARNING
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    [answer] = await running.say("degree?", user=USER + 3)
    assert answer.text, "and the bot goes on answering"


# --- memory that grows with users --------------------------------------------------------------


def test_unanswered_questions_are_grouped_and_bounded(tmp_path: Path):
    store = Store(tmp_path / "bot.db")
    with store.transaction():
        for user in range(3):
            store.curation.record_unanswered(
                str(user), ["How do I fly", "how do i fly", "HOW DO I FLY"][user], "off_topic"
            )
        for n in range(MAX_UNANSWERED + 200):
            store.curation.record_unanswered(str(100 + n), f"question number {n}", "off_topic")
    top = store.curation.top_unanswered(3)
    assert top[0] == ("how do i fly", 3), "identical questions share one row with a count"
    rows = store.db.execute("SELECT count(*) FROM asked").fetchone()[0]
    assert rows == MAX_UNANSWERED
    assert "question number 0" not in {t for t, _ in store.curation.top_unanswered(MAX_UNANSWERED)}
    assert "question number 1199" in {t for t, _ in store.curation.top_unanswered(MAX_UNANSWERED)}
    links = store.db.execute("SELECT count(*) FROM asked_by").fetchone()[0]
    assert links <= MAX_UNANSWERED * MAX_ASKERS
    assert store.export("1")["unanswered_questions"] == ["HOW DO I FLY"]
    store.forget("1")
    assert store.curation.top_unanswered(1) == [("how do i fly", 2)], "the others asked it too"
    store.forget("0")
    store.forget("2")
    assert "how do i fly" not in {t for t, _ in store.curation.top_unanswered(MAX_UNANSWERED)}
    store.close()


async def test_python_telegram_bot_keeps_no_id_of_every_chat_and_user(running: Running):
    for user in range(7000, 7005):
        await running.say("salary?", user=user)
    app = running.app
    assert app._chat_ids_to_be_updated_in_persistence == set()
    assert app._user_ids_to_be_updated_in_persistence == set()
    assert len(app.user_data) == 0 and len(app.chat_data) == 0


# --- odd bytes in the terminal -----------------------------------------------------------------


def _run(
    args: list[bytes | str], stdin: bytes, tmp_path: Path, lang: str
) -> subprocess.CompletedProcess[bytes]:
    env = bare_env(tmp_path, LANG=lang, LC_ALL=lang, CAREERBOT_DB=str(tmp_path / "cli.db"))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )


INVALID = b"\xff\xfe how do I become a pilot"  # not UTF-8 at all
SURROGATE = b"what is fache \xed\xa0\x80"  # U+D800 as bytes: a lone surrogate


@pytest.mark.parametrize("lang", ["C", "C.UTF-8"])
def test_ask_json_answers_every_line_with_odd_bytes_in_valid_utf8(
    tmp_path: Path, kb: Knowledge, lang: str
):
    lines = [b"salary?", INVALID, SURROGATE, b"\xc3", b"degree?"]
    done = _run(["ask", "--json"], b"\n".join(lines) + b"\n", tmp_path, lang)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert len(rows) == len(lines), "one bad line does not abort the others"
    salary, pilot, fache, lone, degree = rows
    assert salary["intent"] == "pay_median" and degree["text"]
    assert pilot["question"] == "\ufffd\ufffd how do I become a pilot"
    same = Engine(kb, Store(":memory:")).handle("someone", pilot["question"])
    assert pilot["text"] == same.plain(), "the reply a Telegram user gets for that text"
    assert not pilot["matched"]
    assert fache["intent"] == "cert_fache" and "\ufffd" in fache["question"]
    assert lone["text"]


def test_ask_with_an_undecodable_argument(tmp_path: Path):
    done = _run(["ask", "--json", b"salary? \xff"], b"", tmp_path, "C.UTF-8")
    assert done.returncode == 0, done.stderr
    [row] = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert row["question"] == "salary? \ufffd" and row["intent"] == "pay_median"


@pytest.mark.parametrize("lang", ["C", "C.UTF-8"])
def test_chat_goes_on_after_odd_bytes(tmp_path: Path, kb: Knowledge, lang: str):
    script = b"\n".join([b"what is fache", INVALID, SURROGATE, b"how do I keep it?", b""])
    done = _run(["chat"], script, tmp_path, lang)
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode("utf-8")  # valid UTF-8, or this raises
    off_topic = kb.responses["off_topic"].text.split("\n")[0][:40]
    assert off_topic in out
    assert "CEU" in out or "continuing education" in out.lower(), "the lines after are answered"


def test_a_lone_surrogate_from_any_channel_gets_the_usual_reply(engine: Engine, kb: Knowledge):
    """Telegram's JSON can carry a lone surrogate ("\\ud800"), as undecodable bytes in a
    terminal become one: it is stored and answered like any other odd text."""
    turn = engine.handle("7", "\ud800 how do I become a pilot \udcff", update_id=1, chat="7")
    assert turn.plain() == engine.handle("8", "\ufffd how do I become a pilot \ufffd").plain()
    assert kb.responses["off_topic"].text.split("\n")[0][:40] in turn.plain()
    top = engine.store.curation.top_unanswered(1)
    assert top == [("\ufffd how do i become a pilot \ufffd", 2)]
