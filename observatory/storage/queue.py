"""The scan queue as the website and its executors see it: submitting with a per-domain cooldown,
finding work, and recovering from a process that died mid-scan.

The scan row is the source of truth: an executor only ever receives a scan id and reads the request
from here, so a queued scan survives the process that accepted it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, func, or_, select, text, update
from sqlalchemy.orm import Session

from observatory import __version__
from observatory.model import ScanRequest
from observatory.storage.derive import document
from observatory.storage.errors import CorruptScan, SkippedScan
from observatory.storage.records import ScanStatus, kinds_text
from observatory.storage.repository import SCANS, begin_write
from scanners.base import ServiceKind

ACTIVE = (ScanStatus.QUEUED.value, ScanStatus.RUNNING.value)


@dataclass(frozen=True)
class SubmissionLimits:
    """How much one client may ask of the site, and how long the queue may grow. None: no limit."""

    #: Scans of one client queued or running at once.
    per_client_active: int | None = None
    #: Scans one client may start in an hour.
    per_client_hour: int | None = None
    #: Scans queued (not yet running) on the whole site.
    queue: int | None = None


class LimitReached(Exception):
    """A submission is refused by a limit; ``scope`` is ``client`` or ``site``; retry after the delay."""

    def __init__(self, scope: str, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.scope = scope
        self.retry_after = max(1, retry_after)


HOUR = timedelta(hours=1)
#: A client at its limit of running scans may try again about when one of them could end.
ACTIVE_RETRY_SECONDS = 30
QUEUE_RETRY_SECONDS = 60


def _check_limits(session: Session, *, client: str | None, limits: SubmissionLimits, now: datetime) -> None:
    if client is not None and (limits.per_client_active is not None or limits.per_client_hour is not None):
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"client:{client}"})
        rows = session.execute(
            select(SCANS.c.status, SCANS.c.created_at).where(
                SCANS.c.client == client, or_(SCANS.c.status.in_(ACTIVE), SCANS.c.created_at >= now - HOUR)
            )
        ).all()
        active = sum(1 for status, _ in rows if status in ACTIVE)
        if limits.per_client_active is not None and active >= limits.per_client_active:
            raise LimitReached(
                "client",
                f"You already have {active} scans queued or running (at most {limits.per_client_active} at once); "
                "wait for one to finish.",
                ACTIVE_RETRY_SECONDS,
            )
        recent = sorted(created for _, created in rows if created >= now - HOUR)
        if limits.per_client_hour is not None and len(recent) >= limits.per_client_hour:
            oldest = recent[len(recent) - limits.per_client_hour]
            raise LimitReached(
                "client",
                f"You started {len(recent)} scans in the last hour (at most {limits.per_client_hour}).",
                int((oldest + HOUR - now).total_seconds()) + 1,
            )
    if limits.queue is not None:
        queued = session.execute(select(func.count()).where(SCANS.c.status == ScanStatus.QUEUED.value)).scalar_one()
        if queued >= limits.queue:
            raise LimitReached(
                "site", f"The site is busy: {queued} scans are waiting. Try again in a minute.", QUEUE_RETRY_SECONDS
            )


@dataclass(frozen=True)
class Submitted:
    scan_id: int
    #: False when a running or recent scan of the same domain and kinds was returned instead.
    created: bool


def _covers(stored_kinds: str, wanted: list[ServiceKind]) -> bool:
    return {kind.value for kind in wanted} <= set(stored_kinds.split(","))


def _lock_domain(session: Session, domain: str) -> None:
    """Serialise submissions of one domain. SQLite already has: ``begin_write`` holds its only write lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:domain))"), {"domain": domain})


