"""The tables. A scan row is the source of truth; the endpoint, certificate and finding rows beside it
are derived from its documents so the website can list and count without reading JSON.

* ``scans``: one per scan request, through its life (queued → running → done | failed). It keeps the
  observed facts as written by the scanner (``facts``, never rewritten) and the judged result document
  (``result``, replaced by a re-grade), plus indexed summary columns.
* ``scan_endpoints``: one per endpoint of a done scan, with TLS versions and grade as columns.
* ``scan_certificates``: the chain each endpoint sent, as fingerprints (shared-key statistics).
* ``scan_findings``: one per finding of a done scan (which problems are common).
* ``blocked_domains``: domains the site refuses to scan (their owners asked).
* ``stats_snapshots``: the site's statistics, one document a day (the workers' schedule writes them).

Changing a table means a new revision in ``migrations/versions`` (a test compares the two).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, MetaData, String, Text, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from observatory.storage.types import Json, RowId, UtcDateTime

#: Named constraints so Alembic migrations are deterministic on SQLite and PostgreSQL alike.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

SCAN_STATUSES = ("queued", "running", "done", "failed")


class Base(DeclarativeBase):
    metadata = metadata
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: Json}


class ScanRow(Base):
    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    domain: Mapped[str] = mapped_column(String(253))
    #: The service kinds asked for, comma-separated in a fixed order: ``c2s``, ``s2s`` or ``c2s,s2s``.
    kinds: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: When ``result`` was last (re)computed from the facts.
    judged_at: Mapped[datetime | None]
    scanner_version: Mapped[str] = mapped_column(String(64))
    format_version: Mapped[str | None] = mapped_column(String(16))
    rules_version: Mapped[str | None] = mapped_column(String(64))
    c2s_grade: Mapped[str | None] = mapped_column(String(2))
    c2s_score: Mapped[int | None]
    s2s_grade: Mapped[str | None] = mapped_column(String(2))
    s2s_score: Mapped[int | None]
    #: The ScanRequest: enough for a worker to run a queued scan.
    request: Mapped[dict[str, Any]]
    #: The ScanFacts document as the scanner observed it; written once, never rewritten.
    facts: Mapped[dict[str, Any] | None]
    #: The ScanResult document (facts + judgments); replaced when the scan is re-graded.
    result: Mapped[dict[str, Any] | None]
    #: Why a failed scan failed.
    error: Mapped[str | None] = mapped_column(Text)
    #: Shown in the site's public lists and statistics; a visitor may ask for a scan to stay unlisted
    #: (it is still reachable by its id, like a CLI scan).
    listed: Mapped[bool] = mapped_column(server_default=true())
    #: The address of the site visitor who asked for the scan (per-client limits); NULL from the CLI.
    client: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in SCAN_STATUSES)})", name="status"),
        # A domain's latest done scan straight from the index; its history (all states) from the prefix.
        Index("ix_scans_domain_status_finished_at", "domain", "status", "finished_at"),
        # Recent scans across all domains (front page, statistics over a period).
        Index("ix_scans_status_finished_at", "status", "finished_at"),
        # The site's cooldown: the newest scan of a domain in any state.
        Index("ix_scans_domain_created_at", "domain", "created_at"),
        # Per-client limits: a visitor's scans running now and in the last hour.
        Index("ix_scans_client_created_at", "client", "created_at"),
    )


class EndpointRow(Base):
    __tablename__ = "scan_endpoints"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    #: ``observatory.model.endpoint_id``: the same endpoint has the same key in every scan.
    key: Mapped[str] = mapped_column(String(600))
    kind: Mapped[str] = mapped_column(String(3))
    transport: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(253))
    port: Mapped[int]
    address: Mapped[str] = mapped_column(String(64))
    starttls: Mapped[str | None] = mapped_column(String(16))
    # Accepted protocol versions; NULL when TLS was not observed on the endpoint.
    ssl2: Mapped[bool | None]
    ssl3: Mapped[bool | None]
    tls10: Mapped[bool | None]
    tls11: Mapped[bool | None]
    tls12: Mapped[bool | None]
    tls13: Mapped[bool | None]
    #: Distinct cipher suites accepted over all versions.
    cipher_suites: Mapped[int | None]
    grade: Mapped[str | None] = mapped_column(String(2))
    score: Mapped[int | None]
    trusted: Mapped[bool | None]
    identity_matches: Mapped[bool | None]
    dane: Mapped[str | None] = mapped_column(String(16))
    #: The weakest DNSSEC state of the RRsets the endpoint came from (SRV, address, TLSA): ``secure``,
    #: ``insecure``, ``indeterminate`` or ``bogus``; NULL when none was looked up (``--connect``).
    dnssec: Mapped[str | None] = mapped_column(String(16))
    #: STARTTLS endpoints: whether a peer cannot go on without TLS (advertised as required, or the
    #: cleartext probe was refused); NULL when unknown or not a STARTTLS endpoint.
    starttls_enforced: Mapped[bool | None]
    #: Probe errors recorded on the endpoint (0 when everything completed).
    errors: Mapped[int]


class CertificateRow(Base):
    __tablename__ = "scan_certificates"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("scan_endpoints.id", ondelete="CASCADE"), index=True)
    #: Position in the chain as the server sent it; 0 is the server's own certificate.
    position: Mapped[int]
    #: SHA-256 of the DER certificate, lower-case hex.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: SHA-256 of the DER SubjectPublicKeyInfo: the same key under different certificates. NULL when
    #: the certificate could not be parsed.
    spki_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    not_after: Mapped[datetime | None]
    #: The issuer's organisation (else its common name), for statistics; NULL when unparsable.
    issuer: Mapped[str | None] = mapped_column(String(256))


class FindingRow(Base):
    __tablename__ = "scan_findings"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    finding: Mapped[str] = mapped_column(String(128), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    service: Mapped[str | None] = mapped_column(String(3))


class BlockedDomain(Base):
    """A domain (and its subdomains) the site must not scan: its owner asked (``observatory block``)."""

    __tablename__ = "blocked_domains"

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class StatsSnapshot(Base):
    """The site's statistics as computed on a day (``observatory.storage.stats.SiteStats``), kept so the
    figures of any past day stay readable however the scans change later."""

    __tablename__ = "stats_snapshots"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    generated_at: Mapped[datetime]
    document: Mapped[dict[str, Any]]
