"""The website against a real database (SQLite per test; PostgreSQL where marked), with the real
in-process executor. Its scans may only ever reach loopback: the engine's resolver is a closed
loopback port, so a scan submitted here fails fast at DNS without leaving the machine."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from observatory.orchestrate import ScanOptions
from observatory.storage.database import DATABASE_URL_ENV
from observatory.web import SiteSettings, create_app
from scanners.addresses import HostPort
from tests.unit.storage.support import POSTGRES_URL_ENV, postgres_reachable, postgres_server_url, throwaway_postgres


def closed_loopback_port() -> int:
    """A UDP+TCP port on 127.0.0.1 that nothing listens on (bound and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def offline_template(**changes: object) -> ScanOptions:
    """Engine settings that can only reach loopback: DNS to a closed port, short timeouts."""
    options = ScanOptions(
        domain="site.invalid",
        resolver=HostPort("127.0.0.1", closed_loopback_port()),
        dns_timeout=0.2,
        timeout=5,
        http=False,
    )
    return dataclasses.replace(options, **changes)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_user_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'site.db'}"


#: Parametrise a module with ``pytest.mark.parametrize("db_url", BACKENDS, indirect=True)`` to run its
#: tests on both databases; without it ``db_url`` is the SQLite file.
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[str]:
    """The site's database: SQLite by default, a throwaway PostgreSQL database when parametrised so."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield sqlite_url
        return
    server, explicit = postgres_server_url()
    problem = postgres_reachable(server)
    if problem is not None:
        if explicit:
            pytest.fail(f"{POSTGRES_URL_ENV}={server} is set but unusable: {problem}")
        pytest.skip(f"no PostgreSQL server at {server} ({problem}); scripts/test installs and starts one")
    with throwaway_postgres(server) as url:
        yield url


@pytest.fixture
def settings(db_url: str) -> SiteSettings:
    return SiteSettings(database_url=db_url, migrate=True, scan=offline_template(), secret_key="test-key")


@pytest.fixture
def client(settings: SiteSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        yield client
