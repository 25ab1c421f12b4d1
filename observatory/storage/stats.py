"""The site's statistics, counted in SQL from the derived rows (``scans`` columns, ``scan_endpoints``,
``scan_findings``): the JSON documents are never read, so the cost grows with the number of rows, not
with the size of the scans.

What counts: done scans that are listed. For each domain only its latest such scan (newest
``finished_at``, then highest id), so a domain scanned a hundred times weighs as much as one scanned once.
Trends take, for each month, the latest scan of each domain finished *by the end of* that month: the
state of the listing as a visitor would have seen it then. (Counting only scans made *within* a month
would make a domain vanish from the trend in every month nobody rescanned it.)

DNSSEC (``scan_endpoints.dnssec``: the weakest state of the endpoint's RRsets), STARTTLS enforcement
(``scan_endpoints.starttls_enforced``) and certificate issuers (``scan_certificates.issuer`` of the
server's own certificate) come from columns added for the site; rows stored before them hold NULL and
are left out of those figures until ``observatory rescore --all`` derives them again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Integer, Subquery, case, func, literal, literal_column, or_, select, union_all
from sqlalchemy.orm import Session

from observatory.storage.derive import VERSION_COLUMNS
from observatory.storage.records import ScanStatus
from observatory.storage.schema import CertificateRow, EndpointRow, FindingRow, ScanRow
from observatory.storage.types import UtcDateTime
from scanners.tls.facts import TlsVersion

SCANS = ScanRow.__table__
ENDPOINTS = EndpointRow.__table__
FINDINGS = FindingRow.__table__
CERTIFICATES = CertificateRow.__table__

#: Best first, as the site shows them; a letter outside this list (newer rules) is listed after them.
GRADE_LETTERS = ("A+", "A", "A-", "B", "C", "D", "E", "T", "F")
SERVICE_KINDS: tuple[Literal["c2s", "s2s"], ...] = ("c2s", "s2s")
VERSION_LABELS = {
    TlsVersion.SSL2: "SSL 2",
    TlsVersion.SSL3: "SSL 3",
    TlsVersion.TLS10: "TLS 1.0",
    TlsVersion.TLS11: "TLS 1.1",
    TlsVersion.TLS12: "TLS 1.2",
    TlsVersion.TLS13: "TLS 1.3",
}
#: Most severe first; a severity outside it sorts last.
SEVERITIES = ("critical", "high", "medium", "low", "info")
STARTTLS_NOT_ENFORCED = "xmpp.starttls.not-enforced"


class StatsModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GradeCount(StatsModel):
    letter: str
    domains: int
    #: Fraction (0–1) of the graded domains; 0 when none was graded.
    share: float


class GradeDistribution(StatsModel):
    kind: Literal["c2s", "s2s"]
    #: Domains whose scan has a grade for this kind (not scanned for it, or not reachable: no grade).
    graded_domains: int
    #: Every letter of GRADE_LETTERS in that order, zeros included, so charts keep a fixed axis.
    grades: list[GradeCount]


class VersionShare(StatsModel):
    #: The ``scan_endpoints`` column: ``ssl2`` … ``tls13``.
    version: str
    label: str
    #: Endpoints accepting this version.
    endpoints: int
    #: Fraction (0–1) of the endpoints where TLS was observed.
    share: float


class TlsStats(StatsModel):
    #: Endpoints where TLS was observed (the version columns are not NULL); the denominator below.
    endpoints: int
    #: Oldest version first.
    versions: list[VersionShare]


class StarttlsStats(StatsModel):
    #: STARTTLS-transport endpoints whose stream features were read; the denominator of required_share.
    endpoints: int
    #: Endpoints per advertised policy (``required``, ``optional``, ``absent``).
    policies: dict[str, int]
    #: Fraction (0–1) of those endpoints where the server advertised STARTTLS as required.
    required_share: float
    #: Domains where the enforcement probe saw a cleartext request accepted (finding
    #: ``xmpp.starttls.not-enforced``). A lower bound: the stored rows do not say whether the probe ran, so
    #: no "enforced" share can be given.
    not_enforced_domains: int
    #: not_enforced_domains as a fraction (0–1) of all domains.
    not_enforced_share: float
    #: STARTTLS endpoints where enforcement is known (advertised as required, or the cleartext probe
    #: answered); the denominator of enforced_share.
    enforcement_known: int = 0
    #: Of those, endpoints where a peer cannot go on without TLS.
    enforced: int = 0
    enforced_share: float = 0.0


class DnssecStats(StatsModel):
    #: Endpoints found through DNS (not ``--connect``); the denominator of secure_share.
    endpoints: int
    #: Endpoints per weakest DNSSEC state of their RRsets (``secure``, ``insecure``, ``bogus``,
    #: ``indeterminate``).
    states: dict[str, int]
    #: Fraction (0–1) of those endpoints whose SRV, address and TLSA answers all validated.
    secure_share: float


class IssuerCount(StatsModel):
    #: The issuer's organisation, else its common name, as the server's own certificate names it.
    issuer: str
    #: Domains whose latest scan saw a certificate from it on some endpoint.
    domains: int
    #: Fraction (0–1) of the domains where a certificate was seen.
    share: float


class DaneStats(StatsModel):
    #: Endpoints with a DANE verdict (TLS was reached); the denominator of valid_share.
    endpoints: int
    #: Endpoints per verdict (``valid``, ``invalid``, ``absent``, ``not-applicable``).
    statuses: dict[str, int]
    #: Fraction (0–1) of those endpoints where a TLSA record matched the chain.
    valid_share: float


class FindingCount(StatsModel):
    #: The finding's id, e.g. ``tls.protocol.tls10``.
    finding: str
    #: Its most severe severity over the domains counted.
    severity: str
    #: Domains whose latest scan has it.
    domains: int
    #: Fraction (0–1) of all domains.
    share: float


class MonthTrend(StatsModel):
    #: ``YYYY-MM`` (UTC).
    month: str
    #: Domains with a listed done scan finished before the month ended.
    domains: int
    #: c2s then s2s, as in SiteStats.grades.
    grades: list[GradeDistribution]
    #: Endpoints where TLS was observed, over those scans.
    tls_endpoints: int
    #: Fraction (0–1) of them accepting TLS 1.0 or TLS 1.1; None when there is no endpoint (a gap in a line).
    legacy_tls_share: float | None
    #: Fraction (0–1) of them accepting TLS 1.3; None when there is no endpoint.
    tls13_share: float | None
    #: As in the snapshot (StarttlsStats, DnssecStats, DaneStats), None when the denominator is 0.
    starttls_required_share: float | None = None
    starttls_enforced_share: float | None = None
    dnssec_secure_share: float | None = None
    dane_valid_share: float | None = None
    #: Fraction (0–1) of the graded domains whose c2s, then s2s, grade is A- or better.
    a_grade_shares: list[float | None] = Field(default_factory=list)


class SiteStats(StatsModel):
    """The body of ``GET /api/v1/stats``: the latest listed scan of each domain, and monthly trends.

    Shares are fractions from 0 to 1, each beside the count it was divided by; in the snapshot a share
    over nothing is 0 (its denominator says so), in the trends it is None so a line shows a gap.
    """

    generated_at: datetime
    #: Domains with at least one listed done scan.
    domains: int
    #: c2s then s2s.
    grades: list[GradeDistribution]
    tls: TlsStats
    starttls: StarttlsStats
    dane: DaneStats
    dnssec: DnssecStats
    #: The most common findings, most domains first (then most severe, then by id).
    top_findings: list[FindingCount]
    #: The most common certificate issuers, most domains first.
    issuers: list[IssuerCount] = Field(default_factory=list)
    #: Oldest month first, ending with the month of ``generated_at``.
    trends: list[MonthTrend] = Field(default_factory=list)


# --- Which scans count --------------------------------------------------------------------------------


def _counted() -> ColumnElement[bool]:
    return (SCANS.c.status == ScanStatus.DONE.value) & SCANS.c.listed.is_(True)


def _newest_first() -> tuple[Any, ...]:
    return (SCANS.c.finished_at.desc(), SCANS.c.id.desc())


def _latest(months: Subquery | None = None) -> Subquery:
    """The latest counted scan of each domain: (month, id, c2s_grade, s2s_grade).

    With ``months`` (month, month_end) the latest per month of those finished before its end; without,
    the latest of all, under month 0. A window function rather than a max-subquery: ties on finished_at
    are broken by id in the same pass, on SQLite and PostgreSQL alike.
    """
    month: Any = literal_column("0", Integer) if months is None else months.c.month
    partition = [SCANS.c.domain] if months is None else [months.c.month, SCANS.c.domain]
    statement = select(
        month.label("month"),
        SCANS.c.id,
        SCANS.c.c2s_grade,
        SCANS.c.s2s_grade,
        func.row_number().over(partition_by=partition, order_by=_newest_first()).label("rank"),
    ).where(_counted())
    if months is not None:
        statement = statement.join_from(SCANS, months, SCANS.c.finished_at < months.c.month_end)
    ranked = statement.subquery("ranked")
    return (
        select(ranked.c.month, ranked.c.id, ranked.c.c2s_grade, ranked.c.s2s_grade)
        .where(ranked.c.rank == 1)
        .subquery("latest")
    )


def _months_table(ends: Sequence[datetime]) -> Subquery:
    """(month, month_end) rows as a derived table, numbered from 0; portable unlike VALUES, whose column
    names SQLite cannot alias."""
    rows = [
        select(literal_column(str(index), Integer).label("month"), literal(end, UtcDateTime()).label("month_end"))
        for index, end in enumerate(ends)
    ]
    return union_all(*rows).subquery("months")


# --- Counting -----------------------------------------------------------------------------------------


@dataclass
class _EndpointTally:
    observed: int = 0
    versions: Counter[str] = field(default_factory=Counter)
    legacy: int = 0
    starttls: Counter[str] = field(default_factory=Counter)
    dane: Counter[str] = field(default_factory=Counter)
    dnssec: Counter[str] = field(default_factory=Counter)
    enforced: Counter[bool] = field(default_factory=Counter)


def _ones(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _grade_counts(session: Session, latest: Subquery) -> dict[int, dict[str, Counter[str | None]]]:
    """Month → kind → letter → domains; the letter ``None`` (no grade) counts domains too."""
    rows = session.execute(
        select(latest.c.month, latest.c.c2s_grade, latest.c.s2s_grade, func.count()).group_by(
            latest.c.month, latest.c.c2s_grade, latest.c.s2s_grade
        )
    )
    counts: dict[int, dict[str, Counter[str | None]]] = {}
    for month, c2s, s2s, domains in rows:
        kinds = counts.setdefault(month, {kind: Counter() for kind in SERVICE_KINDS})
        kinds["c2s"][c2s] += domains
        kinds["s2s"][s2s] += domains
    return counts


def _endpoint_counts(session: Session, latest: Subquery) -> dict[int, _EndpointTally]:
    """Month → tallies of the endpoints of its scans, grouped in SQL by the few values they can take."""
    versions = {column: ENDPOINTS.c[column] for column in VERSION_COLUMNS.values()}
    observed = or_(*(column.is_not(None) for column in versions.values()))
    legacy = or_(versions["tls10"].is_(True), versions["tls11"].is_(True))
    keys = (
        latest.c.month,
        ENDPOINTS.c.transport,
        ENDPOINTS.c.starttls,
        ENDPOINTS.c.dane,
        ENDPOINTS.c.dnssec,
        ENDPOINTS.c.starttls_enforced,
    )
    statement = (
        select(
            *keys,
            func.count().label("endpoints"),
            _ones(observed).label("observed"),
            _ones(legacy).label("legacy"),
            *(_ones(column.is_(True)).label(name) for name, column in versions.items()),
        )
        .join_from(ENDPOINTS, latest, ENDPOINTS.c.scan_id == latest.c.id)
        .group_by(*keys)
    )
    tallies: dict[int, _EndpointTally] = {}
    for row in session.execute(statement):
        tally = tallies.setdefault(row.month, _EndpointTally())
        tally.observed += row.observed
        tally.legacy += row.legacy
        for name in versions:
            tally.versions[name] += getattr(row, name)
        if row.transport == "starttls" and row.starttls is not None:
            tally.starttls[row.starttls] += row.endpoints
        if row.dane is not None:
            tally.dane[row.dane] += row.endpoints
        if row.dnssec is not None:
            tally.dnssec[row.dnssec] += row.endpoints
        if row.starttls_enforced is not None:
            tally.enforced[bool(row.starttls_enforced)] += row.endpoints
    return tallies


def _severity_rank() -> Any:
    return case(*((FINDINGS.c.severity == name, rank) for rank, name in enumerate(SEVERITIES)), else_=len(SEVERITIES))


def _finding_counts(session: Session, latest: Subquery) -> list[tuple[str, str, int]]:
    """(finding, most severe severity, domains), most domains first. A scan may hold a finding once per
    service, hence the distinct count of scans."""
    domains = func.count(func.distinct(FINDINGS.c.scan_id))
    severity = func.min(_severity_rank())
    statement = (
        select(FINDINGS.c.finding, severity, domains)
        .join_from(FINDINGS, latest, FINDINGS.c.scan_id == latest.c.id)
        .group_by(FINDINGS.c.finding)
        .order_by(domains.desc(), severity, FINDINGS.c.finding)
    )
    return [
        (finding, SEVERITIES[rank] if rank < len(SEVERITIES) else "unknown", count)
        for finding, rank, count in session.execute(statement)
    ]


# --- Shaping ------------------------------------------------------------------------------------------


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _letters(seen: Iterable[str | None]) -> list[str]:
    extra = sorted(letter for letter in seen if letter is not None and letter not in GRADE_LETTERS)
    return [*GRADE_LETTERS, *extra]


def _distribution(kind: Literal["c2s", "s2s"], letters: Counter[str | None]) -> GradeDistribution:
    graded = sum(count for letter, count in letters.items() if letter is not None)
    return GradeDistribution(
        kind=kind,
        graded_domains=graded,
        grades=[GradeCount(letter=x, domains=letters[x], share=_share(letters[x], graded)) for x in _letters(letters)],
    )


def _distributions(counts: dict[str, Counter[str | None]] | None) -> list[GradeDistribution]:
    return [_distribution(kind, (counts or {}).get(kind, Counter())) for kind in SERVICE_KINDS]


def _domains(counts: dict[str, Counter[str | None]] | None) -> int:
    # Every domain is in each kind's counter once (under None when ungraded).
    return sum(counts["c2s"].values()) if counts else 0


def _tls(tally: _EndpointTally) -> TlsStats:
    return TlsStats(
        endpoints=tally.observed,
        versions=[
            VersionShare(
                version=column,
                label=VERSION_LABELS[version],
                endpoints=tally.versions[column],
                share=_share(tally.versions[column], tally.observed),
            )
            for version, column in VERSION_COLUMNS.items()
        ],
    )


def _starttls(tally: _EndpointTally, *, not_enforced: int, domains: int) -> StarttlsStats:
    endpoints = sum(tally.starttls.values())
    known = sum(tally.enforced.values())
    return StarttlsStats(
        endpoints=endpoints,
        policies=dict(sorted(tally.starttls.items())),
        required_share=_share(tally.starttls["required"], endpoints),
        not_enforced_domains=not_enforced,
        not_enforced_share=_share(not_enforced, domains),
        enforcement_known=known,
        enforced=tally.enforced[True],
        enforced_share=_share(tally.enforced[True], known),
    )


def _dnssec(tally: _EndpointTally) -> DnssecStats:
    endpoints = sum(tally.dnssec.values())
    return DnssecStats(
        endpoints=endpoints,
        states=dict(sorted(tally.dnssec.items())),
        secure_share=_share(tally.dnssec["secure"], endpoints),
    )


def _issuer_counts(session: Session, latest: Subquery, top: int) -> list[IssuerCount]:
    """Issuers of the servers' own certificates (chain position 0), by the number of domains."""
    domains = func.count(func.distinct(CERTIFICATES.c.scan_id))
    leaves = (CERTIFICATES.c.position == 0) & CERTIFICATES.c.issuer.is_not(None)
    seen = session.execute(
        select(func.count(func.distinct(CERTIFICATES.c.scan_id)))
        .join_from(CERTIFICATES, latest, CERTIFICATES.c.scan_id == latest.c.id)
        .where(leaves)
    ).scalar_one()
    rows = session.execute(
        select(CERTIFICATES.c.issuer, domains)
        .join_from(CERTIFICATES, latest, CERTIFICATES.c.scan_id == latest.c.id)
        .where(leaves)
        .group_by(CERTIFICATES.c.issuer)
        .order_by(domains.desc(), CERTIFICATES.c.issuer)
        .limit(top)
    )
    return [IssuerCount(issuer=issuer, domains=count, share=_share(count, seen)) for issuer, count in rows]


