"""Shared fixtures: the shipped data, a copy of it to break, an engine on a real SQLite file."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

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


@pytest.fixture(autouse=True)
def no_engine_failures(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The engine answers any failure with an apology and logs it: a test fails on such a log,
    so the property tests still catch what would otherwise crash."""
    yield
    failures = [r for r in caplog.records if r.name == "bot.engine" and r.levelno >= 40]
    assert not failures, f"the engine failed: {failures[0].getMessage()}\n{failures[0].exc_text}"
