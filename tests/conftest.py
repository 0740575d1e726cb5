"""Shared fixtures: the shipped data, a copy of it to break, an engine on a real SQLite file."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgserver import PgServer, PgUnavailable

from bot.engine import Engine
from bot.knowledge import Knowledge, default_data_dir, load
from bot.store import Store

DATA = default_data_dir()


@pytest.fixture(scope="session")
def kb() -> Knowledge:
    return load(DATA)


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped intents/ and knowledge/."""
    for sub in ("intents", "knowledge"):
        shutil.copytree(DATA / sub, tmp_path / sub)
    return tmp_path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "careerbot.db")
    yield s
    s.close()


@pytest.fixture
def engine(kb: Knowledge, store: Store) -> Engine:
    return Engine(kb, store)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A throwaway PostgreSQL server for the whole run (``tests/pgserver.py``), stopped after.

    A test that needs it and cannot have it fails: it never skips, so CI cannot pass
    without having run the PostgreSQL tests."""
    try:
        server = PgServer()
        server.start()
    except (PgUnavailable, OSError, subprocess.SubprocessError) as exc:
        pytest.fail(f"PostgreSQL is needed and could not be started: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="session")
def pg_dsn(pg_server: PgServer) -> str:
    """The ``postgresql://`` URL of the test server's database (the password in it)."""
    return pg_server.url()