def _dane(tally: _EndpointTally) -> DaneStats:
    endpoints = sum(tally.dane.values())
    return DaneStats(
        endpoints=endpoints,
        statuses=dict(sorted(tally.dane.items())),
        valid_share=_share(tally.dane["valid"], endpoints),
    )


def _gap(part: int, whole: int) -> float | None:
    """A share for a trend line: None (a gap) when there is nothing to divide by."""
    return part / whole if whole else None


def _a_share(distribution: GradeDistribution) -> float | None:
    good = sum(g.domains for g in distribution.grades if g.letter in ("A+", "A", "A-"))
    return _gap(good, distribution.graded_domains)


def _trend(label: str, grades: dict[str, Counter[str | None]] | None, tally: _EndpointTally | None) -> MonthTrend:
    tally = tally or _EndpointTally()
    observed = tally.observed
    distributions = _distributions(grades)
    return MonthTrend(
        month=label,
        domains=_domains(grades),
        grades=distributions,
        tls_endpoints=observed,
        legacy_tls_share=_gap(tally.legacy, observed),
        tls13_share=_gap(tally.versions["tls13"], observed),
        starttls_required_share=_gap(tally.starttls["required"], sum(tally.starttls.values())),
        starttls_enforced_share=_gap(tally.enforced[True], sum(tally.enforced.values())),
        dnssec_secure_share=_gap(tally.dnssec["secure"], sum(tally.dnssec.values())),
        dane_valid_share=_gap(tally.dane["valid"], sum(tally.dane.values())),
        a_grade_shares=[_a_share(distribution) for distribution in distributions],
    )


