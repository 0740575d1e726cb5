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
