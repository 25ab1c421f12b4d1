"""The site's statistics on PostgreSQL (a throwaway database): the same scenario and exact figures as the
SQLite unit test, so the window function, the months table and the boolean sums agree on both backends.

Skipped only when no server is reachable and none was named in ``OBSERVATORY_TEST_POSTGRES_URL``;
``scripts/test`` installs and starts one and names it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from observatory.storage.migrate import open_database
from observatory.storage.stats import SiteStats, site_stats
from tests.unit.storage.support import POSTGRES_URL_ENV, postgres_reachable, postgres_server_url, throwaway_postgres
from tests.unit.storage.test_stats import NOW, build_scenario, check_scenario

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def postgres_server() -> str:
    server, explicit = postgres_server_url()
    problem = postgres_reachable(server)
    if problem is not None:
        if explicit:
            pytest.fail(f"{POSTGRES_URL_ENV}={server} is set but unusable: {problem}")
        pytest.skip(f"no PostgreSQL server at {server} ({problem}); scripts/test installs and starts one")
    return server


@pytest.fixture
def session(postgres_server: str) -> Iterator[Session]:
    with (
        throwaway_postgres(postgres_server) as url,
        open_database(url, migrate=True) as database,
        database.session() as session,
    ):
        yield session


def test_the_figures_match_the_sqlite_ones(session: Session) -> None:
    build_scenario(session)
    stats = site_stats(session, now=NOW, months=5)
    check_scenario(stats)
    assert SiteStats.model_validate_json(stats.model_dump_json()) == stats


def test_an_empty_postgres_database_gives_zeros(session: Session) -> None:
    stats = site_stats(session, now=NOW, months=2)
    assert stats.domains == 0
    assert stats.top_findings == []
    assert [(t.month, t.domains, t.legacy_tls_share) for t in stats.trends] == [
        ("2026-11", 0, None),
        ("2026-12", 0, None),
    ]
