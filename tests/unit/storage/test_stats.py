"""The site's statistics on a real (SQLite) database: exact figures over the latest listed done scan of
each domain, monthly trends, and an empty database. ``build_scenario`` and ``check_scenario`` are shared
with the PostgreSQL run in ``tests/integration/test_stats_postgres.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from observatory.model import DaneResult, DaneStatus, Finding, Grade, ScanRequest, ScanResult, Severity
from observatory.storage.repository import create_scan, fail_scan, save_result
from observatory.storage.schema import ScanRow
from observatory.storage.stats import GRADE_LETTERS, SiteStats, month_starts, site_stats
from scanners.base import ServiceKind
from scanners.dns.facts import DnssecState, DnssecStatus, EndpointDnssec
from scanners.stream.facts import StarttlsEnforcement, StarttlsPolicy
from tests.factories import make_endpoint
from tests.unit.storage.support import certificate_der, result_for, weaker, with_leaf_chain

NOW = datetime(2026, 12, 15, 8, 0, tzinfo=UTC)


def at(year: int, month: int, day: int, *time: int) -> datetime:
    return datetime(year, month, day, *time, tzinfo=UTC)


def unlist(session: Session, scan_id: int) -> None:
    session.execute(update(ScanRow.__table__).where(ScanRow.__table__.c.id == scan_id).values(listed=False))
    session.commit()


def c2s_only(domain: str, *, at: datetime) -> ScanResult:
    """A c2s-only scan, grade B: one endpoint with STARTTLS optional and a DANE mismatch, found not to
    enforce STARTTLS, a bogus TLSA answer, and the same low finding twice (it still counts the domain
    once)."""
    base = result_for(domain, at=at)
    endpoint = make_endpoint()
    assert endpoint.stream is not None
    endpoint = endpoint.model_copy(
        update={
            "stream": endpoint.stream.model_copy(
                update={
                    "starttls": StarttlsPolicy.OPTIONAL,
                    "enforcement": StarttlsEnforcement(request="sasl:SCRAM-SHA-1", answer="challenge", accepted=True),
                }
            ),
            "dane": DaneResult(status=DaneStatus.INVALID),
            "dnssec": EndpointDnssec(
                srv=DnssecStatus(state=DnssecState.SECURE), tlsa=DnssecStatus(state=DnssecState.BOGUS)
            ),
            "grade": Grade(letter="B", score=80),
        }
    )
    c2s = base.services.c2s
    assert c2s is not None
    service = c2s.model_copy(update={"endpoints": [endpoint], "grade": Grade(letter="B")})
    return base.model_copy(
        update={
            "request": base.request.model_copy(update={"kinds": [ServiceKind.C2S]}),
            "services": base.services.model_copy(update={"c2s": service, "s2s": None}),
            "findings": [
                Finding(id="xmpp.starttls.not-enforced", severity=Severity.HIGH, service=ServiceKind.C2S),
                Finding(id="tls.example", severity=Severity.LOW, service=ServiceKind.C2S),
                Finding(id="tls.example", severity=Severity.LOW, service=ServiceKind.S2S),
            ],
        }
    )


def build_scenario(session: Session) -> None:
    """Four listed domains, and scans that must not count (older, unlisted, failed, queued).

    * a.org: A on 25 Nov, then C on 2 Dec (TLS 1.0 back, TLS 1.3 gone on one endpoint).
    * b.org: A, finished on 31 Oct 23:59:59 (the last second of October).
    * c.org: A on 1 Sep; a newer scan (C, 10 Dec) is unlisted.
    * f.org: c2s only, B, on 1 Dec.
    * d.org: only an unlisted scan; e.org: a failed and a queued scan.
    """
    first_a = result_for("a.org")
    save_result(session, result=first_a)
    save_result(session, result=weaker(first_a))
    save_result(session, result=result_for("b.org", at=at(2026, 10, 31, 23, 59, 50)))
    save_result(session, result=result_for("c.org", at=at(2026, 9, 1)))
    unlist(session, save_result(session, result=weaker(result_for("c.org", at=at(2026, 12, 3)))))
    save_result(session, result=c2s_only("f.org", at=at(2026, 12, 1)))
    unlist(session, save_result(session, result=result_for("d.org", at=at(2026, 11, 1))))
    failed = create_scan(
        session, request=ScanRequest(domain="e.org", kinds=[ServiceKind.C2S]), created_at=at(2026, 11, 2)
    )
    fail_scan(session, scan_id=failed, error="no answer", finished_at=at(2026, 11, 2, 0, 1))
    create_scan(session, request=ScanRequest(domain="e.org", kinds=[ServiceKind.C2S]), created_at=at(2026, 11, 3))


def grades(stats_grades: list, kind: str) -> dict[str, int]:
    """The non-zero letters of one kind's distribution."""
    (distribution,) = [d for d in stats_grades if d.kind == kind]
    assert [g.letter for g in distribution.grades] == list(GRADE_LETTERS)
    return {g.letter: g.domains for g in distribution.grades if g.domains}


