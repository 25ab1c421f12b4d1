"""The scan result: the scanners' facts composed with the judgments made of them.

Two trees share one shape. ``ScanFacts`` holds only what was observed; ``ScanResult`` extends each
level (scan, service, endpoint) with what was judged: grades, certificate and DANE analysis, findings,
and the ``rules_version`` that produced them. Facts are stored unjudged, so a stored scan can be
re-graded under newer rules (``ScanResult.to_facts()`` gives them back).

This model is the single source of the JSON report, the API schema and what is stored.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from observatory import __version__
from observatory.certificates.model import CertificateAnalysis, DaneResult
from observatory.certificates.model import DaneStatus as DaneStatus  # re-exported for users of the model
from observatory.posh import PoshJudgment
from scanners.base import B64Bytes, FactModel, ProbeError, ServiceKind, Transport
from scanners.dns.facts import (
    CnameLink,
    DnsStats,
    EndpointDnssec,
    ServiceStatus,
    SrvLookup,
    TargetFacts,
    TlsaLookup,
)
from scanners.http.facts import HttpFacts
from scanners.stream.facts import StreamFacts
from scanners.tls.facts import TlsFacts

#: Version of the document format. Bump the minor for additions (old readers ignore nothing: they
#: refuse newer minors), the major for changes that need an upgrade step in ``observatory.document``.
FORMAT_VERSION = "1.4"

Model = FactModel  # judgments follow the same rules as facts: frozen, no unknown keys


# --- Facts -------------------------------------------------------------------------------------


class ScanRequest(Model):
    """What was asked for, so a stored scan says how it was made."""

    domain: str
    kinds: list[ServiceKind]
    resolver: str | None = None
    trust_anchor: str | None = None
    ca_file: str | None = None
    #: The roots ``--ca-file`` added (DER), so a stored scan can be re-judged with the same trust.
    extra_roots: list[B64Bytes] = []


def endpoint_id(kind: ServiceKind, transport: Transport, target: str, port: int, address: str) -> str:
    """A stable, readable id: the same endpoint gets the same id in every scan (used by diffs)."""
    host = f"[{address}]" if ":" in address else address
    return f"{kind.value}/{transport.value}/{target}/{host}:{port}"


class EndpointFacts(Model):
    """One place to connect to: domain × kind × SRV target × port × address × transport."""

    id: str
    kind: ServiceKind
    target: str
    port: int
    address: str
    transport: Transport
    priority: int | None = None
    weight: int | None = None
    stream: StreamFacts | None = None
    tls: TlsFacts | None = None
    dnssec: EndpointDnssec | None = None
    tlsa: TlsaLookup | None = None
    errors: list[ProbeError] = []


class ServiceFacts(Model):
    kind: ServiceKind
    #: How the endpoints were found: SRV records, the A/AAAA fallback, ``--connect``; or why none were.
    status: ServiceStatus | None = None
    #: The SRV lookups made for this service (``_xmpp-…`` and ``_xmpps-…``).
    srv: list[SrvLookup] = []
    #: Aliases followed from the SRV owner names.
    srv_cnames: list[CnameLink] = []
    #: The Direct TLS SRV name holds only a ``.`` target (XEP-0368: deliberately not offered).
    direct_tls_refused: bool = False
    #: The hosts the endpoints point at, with their address lookups and flags (CNAME, no address …).
    targets: list[TargetFacts] = []
    endpoints: list[EndpointFacts] = []


class ServicesFacts(Model):
    c2s: ServiceFacts | None = None
    s2s: ServiceFacts | None = None


class ScanFacts(Model):
    format_version: str = FORMAT_VERSION
    scanner_version: str = __version__
    domain: str
    started_at: datetime
    finished_at: datetime | None = None
    request: ScanRequest
    #: What DNS discovery cost and whom it asked.
    dns: DnsStats | None = None
    #: HTTPS discovery: XEP-0156 host-meta, ``_xmppconnect``, POSH files.
    http: HttpFacts | None = None
    services: ServicesFacts = ServicesFacts()
    #: TCP connections this scan opened to XMPP endpoints: stream probes and TLS probes (each
    #: endpoint's ``tls.connections`` counts its TLS probes alone). None in documents of old versions.
    connections: int | None = None
    #: Failures not tied to one endpoint (e.g. discovery could not run).
    errors: list[ProbeError] = []


# --- Judgments ---------------------------------------------------------------------------------


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


GradeLetter = Literal["A+", "A", "A-", "B", "C", "D", "E", "F", "T"]


class GradeCap(Model):
    """A limit the rules put on a grade, and why."""

    grade: GradeLetter
    reason: str
    finding: str | None = None


class Grade(Model):
    letter: GradeLetter
    score: int | None = None
    caps: list[GradeCap] = []
    #: For ``T`` (untrusted): the grade the endpoint would have if its certificate were trusted.
    if_trusted: GradeLetter | None = None


class Finding(Model):
    id: str
    severity: Severity
    service: ServiceKind | None = None
    endpoints: list[str] = []
    #: What exactly was seen (e.g. which suites), one line per distinct detail.
    details: list[str] = []


class ComplianceLevel(StrEnum):
    #: A requirement (MUST, SHALL, "required"): violating it fails the profile.
    MUST = "must"
    #: A recommendation (SHOULD, "recommended"): a violation is reported but does not fail the profile.
    SHOULD = "should"


class ComplianceStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    #: The facts the item needs were not observed (the reason is in ``details``); never counted as a pass.
    NOT_EVALUATED = "not-evaluated"
    #: The item has nothing to judge here (e.g. a DH size rule when no DHE suite is accepted).
    NOT_APPLICABLE = "not-applicable"


class ComplianceItem(Model):
    """One requirement of a compliance profile, as the profile states it."""

    id: str
    title: str
    level: ComplianceLevel
    #: Where the profile's document says it, e.g. ``RFC 9325 §4.1``.
    reference: str | None = None


class ComplianceOutcome(Model):
    """How one endpoint fared against one item."""

    item: str
    status: ComplianceStatus
    #: What violates the item (e.g. which suites), or why it could not be evaluated.
    details: list[str] = []


class EndpointCompliance(Model):
    endpoint: str
    #: ``fail`` when a ``must`` item failed, ``pass`` otherwise (items not evaluated are listed, not
    #: counted); ``not-evaluated`` when the endpoint was not scanned.
    status: ComplianceStatus
    outcomes: list[ComplianceOutcome] = []
    #: Caveats about the facts judged (e.g. an enumeration that met errors).
    notes: list[str] = []


class ProfileResult(Model):
    """A compliance profile (Mozilla, BCP 195, NIST, BSI …) judged on every endpoint of the scan."""

    id: str
    name: str
    #: The version or edition of the document the profile encodes, e.g. ``6.0`` or ``2026-01``.
    edition: str
    #: ``fail`` when an endpoint fails, ``not-evaluated`` when no endpoint could be judged, else ``pass``.
    status: ComplianceStatus
    items: list[ComplianceItem] = []
    endpoints: list[EndpointCompliance] = []


class Endpoint(EndpointFacts):
    grade: Grade | None = None
    certificate: CertificateAnalysis | None = None
    dane: DaneResult | None = None
    #: The domain's POSH file for this service (RFC 7711/7712) against the chain this endpoint sent.
    posh: PoshJudgment | None = None

    def to_facts(self) -> EndpointFacts:
        return EndpointFacts.model_validate(self.model_dump(include=set(EndpointFacts.model_fields)))


class Service(ServiceFacts):
    endpoints: list[Endpoint] = []  # type: ignore[assignment]
    grade: Grade | None = None

    def to_facts(self) -> ServiceFacts:
        fields = set(ServiceFacts.model_fields) - {"endpoints"}
        return ServiceFacts.model_validate(
            {**self.model_dump(include=fields), "endpoints": [endpoint.to_facts() for endpoint in self.endpoints]}
        )


class Services(ServicesFacts):
    c2s: Service | None = None
    s2s: Service | None = None

    def to_facts(self) -> ServicesFacts:
        return ServicesFacts(
            c2s=self.c2s.to_facts() if self.c2s else None,
            s2s=self.s2s.to_facts() if self.s2s else None,
        )


class ScanResult(ScanFacts):
    rules_version: str
    services: Services = Services()
    findings: list[Finding] = Field(default_factory=list)
    #: Compliance profiles judged on request (``observatory scan --profile``); empty when none was asked for.
    profiles: list[ProfileResult] = Field(default_factory=list)

    def to_facts(self) -> ScanFacts:
        fields = set(ScanFacts.model_fields) - {"services"}
        return ScanFacts.model_validate({**self.model_dump(include=fields), "services": self.services.to_facts()})
