"""Keyword-only functions over a Session: the only code that reads and writes scan rows.

Write functions run in a transaction of their own, which they commit. On SQLite they begin it as a writer
(``BEGIN IMMEDIATE``), so concurrent writers queue on the busy timeout instead of failing.
Read functions never raise for one bad row: they skip it and list it in ``skipped`` with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from observatory import __version__
from observatory.model import ScanRequest, ScanResult
from observatory.storage.database import WRITE
from observatory.storage.derive import (
    certificate_columns,
    document,
    endpoint_columns,
    endpoints_of,
    finding_columns,
    judged_columns,
)
from observatory.storage.errors import CorruptScan, ScanStateError, SkippedScan
from observatory.storage.records import (
    LatestScan,
    RowError,
    ScanList,
    ScanStatus,
    ScanSummary,
    StoredScan,
    kinds_text,
    result_of,
    stored_scan_of,
    summary_of,
)
from observatory.storage.schema import CertificateRow, EndpointRow, FindingRow, ScanRow
from scanners.base import ServiceKind


def _now() -> datetime:
    return datetime.now(UTC)


def begin_write(session: Session) -> None:
    """Start a new transaction as a writer.

    A transaction the session already has (typically the read of ``latest_for_domain`` before a save)
    is committed first: on SQLite a reader that turns writer fails at once, without waiting, when
    another writer committed since it began. Write functions commit anyway, so nothing is lost.
    """
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={WRITE: True})


# Core tables and plain rows, not ORM objects: values go as parameters, so statements are compiled once
# and cached (not walked, documents and all, for a cache key per scan), and reads return fresh rows
# rather than objects an identity map may hold from before another writer's change.
SCANS = ScanRow.__table__
ENDPOINTS = EndpointRow.__table__
CERTIFICATES = CertificateRow.__table__
FINDINGS = FindingRow.__table__
#: A listing reads no JSON: the documents stay in the database.
SUMMARY = tuple(column for column in SCANS.c if column.name not in {"request", "facts", "result"})


def _insert_derived(session: Session, *, scan_id: int, result: ScanResult) -> None:
    endpoints = endpoints_of(result)
    if endpoints:
        endpoint_ids = session.scalars(
            insert(ENDPOINTS).returning(ENDPOINTS.c.id, sort_by_parameter_order=True),
            [{"scan_id": scan_id, **endpoint_columns(endpoint)} for endpoint in endpoints],
        ).all()
        certificates = [
            {"scan_id": scan_id, "endpoint_id": endpoint_id, **row}
            for endpoint, endpoint_id in zip(endpoints, endpoint_ids, strict=True)
            for row in certificate_columns(endpoint)
        ]
        if certificates:
            session.execute(insert(CERTIFICATES), certificates)
    findings = finding_columns(result)
    if findings:
        session.execute(insert(FINDINGS), [{"scan_id": scan_id, **row} for row in findings])


def replace_judgment(session: Session, *, scan_id: int, result: ScanResult, judged_at: datetime | None = None) -> bool:
    """Store a new judgment of a done scan's facts; False if there is no such done scan.

    It does not commit: ``rescore`` writes a batch of these in one transaction.
    """
    updated = session.execute(
        update(SCANS).where(SCANS.c.id == bindparam("scan_id"), SCANS.c.status == ScanStatus.DONE.value),
        {"scan_id": scan_id, "result": document(result), "judged_at": judged_at or _now(), **judged_columns(result)},
    ).rowcount
    if not updated:
        return False
    for table in (CERTIFICATES, ENDPOINTS, FINDINGS):
        session.execute(delete(table).where(table.c.scan_id == scan_id))
    _insert_derived(session, scan_id=scan_id, result=result)
    return True


def _done_values(result: ScanResult) -> dict[str, object]:
    return {
        "status": ScanStatus.DONE.value,
        "started_at": result.started_at,
        "finished_at": result.finished_at or _now(),
        "judged_at": _now(),
        "scanner_version": result.scanner_version,
        "format_version": result.format_version,
        "facts": document(result.to_facts()),
        "result": document(result),
        **judged_columns(result),
    }


def save_result(session: Session, *, result: ScanResult) -> int:
    """Store a finished scan (as ``observatory scan`` makes one) and return its id."""
    begin_write(session)
    scan_id = session.execute(
        insert(SCANS).returning(SCANS.c.id),
        {
            "domain": result.domain,
            "kinds": kinds_text(result.request.kinds),
            "created_at": result.started_at,
            "request": document(result.request),
            **_done_values(result),
        },
    ).scalar_one()
    _insert_derived(session, scan_id=scan_id, result=result)
    session.commit()
    return scan_id


def create_scan(session: Session, *, request: ScanRequest, created_at: datetime | None = None) -> int:
    """Queue a scan (the web site's and the job runner's first step) and return its id."""
    begin_write(session)
    scan_id = session.execute(
        insert(SCANS).returning(SCANS.c.id),
        {
            "domain": request.domain,
            "kinds": kinds_text(request.kinds),
            "status": ScanStatus.QUEUED.value,
            "created_at": created_at or _now(),
            "scanner_version": __version__,
            "request": document(request),
        },
    ).scalar_one()
    session.commit()
    return scan_id


def _transition(session: Session, *, scan_id: int, allowed: Iterable[ScanStatus], values: dict[str, object]) -> None:
    begin_write(session)
    updated = session.execute(
        update(SCANS).where(SCANS.c.id == bindparam("scan_id"), SCANS.c.status.in_([s.value for s in allowed])),
        {"scan_id": scan_id, **values},
    ).rowcount
    if not updated:
        session.rollback()
        raise ScanStateError(f"scan #{scan_id} does not exist or is not {' or '.join(s.value for s in allowed)}")


def start_scan(session: Session, *, scan_id: int, started_at: datetime | None = None) -> None:
    """queued → running. Only one caller wins: a second start of the same scan raises ScanStateError."""
    _transition(
        session,
        scan_id=scan_id,
        allowed=[ScanStatus.QUEUED],
        values={"status": ScanStatus.RUNNING.value, "started_at": started_at or _now()},
    )
    session.commit()


def finish_scan(session: Session, *, scan_id: int, result: ScanResult) -> None:
    """queued or running → done, with the scan's result."""
    _transition(session, scan_id=scan_id, allowed=[ScanStatus.QUEUED, ScanStatus.RUNNING], values=_done_values(result))
    _insert_derived(session, scan_id=scan_id, result=result)
    session.commit()