def check_scenario(stats: SiteStats) -> None:
    """The exact figures of build_scenario, from NOW with five months of trends."""
    assert stats.domains == 4
    assert grades(stats.grades, "c2s") == {"A": 2, "B": 1, "C": 1}
    assert grades(stats.grades, "s2s") == {"A": 3}
    c2s, s2s = stats.grades
    assert (c2s.graded_domains, s2s.graded_domains) == (4, 3)
    assert c2s.grades[GRADE_LETTERS.index("A")].share == 0.5
    assert s2s.grades[GRADE_LETTERS.index("A")].share == 1.0

    # a.org 3 endpoints with TLS (one with TLS 1.0 and 1.2 only), b.org 3, c.org 3, f.org 1.
    assert stats.tls.endpoints == 10
    assert {v.version: v.endpoints for v in stats.tls.versions} == {
        "ssl2": 0,
        "ssl3": 0,
        "tls10": 1,
        "tls11": 0,
        "tls12": 10,
        "tls13": 9,
    }
    assert {v.version: v.share for v in stats.tls.versions}["tls13"] == 0.9
    assert [v.label for v in stats.tls.versions][-1] == "TLS 1.3"

    # Two STARTTLS endpoints with features read per a/b/c.org, f.org's one optional.
    assert stats.starttls.endpoints == 7
    assert stats.starttls.policies == {"optional": 1, "required": 6}
    assert stats.starttls.required_share == 6 / 7
    assert (stats.starttls.not_enforced_domains, stats.starttls.not_enforced_share) == (1, 0.25)

    # Enforcement known where STARTTLS is advertised as required (6) and where the probe answered (f.org).
    assert (stats.starttls.enforcement_known, stats.starttls.enforced) == (7, 6)
    assert stats.starttls.enforced_share == 6 / 7

    # Every endpoint came from DNS (13, the failed ones too); f.org's TLSA answer was bogus.
    assert stats.dnssec.endpoints == 13
    assert stats.dnssec.states == {"bogus": 1, "secure": 12}
    assert stats.dnssec.secure_share == 12 / 13

    assert stats.dane.endpoints == 10
    assert stats.dane.statuses == {"invalid": 1, "valid": 9}
    assert stats.dane.valid_share == 0.9

    assert [(f.finding, f.severity, f.domains, f.share) for f in stats.top_findings] == [
        ("tls.example", "low", 3, 0.75),
        ("tls.protocol.tls10", "high", 1, 0.25),
        ("xmpp.starttls.not-enforced", "high", 1, 0.25),
    ]

    assert [t.month for t in stats.trends] == ["2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]
    by_month = {t.month: t for t in stats.trends}
    assert [t.domains for t in stats.trends] == [0, 1, 2, 3, 4]
    assert by_month["2026-08"].tls_endpoints == 0
    assert by_month["2026-08"].legacy_tls_share is None
    assert by_month["2026-08"].tls13_share is None
    assert grades(by_month["2026-11"].grades, "c2s") == {"A": 3}
    assert (by_month["2026-11"].legacy_tls_share, by_month["2026-11"].tls13_share) == (0.0, 1.0)
    # December is the snapshot: c.org's unlisted December scan does not replace its September one.
    december = by_month["2026-12"]
    assert december.grades == stats.grades
    assert december.tls_endpoints == 10
    assert (december.legacy_tls_share, december.tls13_share) == (0.1, 0.9)
    # The other snapshot shares follow month by month too (a gap where there is nothing to count).
    assert december.starttls_required_share == stats.starttls.required_share
    assert december.starttls_enforced_share == stats.starttls.enforced_share
    assert december.dnssec_secure_share == stats.dnssec.secure_share
    assert december.dane_valid_share == stats.dane.valid_share
    assert december.a_grade_shares == [0.5, 1.0]
    assert by_month["2026-08"].dnssec_secure_share is None
    assert by_month["2026-08"].a_grade_shares == [None, None]


def test_figures_over_the_latest_listed_scan_of_each_domain(session: Session) -> None:
    build_scenario(session)
    stats = site_stats(session, now=NOW, months=5)
    check_scenario(stats)
    assert stats.generated_at == NOW


def test_the_stats_are_json_and_read_back_equal(session: Session) -> None:
    build_scenario(session)
    stats = site_stats(session, now=NOW, months=5)
    assert SiteStats.model_validate_json(stats.model_dump_json()) == stats


def test_an_unlisted_latest_scan_hands_the_domain_back_to_its_previous_listed_one(session: Session) -> None:
    save_result(session, result=result_for("a.org"))
    unlist(session, save_result(session, result=weaker(result_for("a.org"))))
    stats = site_stats(session, now=NOW, months=1)
    assert grades(stats.grades, "c2s") == {"A": 1}
    assert stats.top_findings[0].finding == "tls.example"
    assert {v.version: v.endpoints for v in stats.tls.versions}["tls10"] == 0


def test_a_domain_with_only_unlisted_scans_is_not_counted(session: Session) -> None:
    unlist(session, save_result(session, result=result_for("hidden.org")))
    stats = site_stats(session, now=NOW, months=1)
    assert stats.domains == 0
    assert stats.top_findings == []
    assert stats.tls.endpoints == 0


def test_equal_finish_times_are_decided_by_the_higher_id(session: Session) -> None:
    first = result_for("tie.org")
    save_result(session, result=first)
    same_time = weaker(first).model_copy(update={"started_at": first.started_at, "finished_at": first.finished_at})
    save_result(session, result=same_time)
    assert grades(site_stats(session, now=NOW).grades, "c2s") == {"C": 1}


def test_a_scan_belongs_to_the_month_it_finished_in(session: Session) -> None:
    # Finished at 23:59:59 on 31 October, and exactly at midnight on 1 November.
    save_result(session, result=result_for("october.org", at=at(2026, 10, 31, 23, 59, 50)))
    save_result(session, result=result_for("november.org", at=at(2026, 10, 31, 23, 59, 51)))
    stats = site_stats(session, now=at(2026, 11, 30, 23, 59, 59), months=2)
    assert [(t.month, t.domains) for t in stats.trends] == [("2026-10", 1), ("2026-11", 2)]


def test_a_month_counts_scans_finished_before_its_end_even_if_not_within_it(session: Session) -> None:
    save_result(session, result=result_for("once.org", at=at(2026, 1, 10)))
    stats = site_stats(session, now=at(2026, 4, 1), months=4)
    assert [(t.month, t.domains) for t in stats.trends] == [
        ("2026-01", 1),
        ("2026-02", 1),
        ("2026-03", 1),
        ("2026-04", 1),
    ]


def test_months_cross_the_year_and_follow_utc() -> None:
    # 00:30 on 1 January in UTC+2 is still December in UTC.
    new_year_in_athens = datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    starts = month_starts(new_year_in_athens, 3)
    assert [f"{s:%Y-%m}" for s in starts] == ["2026-10", "2026-11", "2026-12", "2027-01"]


def test_issuers_of_the_servers_own_certificates_count_domains(session: Session) -> None:
    # Given two domains whose first c2s endpoint sent a real certificate (self-signed: its issuer is its
    # own common name), and a third without a chain
    for domain in ("a.org", "b.org"):
        save_result(session, result=with_leaf_chain(result_for(domain), [certificate_der()]))
    save_result(session, result=result_for("c.org"))
    # then the issuer counts each domain once, over the domains where a certificate was seen.
    stats = site_stats(session, now=NOW)
    assert [(i.issuer, i.domains, i.share) for i in stats.issuers] == [("xmpp.example.org", 2, 1.0)]


def test_top_limits_the_findings(session: Session) -> None:
    save_result(session, result=c2s_only("f.org", at=at(2026, 12, 1)))
    stats = site_stats(session, now=NOW, top=1)
    assert [f.finding for f in stats.top_findings] == ["xmpp.starttls.not-enforced"]
    # The not-enforced count does not depend on the finding making the top list.
    assert stats.starttls.not_enforced_domains == 1
    assert site_stats(session, now=NOW, top=0).starttls.not_enforced_domains == 1


def test_an_empty_database_gives_zeros(session: Session) -> None:
    stats = site_stats(session, now=NOW, months=3)
    assert stats.domains == 0
    for distribution in stats.grades:
        assert distribution.graded_domains == 0
        assert {(g.domains, g.share) for g in distribution.grades} == {(0, 0.0)}
    assert stats.tls.endpoints == 0
    assert {(v.endpoints, v.share) for v in stats.tls.versions} == {(0, 0.0)}
    assert (stats.starttls.endpoints, stats.starttls.policies, stats.starttls.required_share) == (0, {}, 0.0)
    assert (stats.dane.endpoints, stats.dane.statuses, stats.dane.valid_share) == (0, {}, 0.0)
    assert stats.top_findings == []
    assert [(t.month, t.domains, t.tls13_share) for t in stats.trends] == [
        ("2026-10", 0, None),
        ("2026-11", 0, None),
        ("2026-12", 0, None),
    ]
    assert site_stats(session, now=NOW, months=0).trends == []


@pytest.mark.parametrize("domains", [1, 6])
def test_the_number_of_queries_does_not_grow_with_the_domains(session: Session, domains: int) -> None:
    for index in range(domains):
        save_result(session, result=result_for(f"d{index}.org"))
    statements: list[str] = []
    engine = session.get_bind()

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        stats = site_stats(session, now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert stats.domains == domains
    assert len([s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]) == 7
    assert not any("scans.result" in s or "scans.facts" in s for s in statements)
