"""`careerbot migrate-store FROM TO`: a SQLite store moved to PostgreSQL (and back) keeps every
user, reminder, pending notification and owed reply, and the bot carries on from there."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ahead import NEXT_YEAR
from botprocess import bare_env
from pgserver import PgServer, fresh_schema

from bot.engine import Engine
from bot.knowledge import Knowledge
from bot.store import Store


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """An empty schema of its own on the test server."""
    with fresh_schema(pg_server, "m") as url:
        yield url


def migrate(source: str, target: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "migrate-store", source, target],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=bare_env(cwd),
    )


def fill(kb: Knowledge, location: str) -> dict[str, object]:
    """A store with what users leave behind; returns the users' exports."""
    engine = Engine(kb, Store(location))
    engine.handle("u1", "/timezone Europe/Berlin", update_id=1)
    engine.handle("u1", f"/remind {NEXT_YEAR}-03-14 09:30 CMM exam", update_id=2)
    engine.handle("u1", "how do i become a pilot", update_id=3)
    engine.handle("u2", f"/remind {NEXT_YEAR}-05-01 FACHE renewal", update_id=4, chat="c2")  # owed
    engine.handle("u2", "salry?", update_id=5)
    exports = {u: engine.store.export(u) for u in ("u1", "u2")}
    engine.store.close()
    return exports


def test_sqlite_to_postgresql_and_back(tmp_path: Path, kb: Knowledge, pg_url: str) -> None:
    sqlite_file = str(tmp_path / "old.db")
    exports = fill(kb, sqlite_file)
    pending_before = sorted(
        (n.id, n.user_id, n.fire_at) for n in Engine(kb, Store(sqlite_file)).reminders.pending()
    )

    done = migrate(sqlite_file, pg_url, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 users" in done.stdout and "2 reminders" in done.stdout and "1 outbox" in done.stdout
    password = pg_url.split(":")[2].split("@")[0]
    assert password not in done.stdout + done.stderr and ":***@" in done.stdout

    moved = Engine(kb, Store(pg_url))
    assert {u: moved.store.export(u) for u in ("u1", "u2")} == exports
    assert sorted((n.id, n.user_id, n.fire_at) for n in moved.reminders.pending()) == (
        pending_before
    )
    assert len(moved.store.outbox.owed()) == 1, "the reply still owed is still owed"
    assert (
        moved.handle("u1", f"/remind {NEXT_YEAR}-03-14 09:30 CMM exam", update_id=2).replies == []
    )
    # the bot carries on: a new reminder gets new ids, above the copied ones
    turn = moved.handle("u1", f"/remind {NEXT_YEAR}-06-01 CPHM exam", update_id=6)
    assert "Saved" in turn.plain()
    listed = moved.handle("u1", "/reminders", update_id=7).plain()
    assert "CMM exam" in listed and "CPHM exam" in listed
    ids = [n.id for n in moved.reminders.pending()]
    assert len(ids) == len(set(ids)) == len(pending_before) + 3
    moved.store.close()

    back = str(tmp_path / "back.db")
    done = migrate(pg_url, back, tmp_path)
    assert done.returncode == 0, done.stderr
    again = Store(back)
    assert [r["title"] for r in again.export("u1")["reminders"]] == ["CMM exam", "CPHM exam"]
    again.close()


def test_a_target_with_data_is_refused_and_left_alone(tmp_path: Path, kb: Knowledge) -> None:
    first, second = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    fill(kb, first)
    fill(kb, second)
    done = migrate(first, second, tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "already holds data" in done.stderr
    store = Store(second)
    assert len(store.export("u1")["reminders"]) == 1, "nothing was copied twice"
    store.close()
