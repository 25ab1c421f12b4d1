"""Request and response shapes of the JSON API (``/api/v1``); the OpenAPI document is built from these.

A done scan's ``result`` is the very document ``observatory scan --format json`` prints
(``observatory.model.ScanResult``), so one schema serves the CLI, the API and storage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from observatory.model import ScanResult, Severity
from observatory.storage.records import ScanSummary

Status = Literal["queued", "running", "done", "failed"]
KindChoice = Literal["c2s", "s2s", "both"]


class ApiModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScanSubmission(ApiModel):
    domain: str = Field(description="The XMPP domain (the part after @), e.g. example.org; IDNs are accepted.")
    kinds: KindChoice = Field("both", description="Which service to scan.")
    listed: bool = Field(True, description="Show the scan in public lists and statistics.")


class GradeSummary(ApiModel):
    letter: str | None
    score: int | None


class ScanLinks(ApiModel):
    self: str
    page: str
    events: str
    json_report: str = Field(alias="json")
    sarif: str
    markdown: str

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True)


class ScanInfo(ApiModel):
    """A scan's state; a done scan carries its full result document."""

    id: int
    domain: str
    kinds: list[Literal["c2s", "s2s"]]
    status: Status
    listed: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rules_version: str | None
    grades: dict[str, GradeSummary]
    error: str | None = Field(None, description="Why a failed scan failed.")
    links: ScanLinks
    result: ScanResult | None = Field(None, description="The result document (`observatory schema`), when done.")


class ScanSummaryInfo(ApiModel):
    id: int
    domain: str
    kinds: list[Literal["c2s", "s2s"]]
    status: Status
    created_at: datetime
    finished_at: datetime | None
    rules_version: str | None
    grades: dict[str, GradeSummary]
    error: str | None = None

    @classmethod
    def of(cls, summary: ScanSummary) -> ScanSummaryInfo:
        return cls(
            id=summary.id,
            domain=summary.domain,
            kinds=[kind.value for kind in summary.kinds],  # type: ignore[misc]
            status=summary.status.value,  # type: ignore[arg-type]
            created_at=summary.created_at,
            finished_at=summary.finished_at,
            rules_version=summary.rules_version,
            grades={
                kind.value: GradeSummary(letter=summary.grades[kind].letter, score=summary.grades[kind].score)
                for kind in summary.kinds
            },
            error=summary.error,
        )


class DomainHistory(ApiModel):
    domain: str
    scans: list[ScanSummaryInfo]


class CheckInfo(ApiModel):
    id: str
    severity: Severity
    title: str
    why: str
    fix: str
    grade_cap: str | None = Field(None, description="The best grade an endpoint with this finding can get.")
    references: list[str] = []
    snippets: dict[str, str] = Field({}, description="Server (prosody, ejabberd, openfire) → configuration.")
    not_applicable: dict[str, str] = Field({}, description="Server (or `all`) → why no snippet can fix it.")


class ProfileItemInfo(ApiModel):
    id: str
    title: str
    level: str
    reference: str | None = None


class ProfileInfo(ApiModel):
    id: str
    name: str
    edition: str
    source: str
    summary: str
    provenance: str
    items: list[ProfileItemInfo]


class Problem(ApiModel):
    """An error, as RFC 9457 ``application/problem+json``."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