# --- Months -------------------------------------------------------------------------------------------


def month_starts(now: datetime, months: int) -> list[datetime]:
    """The first instant (UTC) of each of the ``months`` months ending with ``now``'s, and of the month
    after: ``months + 1`` boundaries, oldest first."""
    now = now.astimezone(UTC)
    first = now.year * 12 + now.month - 1 - (months - 1)
    return [datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC) for index in range(first, first + months + 1)]


def _trends(session: Session, *, now: datetime, months: int) -> list[MonthTrend]:
    if months <= 0:
        return []
    bounds = month_starts(now, months)
    latest = _latest(_months_table(bounds[1:]))
    grades = _grade_counts(session, latest)
    endpoints = _endpoint_counts(session, latest)
    return [
        _trend(f"{start:%Y-%m}", grades.get(index), endpoints.get(index)) for index, start in enumerate(bounds[:-1])
    ]


# --- The figures --------------------------------------------------------------------------------------


def site_stats(session: Session, *, now: datetime | None = None, months: int = 12, top: int = 10) -> SiteStats:
    """The site's statistics over the latest listed done scan of each domain, and the ``months`` months
    of trends ending with ``now``'s month (UTC; the current time by default). ``top`` findings at most.

    Seven queries whatever the number of domains; only row columns are read, never the documents.
    """
    now = now or datetime.now(UTC)
    latest = _latest()
    grades = _grade_counts(session, latest).get(0)
    tally = _endpoint_counts(session, latest).get(0, _EndpointTally())
    domains = _domains(grades)
    # All of them (a few dozen ids at most): the not-enforced count is one of them, wherever it ranks.
    findings = _finding_counts(session, latest)
    not_enforced = next((count for finding, _, count in findings if finding == STARTTLS_NOT_ENFORCED), 0)
    return SiteStats(
        generated_at=now,
        domains=domains,
        grades=_distributions(grades),
        tls=_tls(tally),
        starttls=_starttls(tally, not_enforced=not_enforced, domains=domains),
        dane=_dane(tally),
        dnssec=_dnssec(tally),
        top_findings=[
            FindingCount(finding=finding, severity=severity, domains=count, share=_share(count, domains))
            for finding, severity, count in findings[:top]
        ],
        issuers=_issuer_counts(session, latest, top),
        trends=_trends(session, now=now, months=months),
    )
