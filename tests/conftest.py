"""Shared fixtures: the shipped data, a copy of it to break, an engine on a real SQLite file."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgserver import PgServer, PgUnavailable, fresh_schema

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


BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked ``both_backends`` run once on SQLite and once on PostgreSQL; others on
    SQLite only (the embedded default)."""
    if "backend" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_backends") is not None
        metafunc.parametrize("backend", BACKENDS if both else BACKENDS[:1])


@pytest.fixture
def store_location(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Where a test's store lives: a SQLite file, or an empty schema of its own on the test
    PostgreSQL server (a ``postgresql://`` URL), dropped after the test."""
    if backend == "sqlite":
        yield str(tmp_path / "careerbot.db")
        return
    with fresh_schema(request.getfixturevalue("pg_server")) as url:
        yield url


@pytest.fixture
def store(store_location: str) -> Iterator[Store]:
    s = Store(store_location)
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


@pytest.fixture(autouse=True)
def no_engine_failures(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The engine answers any failure with an apology and logs it: a test fails on such a log,
    so the property tests still catch what would otherwise crash."""
    yield
    failures = [r for r in caplog.records if r.name == "bot.engine" and r.levelno >= 40]
    assert not failures, f"the engine failed: {failures[0].getMessage()}\n{failures[0].exc_text}"
