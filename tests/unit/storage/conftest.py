"""A fresh SQLite database per test (a real one: a file in the test's folder, migrated to head)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from observatory.storage.database import DATABASE_URL_ENV, Database
from observatory.storage.migrate import open_database


@pytest.fixture(autouse=True)
def _no_user_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may touch the real per-user database or an operator's database URL."""
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'observatory.db'}"


@pytest.fixture
def database(sqlite_url: str) -> Iterator[Database]:
    with open_database(sqlite_url, migrate=True) as database:
        yield database


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with database.session() as session:
        yield session
