"""What the repository hands back: plain, typed shapes read from scan rows, never the ORM rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from observatory.document import DocumentError, load_facts, load_result
from observatory.model import ScanFacts, ScanResult
from observatory.storage.errors import SkippedScan
from observatory.storage.types import Unreadable
from scanners.base import ServiceKind


class ScanStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def kinds_text(kinds: list[ServiceKind] | tuple[ServiceKind, ...]) -> str:
    """The ``kinds`` column: the kinds in their fixed order, comma-separated."""
    return ",".join(kind.value for kind in ServiceKind if kind in kinds)


@dataclass(frozen=True)
class ServiceGrade:
    letter: str | None
    score: int | None


@dataclass(frozen=True)
class ScanSummary:
    """A scan row's columns: enough to list scans without reading their documents."""

    id: int
    domain: str
    kinds: tuple[ServiceKind, ...]
    status: ScanStatus
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    judged_at: datetime | None
    scanner_version: str
    format_version: str | None
    rules_version: str | None
    grades: dict[ServiceKind, ServiceGrade]
    error: str | None
    #: Shown in the site's public lists and statistics.
    listed: bool = True

    def as_document(self) -> dict[str, Any]:
        """The summary as JSON-ready data (``observatory history --format json``)."""

        def time(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id,
            "domain": self.domain,
            "kinds": [kind.value for kind in self.kinds],
            "status": self.status.value,
            "created_at": time(self.created_at),
            "started_at": time(self.started_at),
            "finished_at": time(self.finished_at),
            "judged_at": time(self.judged_at),
            "scanner_version": self.scanner_version,
            "format_version": self.format_version,
            "rules_version": self.rules_version,
            "grades": {kind.value: {"letter": g.letter, "score": g.score} for kind, g in self.grades.items()},
            "error": self.error,
            "listed": self.listed,
        }


@dataclass(frozen=True)
class StoredScan:
    summary: ScanSummary
    #: The judged document; None until the scan is done.
    result: ScanResult | None


@dataclass(frozen=True)
class ScanList:
    scans: list[ScanSummary]
    #: Rows that matched but could not be read, each with the reason.
    skipped: list[SkippedScan] = field(default_factory=list)


@dataclass(frozen=True)
class LatestScan:
    #: The newest readable done scan, if any.
    scan: StoredScan | None
    #: Newer rows passed over on the way because they could not be read.
    skipped: list[SkippedScan] = field(default_factory=list)


class RowError(ValueError):
    """Inside this package only: a row's value cannot be read (becomes a SkippedScan)."""


#: A row of the ``scans`` table as SQLAlchemy returns it (attribute access by column name).
Row = Any


def _time(row: Row, name: str, *, required: bool = False) -> datetime | None:
    value = getattr(row, name)
    if isinstance(value, Unreadable):
        raise RowError(f"{name} is unreadable: {value.error}")
    if value is None and required:
        raise RowError(f"{name} is missing")
    return value


def summary_of(row: Row) -> ScanSummary:
    """Raises RowError when a column holds what no version of this program writes."""
    try:
        status = ScanStatus(row.status)
    except ValueError:
        raise RowError(f"unknown status {row.status!r}") from None
    try:
        kinds = tuple(ServiceKind(kind) for kind in row.kinds.split(","))
    except ValueError:
        raise RowError(f"unknown service kinds {row.kinds!r}") from None
    created_at = _time(row, "created_at", required=True)
    assert created_at is not None
    return ScanSummary(
        id=row.id,
        domain=row.domain,
        kinds=kinds,
        status=status,
        created_at=created_at,
        started_at=_time(row, "started_at"),
        finished_at=_time(row, "finished_at"),
        judged_at=_time(row, "judged_at"),
        scanner_version=row.scanner_version,
        format_version=row.format_version,
        rules_version=row.rules_version,
        grades={
            ServiceKind.C2S: ServiceGrade(row.c2s_grade, row.c2s_score),
            ServiceKind.S2S: ServiceGrade(row.s2s_grade, row.s2s_score),
        },
        error=row.error,
        listed=bool(getattr(row, "listed", True)),
    )


def _document(value: Any, what: str) -> dict[str, Any]:
    if isinstance(value, Unreadable):
        raise RowError(f"its {what} document is {value.error}")
    if not isinstance(value, dict):
        raise RowError(f"its {what} document is missing" if value is None else f"its {what} document is not an object")
    return value


def result_of(value: Any) -> ScanResult:
    """A ``result`` column's value as a ScanResult."""
    try:
        return load_result(_document(value, "result"))
    except DocumentError as exc:
        raise RowError(f"its result document: {exc}") from None


def facts_of(value: Any) -> ScanFacts:
    """A ``facts`` column's value as ScanFacts."""
    try:
        return load_facts(_document(value, "facts"))
    except DocumentError as exc:
        raise RowError(f"its facts document: {exc}") from None


def stored_scan_of(row: Row) -> StoredScan:
    summary = summary_of(row)
    return StoredScan(summary, result_of(row.result) if summary.status is ScanStatus.DONE else None)
