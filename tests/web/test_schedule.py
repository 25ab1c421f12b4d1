"""The workers' schedule on a real database (SQLite and PostgreSQL): which listed domains are due for a
rescan (oldest first, bounded, never blocked, unlisted or already queued ones), rescans queued with the
kinds of the last scan, and daily statistics snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from observatory.jobs.distributed import WorkerContext, beat_schedule, queue_rescans
from observatory.model import ScanRequest
from observatory.orchestrate import ScanOptions
from observatory.storage import open_database
from observatory.storage.blocklist import block
from observatory.storage.queue import submit_scan
from observatory.storage.repository import SCANS
from observatory.storage.schedule import due_for_rescan, snapshot_stats, snapshots
from scanners.base import ServiceKind
from tests.web.conftest import BACKENDS
from tests.web.support import graded, store

pytestmark = pytest.mark.integration
both_databases = pytest.mark.parametrize("db_url", BACKENDS, indirect=True)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def aged(db_url: str, domain: str, days: int, *, listed: bool = True, c2s_only: bool = False) -> int:
    result = graded(domain)
    if c2s_only:
        result = result.model_copy(
            update={
                "request": result.request.model_copy(update={"kinds": [ServiceKind.C2S]}),
                "services": result.services.model_copy(update={"s2s": None}),
            }
        )
    finished = NOW - timedelta(days=days)
    scan_id = store(db_url, result.model_copy(update={"started_at": finished, "finished_at": finished}), listed=listed)
    with open_database(db_url) as database, database.session() as session:
        session.execute(update(SCANS).where(SCANS.c.id == scan_id).values(created_at=finished))
        session.commit()
    return scan_id


@both_databases
def test_due_domains_oldest_first_bounded(db_url: str) -> None:
    aged(db_url, "old.example", 30)
    aged(db_url, "older.example", 60, c2s_only=True)
    aged(db_url, "fresh.example", 2)
    aged(db_url, "hidden.example", 90, listed=False)
    aged(db_url, "refreshed.example", 40)
    aged(db_url, "refreshed.example", 1)
    aged(db_url, "busy.example", 50)
    with open_database(db_url) as database, database.session() as session:
        submit_scan(session, request=ScanRequest(domain="busy.example", kinds=[ServiceKind.C2S]), now=NOW)
        due = due_for_rescan(session, older_than=NOW - timedelta(days=7), limit=10)
        assert [d.domain for d in due] == ["older.example", "old.example"]
        assert due[0].kinds == (ServiceKind.C2S,)
        assert [d.domain for d in due_for_rescan(session, older_than=NOW - timedelta(days=7), limit=1)] == [
            "older.example"
        ]


@both_databases
def test_rescans_are_queued_listed_and_skip_blocked_domains(db_url: str) -> None:
    aged(db_url, "a.example", 30)
    aged(db_url, "b.example", 20)
    with open_database(db_url) as database:
        with database.session() as session:
            block(session, domain="b.example")
        context = WorkerContext(database_url=db_url, template=ScanOptions(domain="x.invalid"), redis_url="unused")
        queued = queue_rescans(database, context, now=NOW)
        assert len(queued) == 1
        # Run again: a.example now has a queued scan, so nothing more is due.
        assert queue_rescans(database, context, now=NOW) == []


@both_databases
def test_daily_snapshots(db_url: str) -> None:
    store(db_url, graded("snap.example"))
    with open_database(db_url) as database, database.session() as session:
        first = snapshot_stats(session, now=NOW)
        again = snapshot_stats(session, now=NOW + timedelta(hours=1))
        snapshot_stats(session, now=NOW + timedelta(days=1))
        stored = snapshots(session)
    assert first.domains == 1
    assert [s.generated_at for s in stored] == [again.generated_at, NOW + timedelta(days=1)]


def test_the_beat_schedule() -> None:
    schedule = beat_schedule()
    assert {entry["task"]: entry["schedule"] for entry in schedule.values()} == {
        "observatory.reap": 60.0,
        "observatory.rescan": 3600.0,
        "observatory.snapshot": 86400.0,
    }