def submit_scan(
    session: Session,
    *,
    request: ScanRequest,
    listed: bool = True,
    cooldown: timedelta = timedelta(minutes=10),
    client: str | None = None,
    limits: SubmissionLimits | None = None,
    now: datetime | None = None,
) -> Submitted:
    """Queue a scan of ``request.domain`` unless one of the same domain covering the same kinds is queued,
    running, or finished within ``cooldown``: then that scan is returned, so many visitors share one.

    A new scan must fit ``limits`` (else LimitReached; sharing an existing scan costs nothing). The look,
    the checks and the insert are one transaction under a per-domain lock: two submissions at the same
    moment give one scan.
    """
    now = now or datetime.now(UTC)
    begin_write(session)
    _lock_domain(session, request.domain)
    rows = session.execute(
        select(SCANS.c.id, SCANS.c.kinds)
        .where(
            SCANS.c.domain == request.domain,
            or_(
                SCANS.c.status.in_(ACTIVE),
                (SCANS.c.status == ScanStatus.DONE.value) & (SCANS.c.finished_at >= now - cooldown),
            ),
        )
        .order_by(SCANS.c.created_at.desc(), SCANS.c.id.desc())
    ).all()
    for scan_id, kinds in rows:
        if _covers(kinds, request.kinds):
            session.commit()
            return Submitted(scan_id, created=False)
    try:
        _check_limits(session, client=client, limits=limits or SubmissionLimits(), now=now)
    except LimitReached:
        session.rollback()
        raise
    scan_id = session.execute(
        SCANS.insert().returning(SCANS.c.id),
        {
            "domain": request.domain,
            "kinds": kinds_text(request.kinds),
            "status": ScanStatus.QUEUED.value,
            "created_at": now,
            "scanner_version": __version__,
            "request": document(request),
            "listed": listed,
            "client": client,
        },
    ).scalar_one()
    session.commit()
    return Submitted(scan_id, created=True)


def claim_scan(
    session: Session, *, scan_id: int, take_over: bool = False, now: datetime | None = None
) -> ScanRequest | None:
    """Take queued scan ``scan_id`` to run it (queued → running) and return its request; None when it is
    not there to take (gone, done, failed, or running and ``take_over`` is off).

    ``take_over``: a scan left ``running`` is started over too. A task queue that redelivers a task only
    when the worker holding it was lost (Celery with late acknowledgement) can say so: the scan is then
    begun afresh, its half-done probes forgotten, rather than left running forever.
    """
    begin_write(session)
    states = [ScanStatus.QUEUED.value, ScanStatus.RUNNING.value] if take_over else [ScanStatus.QUEUED.value]
    updated = session.execute(
        update(SCANS)
        .where(SCANS.c.id == bindparam("scan_id"), SCANS.c.status.in_(states))
        .values(status=ScanStatus.RUNNING.value, started_at=bindparam("started_at")),
        {"scan_id": scan_id, "started_at": now or datetime.now(UTC)},
    ).rowcount
    if not updated:
        session.rollback()
        return None
    request = session.execute(select(SCANS.c.request).where(SCANS.c.id == scan_id)).scalar_one()
    session.commit()
    try:
        return ScanRequest.model_validate(request)
    except ValueError as exc:
        raise CorruptScan(SkippedScan(scan_id, f"its request cannot be read: {exc}")) from None


def queued_scans(session: Session) -> list[int]:
    """Queued scans, oldest first: what a restarted executor picks up again."""
    return list(
        session.scalars(
            select(SCANS.c.id).where(SCANS.c.status == ScanStatus.QUEUED.value).order_by(SCANS.c.created_at, SCANS.c.id)
        )
    )


def fail_interrupted(
    session: Session, *, reason: str, started_before: datetime | None = None, now: datetime | None = None
) -> list[int]:
    """Fail the scans left ``running`` (by a process that died), or those started before a time; their ids.

    A scan that was running has lost its probes' state: starting it over is a new scan, so it is
    failed with the reason rather than left looking alive forever.
    """
    begin_write(session)
    condition = SCANS.c.status == ScanStatus.RUNNING.value
    if started_before is not None:
        condition = condition & (SCANS.c.started_at < started_before)
    ids = list(session.scalars(select(SCANS.c.id).where(condition)))
    if ids:
        session.execute(
            update(SCANS).where(SCANS.c.id.in_(bindparam("ids", expanding=True)), condition),
            {"ids": ids, "status": ScanStatus.FAILED.value, "error": reason, "finished_at": now or datetime.now(UTC)},
        )
    session.commit()
    return ids


def active_count(session: Session) -> int:
    """Scans queued or running now."""
    return session.execute(select(func.count()).where(SCANS.c.status.in_(ACTIVE))).scalar_one()
