"""Saving and reading scans on a real (SQLite) database: documents, derived rows, listings, life cycle,
and corrupt rows skipped with a reason."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from observatory.model import ScanRequest
from observatory.storage.derive import VERSION_COLUMNS
from observatory.storage.errors import CorruptScan, ScanStateError
from observatory.storage.records import ScanStatus
from observatory.storage.repository import (
    create_scan,
    fail_scan,
    finish_scan,
    get_scan,
    history,
    latest_for_domain,
    recent_scans,
    save_result,
    start_scan,
)
from observatory.storage.schema import CertificateRow, EndpointRow, FindingRow, ScanRow
from scanners.base import ServiceKind
from scanners.tls.facts import TlsVersion
from tests.factories import make_result
from tests.unit.storage.support import certificate_der, result_for, weaker, with_leaf_chain


def _count(session: Session, table: type, scan_id: int) -> int:
    return session.scalar(select(func.count()).select_from(table).where(table.scan_id == scan_id)) or 0


def test_a_saved_result_reads_back_identical(session: Session) -> None:
    result = make_result()
    scan_id = save_result(session, result=result)
    stored = get_scan(session, scan_id=scan_id)
    assert stored is not None
    assert stored.result == result
    summary = stored.summary
    assert summary.status is ScanStatus.DONE
    assert summary.domain == "example.org"
    assert summary.kinds == (ServiceKind.C2S, ServiceKind.S2S)
    assert summary.started_at == result.started_at
    assert summary.finished_at == result.finished_at
    assert summary.created_at.tzinfo is UTC
    assert summary.rules_version == "2026.1"
    assert summary.format_version == result.format_version
    assert summary.scanner_version == result.scanner_version
    assert summary.grades[ServiceKind.C2S].letter == "A"


def test_facts_are_stored_apart_from_the_judgment(session: Session) -> None:
    result = make_result()
    scan_id = save_result(session, result=result)
    row = session.get(ScanRow, scan_id)
    assert row is not None
    assert row.facts == result.to_facts().model_dump(mode="json", by_alias=True)
    assert "rules_version" not in row.facts
    assert "grade" not in row.facts["services"]["c2s"]["endpoints"][0]
    assert row.result["rules_version"] == "2026.1"
    # The document keeps the wire names of the JSON report (``from``, base64 DER).
    assert row.facts["services"]["c2s"]["endpoints"][0]["stream"]["header"]["from"] == "example.org"


def test_endpoint_rows_carry_versions_and_grades(session: Session) -> None:
    scan_id = save_result(session, result=make_result())
    rows = {row.key: row for row in session.scalars(select(EndpointRow).where(EndpointRow.scan_id == scan_id))}
    assert len(rows) == 4
    good = rows["c2s/starttls/xmpp.example.org/192.0.2.10:5222"]
    assert (good.tls10, good.tls12, good.tls13) == (False, True, True)
    assert good.cipher_suites == 3
    assert (good.grade, good.score, good.trusted, good.dane, good.starttls) == ("A", 90, True, "valid", "required")
    failed = rows["c2s/starttls/xmpp.example.org/[2001:db8::10]:5222"]
    # Not observed is NULL, not False.
    assert (failed.tls12, failed.grade, failed.errors) == (None, None, 1)
    assert _count(session, FindingRow, scan_id) == 1


def test_every_tls_version_has_its_endpoint_column() -> None:
    assert set(VERSION_COLUMNS) == set(TlsVersion)
    assert set(VERSION_COLUMNS.values()) <= set(EndpointRow.__table__.columns.keys())


def test_certificate_rows_fingerprint_the_certificate_and_its_key(session: Session) -> None:
    der = certificate_der()
    scan_id = save_result(session, result=with_leaf_chain(make_result(), [der, b"not a certificate"]))
    rows = session.scalars(
        select(CertificateRow).where(CertificateRow.scan_id == scan_id).order_by(CertificateRow.position)
    ).all()
    leaf = [row for row in rows if row.position == 0 and row.sha256 == hashlib.sha256(der).hexdigest()]
    assert len(leaf) == 1
    assert leaf[0].spki_sha256 is not None
    assert len(leaf[0].spki_sha256) == 64
    assert leaf[0].not_after == datetime(2027, 1, 1, tzinfo=UTC)
    garbage = [row for row in rows if row.position == 1]
    assert garbage[0].sha256 == hashlib.sha256(b"not a certificate").hexdigest()
    assert garbage[0].spki_sha256 is None


def test_shared_keys_are_one_query_away(session: Session) -> None:
    # The statistic the website wants: the same public key served for several domains.
    der = certificate_der()
    for domain in ("a.example", "b.example"):
        save_result(session, result=with_leaf_chain(result_for(domain), [der]))
    shared = session.execute(
        select(CertificateRow.spki_sha256, func.count(func.distinct(ScanRow.domain)))
        .join(ScanRow, ScanRow.id == CertificateRow.scan_id)
        .where(CertificateRow.spki_sha256.is_not(None))
        .group_by(CertificateRow.spki_sha256)
        .having(func.count(func.distinct(ScanRow.domain)) > 1)
    ).all()
    assert len(shared) == 1
    assert shared[0][1] == 2


def test_history_lists_every_state_newest_first(session: Session) -> None:
    first = save_result(session, result=result_for(minutes=0))
    second = save_result(session, result=weaker(result_for(minutes=1)))
    queued = create_scan(
        session,
        request=ScanRequest(domain="example.org", kinds=[ServiceKind.C2S]),
        created_at=datetime(2027, 1, 1, tzinfo=UTC),
    )
    save_result(session, result=result_for("other.example"))
    found = history(session, domain="example.org")
    assert [scan.id for scan in found.scans] == [queued, second, first]
    assert [scan.status for scan in found.scans] == [ScanStatus.QUEUED, ScanStatus.DONE, ScanStatus.DONE]
    assert found.scans[0].kinds == (ServiceKind.C2S,)
    assert found.scans[1].grades[ServiceKind.C2S].letter == "C"
    assert not found.skipped
    assert [scan.id for scan in history(session, domain="example.org", limit=1).scans] == [queued]


def test_latest_for_domain_is_the_newest_done_scan_covering_the_kinds(session: Session) -> None:
    old = save_result(session, result=result_for(minutes=0))
    c2s_only = result_for(minutes=5)
    c2s_only = c2s_only.model_copy(
        update={
            "request": c2s_only.request.model_copy(update={"kinds": [ServiceKind.C2S]}),
            "services": c2s_only.services.model_copy(update={"s2s": None}),
        }
    )
    newer = save_result(session, result=c2s_only)
    failed = create_scan(session, request=c2s_only.request)
    fail_scan(session, scan_id=failed, error="DNS timed out")
    latest = latest_for_domain(session, domain="example.org")
    assert latest.scan is not None
    assert latest.scan.summary.id == newer
    both = latest_for_domain(session, domain="example.org", kinds=[ServiceKind.S2S])
    assert both.scan is not None
    assert both.scan.summary.id == old
    assert latest_for_domain(session, domain="nowhere.example").scan is None


def test_recent_scans_lists_done_scans_of_every_domain(session: Session) -> None:
    a = save_result(session, result=result_for("a.example", minutes=1))
    b = save_result(session, result=result_for("b.example", minutes=2))
    create_scan(session, request=ScanRequest(domain="c.example", kinds=[ServiceKind.C2S]))
    assert [scan.id for scan in recent_scans(session).scans] == [b, a]


def test_a_queued_scan_runs_and_finishes(session: Session) -> None:
    result = make_result()
    scan_id = create_scan(session, request=result.request)
    assert get_scan(session, scan_id=scan_id).summary.status is ScanStatus.QUEUED  # type: ignore[union-attr]
    start_scan(session, scan_id=scan_id)
    with pytest.raises(ScanStateError, match="is not queued"):
        start_scan(session, scan_id=scan_id)  # a second worker loses the race
    finish_scan(session, scan_id=scan_id, result=result)
    stored = get_scan(session, scan_id=scan_id)
    assert stored is not None
    assert stored.result == result
    assert stored.summary.status is ScanStatus.DONE
    assert _count(session, EndpointRow, scan_id) == 4
    with pytest.raises(ScanStateError):
        fail_scan(session, scan_id=scan_id, error="too late")


def test_a_failed_scan_keeps_its_reason(session: Session) -> None:
    scan_id = create_scan(session, request=ScanRequest(domain="example.org", kinds=[ServiceKind.C2S]))
    fail_scan(session, scan_id=scan_id, error="the scanner crashed")
    stored = get_scan(session, scan_id=scan_id)
    assert stored is not None
    assert stored.summary.status is ScanStatus.FAILED
    assert stored.summary.error == "the scanner crashed"
    assert stored.result is None


def test_get_scan_of_a_missing_id_is_none(session: Session) -> None:
    assert get_scan(session, scan_id=12345) is None


# --- Corrupt rows --------------------------------------------------------------------------------


def _corrupt(session: Session, scan_id: int, column: str, raw: str) -> None:
    # Raw SQL, as a damaged file or a careless manual edit would leave it (bypassing the JSON type).
    session.execute(text(f"UPDATE scans SET {column} = :raw WHERE id = :id"), {"raw": raw, "id": scan_id})
    session.commit()


@pytest.mark.parametrize(
    ("column", "raw", "reason"),
    [
        ("result", '{"format_version": "1.0", "domain": "exa', "its result document is not JSON"),
        ("result", json.dumps({"format_version": "1.0", "domain": 5}), "its result document: not a valid scan result"),
        ("result", json.dumps({**json.loads(make_result().model_dump_json()), "format_version": "9.0"}), "newer"),
        ("result", "[1, 2]", "its result document is not an object"),
    ],
)
def test_latest_skips_a_corrupt_newest_scan_and_says_why(session: Session, column: str, raw: str, reason: str) -> None:
    good = save_result(session, result=result_for(minutes=0))
    bad = save_result(session, result=result_for(minutes=1))
    _corrupt(session, bad, column, raw)
    latest = latest_for_domain(session, domain="example.org")
    assert latest.scan is not None
    assert latest.scan.summary.id == good
    assert [skipped.scan_id for skipped in latest.skipped] == [bad]
    assert reason in latest.skipped[0].reason
    with pytest.raises(CorruptScan, match=f"scan #{bad} cannot be read"):
        get_scan(session, scan_id=bad)


@pytest.mark.parametrize(
    ("column", "raw", "reason"),
    [("kinds", "c2s,x2x", "unknown service kinds"), ("created_at", "yesterday-ish", "created_at is unreadable")],
)
def test_history_skips_a_row_with_unreadable_columns(session: Session, column: str, raw: str, reason: str) -> None:
    good = save_result(session, result=result_for(minutes=0))
    bad = save_result(session, result=result_for(minutes=1))
    _corrupt(session, bad, column, raw)
    found = history(session, domain="example.org")
    assert [scan.id for scan in found.scans] == [good]
    assert len(found.skipped) == 1
    assert found.skipped[0].scan_id == bad
    assert reason in found.skipped[0].reason
    assert str(found.skipped[0]).startswith(f"scan #{bad} skipped: ")
