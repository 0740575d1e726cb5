"""The SQLite store: durable, migrated, and clear about files it cannot use."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from bot.store import MIGRATIONS, Store, StoreError, User


def test_state_survives_reopening(tmp_path):
    path = tmp_path / "bot.db"
    store = Store(path)
    store.save(User("42", profile={"years": "y3_7"}, context={"topic": "cert_fache"}))
    store.close()
    again = Store(path)
    user = again.user("42")
    assert user.profile == {"years": "y3_7"} and user.context == {"topic": "cert_fache"}
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert again.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_a_save_is_on_disk_before_it_returns(tmp_path):
    """Another process sees the write at once: nothing waits for a later flush."""
    path = tmp_path / "bot.db"
    store = Store(path)
    store.save(User("7", profile={"role": "nurse"}))
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("
            "'select profile from users where id=\"7\"').fetchone()[0])",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert '"role": "nurse"' in out


def test_file_that_is_not_a_database(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("this is my shopping list, not a database\n" * 50)
    with pytest.raises(StoreError) as err:
        Store(path)
    message = str(err.value)
    assert str(path) in message and "\n" not in message


def test_locked_database_names_the_path(tmp_path):
    path = tmp_path / "bot.db"
    Store(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        store = Store(path)
        store.db.execute("PRAGMA busy_timeout = 50")
        with pytest.raises(StoreError) as err:
            store.save(User("1"))
        assert str(path) in str(err.value) and "locked" in str(err.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_export_and_forget(tmp_path):
    store = Store(tmp_path / "bot.db")
    store.save(User("5", profile={"setting": "hospital"}))
    store.record_feedback("5", "cert_fache", helpful=False)
    store.record_unanswered("5", "how do i become a pilot", "off_topic")
    data = store.export("5")
    assert data["profile"] == {"setting": "hospital"}
    assert data["feedback"] == [{"entry": "cert_fache", "helpful": False}]
    assert data["unanswered_questions"] == ["how do i become a pilot"]
    store.forget("5")
    empty = store.export("5")
    assert empty["profile"] == {} and empty["feedback"] == []
    assert empty["unanswered_questions"] == [] and empty["reminders"] == []


def test_dialog_rows_written_before_the_model_still_load(tmp_path):
    """Rows as the first version wrote them (no "picked") and as later ones did, byte for byte."""
    store = Store(tmp_path / "bot.db")
    old = '{"id": "degree_planner", "run": "a1b2c3", "step": "clinical", "slots": {}, "redo": []}'
    later = (
        '{"id": "remind_setup", "run": "0f0f0f", "step": "leads", "slots": {"credential": '
        '"cert_cmm", "kind": "exam"}, "redo": [], "picked": ["d7"]}'
    )
    for user_id, row in (("old", old), ("later", later)):
        store.db.execute(
            "INSERT INTO users (id, created, dialog) VALUES (?, 0, ?)", (user_id, row)
        )
    first = store.user("old").dialog
    assert first is not None and (first.id, first.step, first.picked) == (
        "degree_planner",
        "clinical",
        [],
    )
    second = store.user("later").dialog
    assert second is not None and second.slots == {"credential": "cert_cmm", "kind": "exam"}
    assert second.picked == ["d7"]
    store.save(store.user("later"))
    saved = store.db.execute("SELECT dialog FROM users WHERE id = 'later'").fetchone()[0]
    assert saved == later, "saved again as the same JSON"


def test_a_dialog_row_that_does_not_load_is_dropped_not_fatal(tmp_path):
    store = Store(tmp_path / "bot.db")
    store.db.execute("INSERT INTO users (id, created, dialog) VALUES ('x', 0, '{\"id\": 3}')")
    assert store.user("x").dialog is None
