"""The PostgreSQL connection under the store: SQLite's SQL runs as written, migrations once,
and the bot carries on after the server went away and came back."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest
from pgserver import PgServer

from bot.pgstore import MIGRATIONS, PgConnection, safe_url, translate


@pytest.fixture
def pgdb(pg_server: PgServer):
    """A fresh database on the test server, its URL, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield pg_server.url(name)
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_sqlite_statements_are_translated() -> None:
    assert translate("INSERT OR IGNORE INTO updates (id, at) VALUES (?, ?)") == (
        "INSERT INTO updates (id, at) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        False,
    )
    sql, wants_id = translate("INSERT INTO outbox (user_id) VALUES (?)")
    assert sql.endswith("RETURNING id") and wants_id
    assert translate("SELECT 1 WHERE 'a' LIKE 'a%' AND x = ?")[0].endswith("'a%%' AND x = %s")
    assert translate("BEGIN IMMEDIATE") == ("BEGIN", False)


def test_ids_conflicts_and_transactions_behave_as_on_sqlite(pgdb: str) -> None:
    db = PgConnection(pgdb)
    try:
        db.execute("BEGIN IMMEDIATE")
        assert db.in_transaction
        first = db.execute(
            "INSERT INTO outbox (user_id, chat_id, replies, created) VALUES (?, ?, ?, ?)",
            ("u1", "c1", '["hi"]', 1.5),
        )
        claim = "INSERT OR IGNORE INTO updates (id, at) VALUES (?, ?)"
        assert db.execute(claim, (7, 1.0)).rowcount == 1
        assert db.execute(claim, (7, 2.0)).rowcount == 0  # handled before: nothing twice
        db.execute("ROLLBACK")
        assert not db.in_transaction
        assert db.execute("SELECT count(*) FROM updates").fetchone() == (0,)
        second = db.execute(
            "INSERT INTO outbox (user_id, chat_id, replies, created) VALUES (?, ?, ?, ?)",
            ("u1", "c1", '["again"]', 2.5),
        )
        assert first.lastrowid == 1 and second.lastrowid == 2  # ids are never reused
        assert db.execute("SELECT replies, created FROM outbox").fetchall() == [('["again"]', 2.5)]
        # SQLite's untyped parameters, e.g. a NULL compared in SQL, work as they do there
        rows = db.execute("SELECT id FROM outbox WHERE (? IS NULL OR user_id = ?)", (None, None))
        assert rows.fetchall() == [(2,)]
    finally:
        db.close()


def test_replicas_starting_together_migrate_once(pgdb: str) -> None:
    opened: list[PgConnection] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(PgConnection(pgdb))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [db.schema_version for db in opened] == [len(MIGRATIONS)] * 3
    versions = opened[0].execute("SELECT version FROM schema_version ORDER BY version")
    assert [v for (v,) in versions] == list(range(1, len(MIGRATIONS) + 1))
    for db in opened:
        db.close()


def test_the_same_user_is_handled_by_one_process_at_a_time(pgdb: str) -> None:
    """Two processes handling one user's updates: the second waits for the first's commit."""
    a, b = PgConnection(pgdb), PgConnection(pgdb)
    try:
        a.execute("BEGIN")
        a.lock_user("42")
        waited: list[float] = []

        def other() -> None:
            start = time.monotonic()
            b.execute("BEGIN")
            b.lock_user("42")
            waited.append(time.monotonic() - start)
            b.execute("COMMIT")

        t = threading.Thread(target=other)
        t.start()
        time.sleep(0.5)
        assert not waited  # still waiting for user 42
        b2 = PgConnection(pgdb)
        b2.execute("BEGIN")
        b2.lock_user("43")  # another user is not held up
        b2.execute("COMMIT")
        b2.close()
        a.execute("COMMIT")
        t.join(10)
        assert waited and waited[0] >= 0.5
    finally:
        a.close()
        b.close()


def test_the_server_going_away_and_back(pg_server: PgServer, pgdb: str) -> None:
    db = PgConnection(pgdb, wait=1)
    try:
        db.execute(
            "INSERT INTO outbox (user_id, chat_id, replies, created) VALUES (?, ?, ?, ?)",
            ("u", "c", "[]", 1.0),
        )
        pg_server.stop()
        with pytest.raises(psycopg.OperationalError):
            db.execute("SELECT count(*) FROM outbox")
        with pytest.raises(psycopg.OperationalError):
            db.execute("BEGIN")
        assert not db.in_transaction
        pg_server.start()
        deadline = time.monotonic() + 30
        while True:  # the pool replaces the dropped connections by itself
            try:
                assert db.execute("SELECT count(*) FROM outbox").fetchone() == (1,)
                break
            except psycopg.OperationalError:
                assert time.monotonic() < deadline, "the store did not come back"
                time.sleep(0.2)
    finally:
        db.close()


def test_errors_never_show_the_password(pg_server: PgServer) -> None:
    wrong = pg_server.url(password="S3cret-wrong-pw")
    with pytest.raises(psycopg.OperationalError) as caught:
        PgConnection(wrong, timeout=3)
    assert "password authentication failed" in str(caught.value)
    assert "S3cret-wrong-pw" not in str(caught.value)
    assert safe_url(wrong) == f"postgresql://careerbot:***@127.0.0.1:{pg_server.port}/careerbot"
    assert "S3cret" not in safe_url("postgresql://u:S3cret@h:99999/x")  # even a bad port
