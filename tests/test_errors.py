"""Errors: a UserError is the reply; any other failure is logged, apologised for, and undone."""

from __future__ import annotations

import logging

import pytest
from ahead import NEXT_YEAR

from bot.engine import Engine
from bot.knowledge import Knowledge
from bot.reminders import views

pytestmark = pytest.mark.both_backends  # the engine's rollback on SQLite and on PostgreSQL


def test_a_fault_gets_the_apology_and_nothing_of_the_turn_is_saved(
    engine: Engine, kb: Knowledge, monkeypatch: pytest.MonkeyPatch, caplog
):
    def broken(*args: object) -> None:
        raise RuntimeError("Invalid isoformat string: ''")

    monkeypatch.setattr(views, "saved", broken)  # fails after the reminder was written
    turn = engine.handle("e1", f"/remind {NEXT_YEAR}-03-14 CMM exam", update_id=77)
    assert turn.plain() == kb.responses["error"].text
    assert "isoformat" not in turn.plain()
    reminders = engine.store.db.execute("SELECT count(*) FROM reminders").fetchone()[0]
    assert reminders == 0, "the reminder written before the failure was rolled back"
    assert engine.store.claim_update(77), "the update is not marked handled: a resend retries"
    logged = [r for r in caplog.records if r.name == "bot.engine" and r.levelno == logging.ERROR]
    # with the redacting record factory installed (setup_logging, by an earlier test), the
    # traceback travels as the record's redacted exc_text instead of its exc_info
    first = logged[0] if logged else None
    traced = first and (first.exc_info is not None or "Traceback" in (first.exc_text or ""))
    assert traced, "the failure is logged with its traceback"
    caplog.clear()  # expected here: the autouse check fails tests on engine failures


def test_a_user_error_is_the_reply_and_the_turn_is_kept(engine: Engine):
    turn = engine.handle("e2", "/timezone Mars/Olympus", update_id=78)
    assert "time zone" in turn.plain().lower() and "Mars/Olympus" in turn.plain()
    assert not engine.store.claim_update(78), "the refusal was a handled update"
