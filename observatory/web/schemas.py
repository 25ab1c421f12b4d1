"""Request and response shapes of the JSON API (``/api/v1``); the OpenAPI document is built from these.

A done scan's ``result`` is the very document ``observatory scan --format json`` prints
(``observatory.model.ScanResult``), so one schema serves the CLI, the API and storage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

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


class ScanSummaryInfo(ApiModel):
    id: int
    domain: str
    kinds: list[Literal["c2s", "s2s"]]
    status: Status
    created_at: datetime
    finished_at: datetime | None
    rules_version: str | None
    #: Per service asked for.
    grades: dict[str, GradeSummary]
    error: str | None = Field(None, description="Why a failed scan failed.")

    @classmethod
    def of(cls, summary: ScanSummary, **more: object) -> Self:
        document = summary.as_document()
        document["grades"] = {kind: grade for kind, grade in document["grades"].items() if kind in document["kinds"]}
        return cls.model_validate({**{name: document[name] for name in cls.model_fields if name in document}, **more})


class ScanInfo(ScanSummaryInfo):
    """A scan's state; a done scan carries its full result document."""

    listed: bool
    started_at: datetime | None
    links: ScanLinks
    result: ScanResult | None = Field(None, description="The result document (`observatory schema`), when done.")


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
    proven: dict[str, str] = Field(
        {}, description="Server → the test that removed the finding with this snippet on a real server of the testbed."
    )
    unproven: dict[str, str] = Field({}, description="Server → why its snippet is not proven that way.")
    proven_c2s_only: dict[str, str] = Field(
        {},
        description="Server (of `proven`) → why its proof covered client streams only; any other proof "
        "covered the c2s and s2s STARTTLS endpoints.",
    )


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
