"""The store: durable, migrated, clear about databases it cannot use (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from botprocess import bot_env, run_to_exit
from pgserver import PgServer

from bot import pgstore
from bot.database import MIGRATIONS, StoreError
from bot.store import Store, User

TOKEN = "123456789:" + "A" * 35


@pytest.mark.both_backends
def test_state_survives_reopening(store_location: str, backend: str):
    store = Store(store_location)
    store.save(User("42", profile={"years": "y3_7"}, context={"topic": "cert_fache"}))
    store.close()
    again = Store(store_location)
    user = again.user("42")
    assert user.profile == {"years": "y3_7"} and user.context == {"topic": "cert_fache"}
    if backend == "sqlite":
        assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert again.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    else:
        assert isinstance(again.db, pgstore.PgConnection)
        assert again.db.schema_version == len(pgstore.MIGRATIONS) == len(MIGRATIONS)
    again.close()


def _at_version(location: str, backend: str, version: int, rows: list[str]) -> None:
    """Make the store at ``location`` as a careerbot of schema ``version`` left it, holding
    ``rows`` (SQL in both dialects)."""
    if backend == "sqlite":
        db = sqlite3.connect(location, isolation_level=None)
        for script in MIGRATIONS[:version]:
            db.executescript(script)
        db.executescript(";".join(rows) + f"; PRAGMA user_version = {version};")
        db.close()
        return
    with psycopg.connect(location, autocommit=True) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for number, script in enumerate(pgstore.MIGRATIONS[:version], start=1):
            conn.execute(script.encode())
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", [number])
        for row in rows:
            conn.execute(row.encode())


@pytest.mark.both_backends
def test_a_database_of_schema_3_upgrades_keeping_its_rows(store_location: str, backend: str):
    """Migrations 4-8 on data: a reminder gets its first date, the unanswered questions are
    grouped (ignoring case, the latest wording kept) with who asked them."""
    _at_version(
        store_location,
        backend,
        3,
        [
            "INSERT INTO reminders (user_id, title, kind, local_date, local_time, tz, leads,"
            " repeat, created) VALUES ('1', 'CEU log', 'ceu', '2030-01-31', '09:00', 'UTC',"
            " '[0]', 'monthly', 1.0)",
            "INSERT INTO unanswered (user_id, text, outcome, at) VALUES"
            " ('1', 'How do I fly', 'off_topic', 1.0), ('2', 'how do I FLY', 'low', 3.0),"
            " ('1', 'how do i fly', 'off_topic', 2.0), ('3', 'pilot pay?', 'off_topic', 5.0)",
        ],
    )
    store = Store(store_location)
    try:
        assert store.execute("SELECT first_date FROM reminders").fetchall() == [("2030-01-31",)]
        assert store.curation.top_unanswered() == [("how do i fly", 3), ("pilot pay?", 1)]
        latest = store.execute("SELECT text, outcome FROM asked WHERE key = 'how do i fly'")
        assert latest.fetchall() == [("how do I FLY", "low")]
        assert store.export("1")["unanswered_questions"] == ["how do I FLY"]
        assert store.export("3")["unanswered_questions"] == ["pilot pay?"]
        counts = store.execute("SELECT user_id, n FROM asked_by ORDER BY user_id").fetchall()
        assert counts == [("1", 2), ("2", 1), ("3", 1)]
        store.curation.record_unanswered("4", "how do i fly", "off_topic")
        assert store.curation.top_unanswered(1) == [("how do i fly", 4)]
    finally:
        store.close()


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


@pytest.mark.both_backends
def test_export_and_forget(store: Store):
    store.save(User("5", profile={"setting": "hospital"}))
    store.curation.record_feedback("5", "cert_fache", helpful=False)
    store.curation.record_unanswered("5", "how do i become a pilot", "off_topic")
    data = store.export("5")
    assert data["profile"] == {"setting": "hospital"}
    assert data["feedback"] == [{"entry": "cert_fache", "helpful": False}]
    assert data["unanswered_questions"] == ["how do i become a pilot"]
    store.forget("5")
    empty = store.export("5")
    assert empty["profile"] == {} and empty["feedback"] == []
    assert empty["unanswered_questions"] == [] and empty["reminders"] == []


def test_several_processes_share_a_postgresql_store(pg_server: PgServer, store_location: str):
    """What one bot process writes, another sees at once; none excludes the others."""
    del store_location  # (SQLite's own file: unused; one SQLite file serves one process)
    first = Store(pg_server.url(), exclusive=True)
    second = Store(pg_server.url(), exclusive=True)
    try:
        assert first.shared and second.shared
        first.save(User("shared-1", profile={"role": "nurse"}))
        assert second.user("shared-1").profile == {"role": "nurse"}
        with second.transaction():
            assert second.claim_update(777_001)
        assert not first.claim_update(777_001), "an update handled by one is handled by all"
    finally:
        first.forget("shared-1")
        first.close()
        second.close()


@pytest.mark.parametrize("problem", ["wrong password", "no server", "malformed URL"])
def test_a_postgresql_url_that_cannot_be_used_stops_run(
    pg_server: PgServer, tmp_path: Path, problem: str
):
    """`run` exits 2 at start with one line naming the server, never the password."""
    shown = "careerbot: postgresql://careerbot:***@"
    if problem == "wrong password":
        url, reason = pg_server.url(password="Hunter2-not-it"), "password authentication failed"
    elif problem == "no server":
        url = f"postgresql://careerbot:Hunter2-not-it@127.0.0.1:{pgserver_free_port()}/careerbot"
        reason = "Connection refused"
    else:  # an IPv6 host without its closing bracket: libpq quotes the URL in its error
        url, reason = "postgresql://careerbot:Hunter2-not-it@[::1/careerbot", "IPv6 host"
        shown = "careerbot: postgresql://(unreadable URL): "
    env = bot_env(tmp_path / "unused.db", CAREERBOT_DB=url, TELEGRAM_BOT_TOKEN=TOKEN)
    proc = run_to_exit(env, tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(shown), lines
    assert reason in lines[0]
    assert "Hunter2" not in proc.stderr + proc.stdout


def pgserver_free_port() -> int:
    """A port nothing listens on (the server is certainly not there)."""
    from pgserver import free_port

    return free_port()


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
