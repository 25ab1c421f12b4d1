"""Storage on both backends: SQLite (WAL, a file) and PostgreSQL (the server on loopback, a throwaway
database per test). Migrations up and down, autogenerate finds no drift, saving and reading, concurrent
writers from threads and processes, history, rescore, and a newer schema refused untouched.

PostgreSQL tests are skipped only when no server is reachable and none was named in
``OBSERVATORY_TEST_POSTGRES_URL``; ``scripts/test`` installs and starts one and names it.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, inspect, select, text

from observatory.storage.database import connect, resolve_url
from observatory.storage.errors import SchemaTooNew
from observatory.storage.migrate import alembic_config, downgrade, open_database, schema_state, upgrade
from observatory.storage.repository import get_scan, history, latest_for_domain, save_result
from observatory.storage.rescore import rescore
from observatory.storage.schema import EndpointRow, ScanRow
from tests.factories import make_result
from tests.unit.storage.support import (
    POSTGRES_URL_ENV,
    postgres_reachable,
    postgres_server_url,
    result_for,
    save_many,
    stricter_judge,
    throwaway_postgres,
    weaker,
)

pytestmark = pytest.mark.integration

TABLES = {"scans", "scan_endpoints", "scan_certificates", "scan_findings"}


@pytest.fixture(scope="module")
def postgres_server() -> str:
    server, explicit = postgres_server_url()
    problem = postgres_reachable(server)
    if problem is not None:
        if explicit:
            pytest.fail(f"{POSTGRES_URL_ENV}={server} is set but unusable: {problem}")
        pytest.skip(f"no PostgreSQL server at {server} ({problem}); scripts/test installs and starts one")
    return server


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'observatory.db'}"
        return
    with throwaway_postgres(request.getfixturevalue("postgres_server")) as url:
        yield url


@pytest.fixture
def url(empty_url: str) -> str:
    """A database of each kind, migrated to head."""
    with connect(empty_url) as database:
        upgrade(database)
    return empty_url


def _tables(url: str) -> set[str]:
    engine = create_engine(resolve_url(url)[0])
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_go_up_and_down_and_match_the_models(empty_url: str) -> None:
    config = alembic_config(empty_url)
    command.upgrade(config, "head")
    command.check(config)  # autogenerate finds no difference from the models
    assert _tables(empty_url) >= TABLES
    for revision in ScriptDirectory.from_config(config).walk_revisions():  # newest first
        command.downgrade(config, revision.down_revision or "base")
    assert _tables(empty_url) - {"alembic_version"} == set()
    command.upgrade(config, "head")
    command.check(config)


def test_a_saved_result_reads_back_identical(url: str) -> None:
    result = make_result()
    with open_database(url) as database, database.session() as session:
        scan_id = save_result(session, result=result)
        assert (stored := get_scan(session, scan_id=scan_id)) is not None
        assert stored.result == result
        assert stored.summary.finished_at == result.finished_at
        assert session.scalar(select(func.count()).select_from(EndpointRow)) == 4


def test_history_diff_and_rescore(url: str) -> None:
    with open_database(url) as database, database.session() as session:
        first = save_result(session, result=result_for())
        second = save_result(session, result=weaker(result_for()))
        assert [scan.id for scan in history(session, domain="example.org").scans] == [second, first]
        latest = latest_for_domain(session, domain="example.org")
        assert latest.scan is not None
        assert latest.scan.summary.id == second
        report = rescore(session, judge=stricter_judge)
        assert [scan.scan_id for scan in report.rescored] == [first, second]
        assert all(scan.changed for scan in report.rescored)
        rules = session.scalars(select(ScanRow.rules_version).order_by(ScanRow.id)).all()
        assert rules == ["2027.1", "2027.1"]


def test_concurrent_writers_in_threads(url: str) -> None:
    # Eight writers at once, each with its own engine as separate programs would have.
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda n: save_many(url, f"t{n}.example", 10), range(8)))
    _assert_all_saved(url, ids, per_writer=10)


def test_concurrent_writers_in_processes(url: str) -> None:
    context = multiprocessing.get_context("spawn")  # no forked copies of open connections
    with ProcessPoolExecutor(max_workers=4, mp_context=context) as pool:
        futures = [pool.submit(save_many, url, f"p{n}.example", 15) for n in range(4)]
        ids = [future.result(timeout=120) for future in futures]
    _assert_all_saved(url, ids, per_writer=15)


def _assert_all_saved(url: str, ids: list[list[int]], *, per_writer: int) -> None:
    flat = [scan_id for batch in ids for scan_id in batch]
    assert len(flat) == len(set(flat)) == len(ids) * per_writer
    with open_database(url) as database, database.session() as session:
        assert session.scalar(select(func.count()).select_from(ScanRow)) == len(flat)
        assert session.scalar(select(func.count()).select_from(EndpointRow)) == 4 * len(flat)
        for n, batch in enumerate(ids):
            domain = session.scalar(select(ScanRow.domain).where(ScanRow.id == batch[0]))
            assert len(history(session, domain=domain, limit=1000).scans) == per_writer, n


def test_a_schema_from_a_newer_version_is_refused_and_not_touched(url: str) -> None:
    with open_database(url) as database, database.session() as session:
        save_result(session, result=make_result())
    with connect(url) as database, database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'fffffffffff1'"))
    with pytest.raises(SchemaTooNew, match="fffffffffff1"):
        open_database(url, migrate=True)
    with connect(url) as database:
        with pytest.raises(SchemaTooNew):
            downgrade(database, "base")
        assert schema_state(database).current == "fffffffffff1"
        with database.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(ScanRow)).scalar() == 1
