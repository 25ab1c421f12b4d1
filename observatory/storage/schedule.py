"""What the workers' schedule (Celery beat) does with the database: find listed domains due for a
rescan, oldest first, and keep a daily snapshot of the statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from observatory.storage.derive import document
from observatory.storage.records import ScanStatus
from observatory.storage.repository import SCANS, begin_write
from observatory.storage.schema import StatsSnapshot
from observatory.storage.stats import SiteStats, site_stats
from scanners.base import ServiceKind

SNAPSHOTS = StatsSnapshot.__table__


@dataclass(frozen=True)
class DueDomain:
    domain: str
    kinds: tuple[ServiceKind, ...]
    last_finished_at: datetime


def due_for_rescan(session: Session, *, older_than: datetime, limit: int) -> list[DueDomain]:
    """Listed domains whose newest listed scan (done or not) is older than ``older_than``, oldest first.

    A domain with a scan queued or running, or a recent one, is not due; its kinds are those of its
    newest done scan, so a c2s-only domain stays c2s-only.
    """
    listed = SCANS.c.listed.is_(True)
    newest = (
        select(SCANS.c.domain, func.max(SCANS.c.created_at).label("newest"))
        .where(listed)
        .group_by(SCANS.c.domain)
        .subquery()
    )
    ranked = (
        select(
            SCANS.c.domain,
            SCANS.c.kinds,
            SCANS.c.finished_at,
            func.row_number()
            .over(partition_by=SCANS.c.domain, order_by=(SCANS.c.finished_at.desc(), SCANS.c.id.desc()))
            .label("rank"),
        )
        .where(listed, SCANS.c.status == ScanStatus.DONE.value)
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.domain, ranked.c.kinds, ranked.c.finished_at)
        .join(newest, newest.c.domain == ranked.c.domain)
        .where(ranked.c.rank == 1, newest.c.newest < older_than, ranked.c.finished_at < older_than)
        .order_by(ranked.c.finished_at, ranked.c.domain)
        .limit(limit)
    ).all()
    return [
        DueDomain(domain, tuple(ServiceKind(kind) for kind in kinds.split(",")), finished)
        for domain, kinds, finished in rows
    ]


def snapshot_stats(session: Session, *, now: datetime | None = None) -> SiteStats:
    """Compute today's statistics and store them as the day's snapshot (a second run the same day
    replaces it)."""
    now = now or datetime.now(UTC)
    stats = site_stats(session, now=now)
    day = now.strftime("%Y-%m-%d")
    begin_write(session)
    session.execute(SNAPSHOTS.delete().where(SNAPSHOTS.c.day == day))
    session.execute(SNAPSHOTS.insert(), {"day": day, "generated_at": now, "document": document(stats)})
    session.commit()
    return stats


def snapshots(session: Session, *, since: datetime | None = None) -> list[SiteStats]:
    """The stored daily snapshots, oldest first."""
    statement = select(SNAPSHOTS.c.document).order_by(SNAPSHOTS.c.day)
    if since is not None:
        statement = statement.where(SNAPSHOTS.c.day >= since.strftime("%Y-%m-%d"))
    return [SiteStats.model_validate(value) for value in session.scalars(statement)]


WEEK = timedelta(days=7)