def fail_scan(session: Session, *, scan_id: int, error: str, finished_at: datetime | None = None) -> None:
    """queued or running → failed, saying why."""
    _transition(
        session,
        scan_id=scan_id,
        allowed=[ScanStatus.QUEUED, ScanStatus.RUNNING],
        values={"status": ScanStatus.FAILED.value, "error": error, "finished_at": finished_at or _now()},
    )
    session.commit()


def get_scan(session: Session, *, scan_id: int) -> StoredScan | None:
    """One scan with its result (None if there is no such scan); raises CorruptScan if it cannot be read."""
    row = session.execute(select(*SUMMARY, SCANS.c.result).where(SCANS.c.id == scan_id)).one_or_none()
    if row is None:
        return None
    try:
        return stored_scan_of(row)
    except RowError as exc:
        raise CorruptScan(SkippedScan(scan_id, str(exc))) from None


def latest_for_domain(
    session: Session, *, domain: str, kinds: Iterable[ServiceKind] = (), listed_only: bool = False
) -> LatestScan:
    """The newest done scan of ``domain`` (covering at least ``kinds``; only listed ones if asked) that
    can be read.

    Newer rows that cannot be read are passed over and listed in ``skipped``.
    """
    wanted = set(kinds)
    statement = select(SCANS.c.id, SCANS.c.kinds).where(
        SCANS.c.domain == domain, SCANS.c.status == ScanStatus.DONE.value
    )
    if listed_only:
        statement = statement.where(SCANS.c.listed.is_(True))
    candidates = session.execute(statement.order_by(SCANS.c.finished_at.desc(), SCANS.c.id.desc())).all()
    skipped: list[SkippedScan] = []
    for scan_id, stored_kinds in candidates:
        if not wanted <= {kind for kind in ServiceKind if kind.value in stored_kinds.split(",")}:
            continue
        row = session.execute(select(*SUMMARY, SCANS.c.result).where(SCANS.c.id == scan_id)).one()
        try:
            return LatestScan(StoredScan(summary_of(row), result_of(row.result)), skipped)
        except RowError as exc:
            skipped.append(SkippedScan(scan_id, str(exc)))
    return LatestScan(None, skipped)


def latest_summary(
    session: Session, *, domain: str, kinds: Iterable[ServiceKind] = (), listed_only: bool = False
) -> ScanSummary | None:
    """The newest done scan of ``domain`` covering ``kinds``, without reading its documents (badges, lists).

    Unlike ``latest_for_domain`` it does not check that the result can be read: a summary's columns are
    enough for what it serves.
    """
    wanted = {kind.value for kind in kinds}
    statement = select(*SUMMARY).where(SCANS.c.domain == domain, SCANS.c.status == ScanStatus.DONE.value)
    if listed_only:
        statement = statement.where(SCANS.c.listed.is_(True))
    for row in session.execute(statement.order_by(SCANS.c.finished_at.desc(), SCANS.c.id.desc())):
        if not wanted <= set(row.kinds.split(",")):
            continue
        try:
            return summary_of(row)
        except RowError:
            continue
    return None


def _summaries(session: Session, statement: Select[Any]) -> ScanList:
    scans, skipped = [], []
    for row in session.execute(statement):
        try:
            scans.append(summary_of(row))
        except RowError as exc:
            skipped.append(SkippedScan(row.id, str(exc)))
    return ScanList(scans, skipped)


def history(session: Session, *, domain: str, limit: int = 50, listed_only: bool = False) -> ScanList:
    """The scans of ``domain``, newest first, in every state (only listed ones if asked)."""
    statement = select(*SUMMARY).where(SCANS.c.domain == domain)
    if listed_only:
        statement = statement.where(SCANS.c.listed.is_(True))
    return _summaries(session, statement.order_by(SCANS.c.created_at.desc(), SCANS.c.id.desc()).limit(limit))


def recent_scans(session: Session, *, limit: int = 20, listed_only: bool = False) -> ScanList:
    """The most recently finished done scans of every domain, newest first (only listed ones if asked)."""
    statement = select(*SUMMARY).where(SCANS.c.status == ScanStatus.DONE.value)
    if listed_only:
        statement = statement.where(SCANS.c.listed.is_(True))
    return _summaries(session, statement.order_by(SCANS.c.finished_at.desc(), SCANS.c.id.desc()).limit(limit))
