"""The HTML report: Jinja2 partials under ``reports/templates/report/`` that the website includes,
and the pure helpers they use to present a result document.

Every string of a result may come from a server we do not control; templates are rendered with
autoescape on and never mark remote data safe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from observatory.catalogue import SERVER_NAMES, SERVERS, TESTBED_SERVERS, CatalogueEntry, catalogue
from observatory.certificates.model import (
    CertificateSummary,
    PublicKeyInfo,
    SubjectAltNames,
    TlsaRecordResult,
)
from observatory.certificates.parse import MAX_CHAIN, parse_chain
from observatory.grading import CAPS
from observatory.model import (
    ComplianceItem,
    ComplianceOutcome,
    ComplianceStatus,
    Endpoint,
    Finding,
    Grade,
    ProfileResult,
    ScanResult,
    Service,
    Severity,
)
from reports.text import DISCOVERY_WORDS
from reports.text import NOTHING_LEARNT as NOTHING_LEARNT  # for the templates
from reports.text import _versions as text_versions  # one definition of version ranges
from reports.text import resolver_failure as resolver_failure  # for the templates
from scanners.base import ProbeError
from scanners.dns.facts import DnssecStatus, ServiceStatus, TlsaRecord
from scanners.stream.facts import StreamFeatures, StreamHeader, StreamTimings
from scanners.tls.facts import CertificateDeployment, TlsFacts, TlsVersion
from scanners.tls.registry import by_name

TEMPLATES = Path(__file__).parent / "templates"

SEVERITY_ORDER = [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO]


def grade_class(letter: str | None) -> str:
    """A CSS class per grade family (the colour comes from the site's stylesheet)."""
    if letter is None:
        return "grade-none"
    return {"A+": "grade-a", "A": "grade-a", "A-": "grade-a", "B": "grade-b", "C": "grade-c"}.get(letter, "grade-f")


def services(result: ScanResult) -> list[tuple[str, Service]]:
    return [(name, service) for name in ("c2s", "s2s") if (service := getattr(result.services, name)) is not None]


def cap_reasons(service: Service) -> list[str]:
    """Every distinct reason that capped an endpoint of the service, worst endpoints first."""
    seen: list[str] = []
    for endpoint in service.endpoints:
        for cap in endpoint.grade.caps if endpoint.grade else []:
            line = f"{cap.reason} (max {cap.grade})" if cap.finding else cap.reason
            if line not in seen:
                seen.append(line)
    return seen


def if_trusted(grade: Grade | None) -> str | None:
    return grade.if_trusted if grade is not None and grade.letter == "T" else None


def findings_by_severity(result: ScanResult) -> list[tuple[Severity, list[tuple[Finding, CatalogueEntry | None]]]]:
    entries = catalogue()
    groups = []
    for severity in SEVERITY_ORDER:
        found = [(f, entries.get(f.id)) for f in result.findings if f.severity is severity]
        if found:
            groups.append((severity, found))
    return groups


def fixes(entry: CatalogueEntry | None) -> list[tuple[str, str | None, str | None, str | None]]:
    """(server name, snippet, reason there is none, the testbed server and streams it was proven on) per server."""
    if entry is None:
        return []
    rows = []
    for server in SERVERS:
        snippet, reason = entry.fix_for(server)
        if snippet or reason:
            proven_on = None
            if server in entry.proven:
                streams = "client streams only" if server in entry.proven_c2s_only else "client and server streams"
                proven_on = f"{TESTBED_SERVERS[server]}, on {streams},"
            rows.append((SERVER_NAMES[server], snippet, reason, proven_on))
    return rows


def grade_cap(finding_id: str) -> str | None:
    return CAPS.get(finding_id)


def safe_url(url: str | None) -> str | None:
    """The URL if it is http(s), else None: a remote server's link must never become ``javascript:``."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in {"http", "https"} else None


def endpoints(result: ScanResult) -> Iterable[Endpoint]:
    for _, service in services(result):
        yield from service.endpoints


# --- The details section: per-endpoint facts laid out for tables ---------------------------------
#
# The partials under ``templates/report/`` read the result through these helpers so that the
# templates stay layout only. Nothing here judges anything: it re-shapes what the document holds.

#: Absent facts read as a dash, never as "no": not observed is not the same as observed false.
NOT_SEEN = "—"


def yes_no(value: bool | None) -> str:
    return NOT_SEEN if value is None else ("yes" if value else "no")


def version_range(versions: list[TlsVersion]) -> str:
    """``1.2–1.3`` style, the same words as the text report."""
    return text_versions(versions) if versions else NOT_SEEN


@dataclass(frozen=True)
class SuiteRow:
    name: str
    #: From the suite registry; None for codes it does not know (``UNKNOWN_0x…``).
    kx: str | None
    auth: str | None
    cipher: str | None
    bits: int | None
    forward_secrecy: bool | None
    aead: bool | None


@dataclass(frozen=True)
class VersionSuites:
    version: TlsVersion
    #: None: no order to tell (fewer than two suites, SSLv2).
    server_order: bool | None
    suites: list[SuiteRow]


def suites_by_version(tls: TlsFacts) -> list[VersionSuites]:
    """Accepted suites per version, newest version first, each list in the order the facts keep."""
    rows = []
    for version in sorted(tls.cipher_suites, key=list(TlsVersion).index, reverse=True):
        suites = []
        for name in tls.cipher_suites[version]:
            known = by_name(name)
            suites.append(
                SuiteRow(
                    name=name,
                    kx=known.kx if known else None,
                    auth=known.auth if known else None,
                    cipher=known.cipher if known else None,
                    bits=known.bits if known else None,
                    forward_secrecy=known.fs if known else None,
                    aead=known.aead if known else None,
                )
            )
        rows.append(VersionSuites(version=version, server_order=tls.server_order.get(version), suites=suites))
    return rows


def order_words(server_order: bool | None) -> str:
    if server_order is None:
        return "no order to tell"
    return "server's order" if server_order else "client's order"


def groups_by_version(tls: TlsFacts) -> list[tuple[TlsVersion, list[str], bool | None]]:
    """(version, named groups in the server's or offered order, whether the server imposes it)."""
    return [
        (version, tls.groups[version], tls.groups_server_order.get(version))
        for version in sorted(tls.groups, key=list(TlsVersion).index, reverse=True)
    ]


def extension_rows(tls: TlsFacts) -> list[tuple[str, str]]:
    """Legacy extension behaviour and the other handshake facts, as (what, observed) lines."""
    rows: list[tuple[str, str]] = []
    ext = tls.extensions
    if ext is not None:
        rows += [
            ("Hello negotiated", f"{ext.version.value}, {ext.cipher_suite}"),
            ("Compression (DEFLATE, LZS offered)", ext.compression or "none"),
            ("Secure renegotiation (RFC 5746)", yes_no(ext.secure_renegotiation)),
            ("Extended master secret (RFC 7627)", yes_no(ext.extended_master_secret)),
            ("Encrypt-then-MAC (RFC 7366)", yes_no(ext.encrypt_then_mac)),
            ("Session ticket extension (RFC 5077)", yes_no(ext.session_ticket)),
            ("OCSP status_request (RFC 6066)", yes_no(ext.status_request)),
            ("Heartbeat (RFC 6520)", yes_no(ext.heartbeat)),
        ]
        heartbleed = yes_no(ext.heartbleed)
        if ext.heartbleed and ext.heartbleed_overread:
            heartbleed += f" ({ext.heartbleed_overread} bytes over-read)"
        rows.append(("Heartbleed (CVE-2014-0160)", heartbleed))
        rows.append(("Early ChangeCipherSpec taken (CCS injection, CVE-2014-0224)", yes_no(ext.ccs_injection)))
    rows.append(("TLS_FALLBACK_SCSV refused downgrade (RFC 7507)", yes_no(tls.fallback_scsv)))
    if tls.downgrade_sentinel is not None:
        rows.append(("TLS 1.3 downgrade sentinel (RFC 8446 §4.1.3)", yes_no(tls.downgrade_sentinel)))
    if tls.client_renegotiation is not None:
        rows.append(("Client-initiated renegotiation accepted", yes_no(tls.client_renegotiation)))
    if tls.robot is not None:
        robot = "inconsistent answers" if tls.robot.vulnerable is None else yes_no(tls.robot.vulnerable)
        if tls.robot.vulnerable:
            robot += f" ({tls.robot.oracle} oracle)"
        rows.append((f"ROBOT (RSA key exchange, {tls.robot.version.value})", robot))
    if tls.ecdhe_curve:
        rows.append(("ECDHE curve (all groups offered)", tls.ecdhe_curve))
    ticket = tls.session_ticket
    if ticket is not None:
        issued = yes_no(ticket.issued) if ticket.issued is not None else "not visible (TLS 1.3)"
        if ticket.lifetime_hint_seconds is not None:
            issued += f", lifetime hint {ticket.lifetime_hint_seconds} s"
        rows.append((f"Session ticket in a full {ticket.version.value} handshake", issued))
    stapled = "not requested" if not tls.ocsp_staple_requested else ("yes" if tls.ocsp_staple else "no")
    rows.append(("OCSP staple", stapled))
    return rows


def chain_summaries(endpoint: Endpoint) -> list[CertificateSummary]:
    """The chain as sent, parsed: from the analysis when there is one, else from the DER (older
    documents, or results whose judgment left the analysis out)."""
    if endpoint.certificate is not None and endpoint.certificate.certificates:
        return endpoint.certificate.certificates
    chain = endpoint.tls.certificate_chain if endpoint.tls else []
    return parsed_chain(chain)


def parsed_chain(chain: list[bytes]) -> list[CertificateSummary]:
    """Summaries of the readable certificates of a DER chain; unreadable ones are left out."""
    if not chain:
        return []
    parsed, _problems = parse_chain(chain)
    return [certificate.summary for certificate in parsed]


def unreadable_certificates(endpoint: Endpoint) -> int:
    """How many certificates of the chain as sent could not be parsed."""
    chain = endpoint.tls.certificate_chain if endpoint.tls else []
    return max(0, min(len(chain), MAX_CHAIN) - len(chain_summaries(endpoint)))


def other_deployments(tls: TlsFacts) -> list[tuple[CertificateDeployment, CertificateSummary | None]]:
    """Every distinct chain the server holds, with its leaf parsed (None when unreadable)."""
    rows = []
    for deployment in tls.certificates:
        leaves = parsed_chain(deployment.chain[:1])
        rows.append((deployment, leaves[0] if leaves else None))
    return rows


def alt_names(names: SubjectAltNames | None) -> list[tuple[str, list[str]]]:
    """(label, values) for every SAN type present, XMPP identities named as RFC 6120 does."""
    if names is None:
        return []
    rows = [
        ("DNS-ID", names.dns),
        ("SRV-ID", names.srv),
        ("XmppAddr", names.xmpp_addr),
        ("URI", names.uri),
        ("Email", names.email),
        ("IP address", names.ip),
        ("Directory name", names.directory),
        ("Registered ID", names.registered_id),
        ("otherName", [f"{other.oid} = {other.value}" for other in names.other]),
        ("Unreadable", names.problems),
    ]
    return [(label, values) for label, values in rows if values]


def key_text(key: PublicKeyInfo) -> str:
    parts = [key.type]
    if key.bits:
        parts.append(f"{key.bits} bits")
    if key.curve:
        parts.append(key.curve)
    return " ".join(parts)


def days_left(summary: CertificateSummary, at: datetime | None) -> int | None:
    """Whole days from ``at`` (the scan's time) to notAfter; negative once expired."""
    if at is None:
        return None
    return (summary.not_after - at).days


def tlsa_rows(endpoint: Endpoint) -> list[tuple[TlsaRecord | None, TlsaRecordResult | None]]:
    """Each TLSA record as published, with how it fared against the chain (None: not judged)."""
    records = endpoint.tlsa.records if endpoint.tlsa else []
    judged = {result.index: result for result in endpoint.dane.records} if endpoint.dane else {}
    rows: list[tuple[TlsaRecord | None, TlsaRecordResult | None]] = [
        (record, judged.get(index)) for index, record in enumerate(records)
    ]
    # A judgment whose record is not in the lookup (documents edited by hand) is still shown.
    rows += [(None, result) for index, result in judged.items() if index >= len(records)]
    return rows


TLSA_USAGE = {0: "PKIX-TA", 1: "PKIX-EE", 2: "DANE-TA", 3: "DANE-EE"}
TLSA_SELECTOR = {0: "Cert", 1: "SPKI"}
TLSA_MATCHING = {0: "Full", 1: "SHA-256", 2: "SHA-512"}


def tlsa_words(usage: int, selector: int, matching_type: int) -> str:
    """``3 1 1 (DANE-EE SPKI SHA-256)``: the numbers as published and their RFC 7218 names."""
    names = [
        TLSA_USAGE.get(usage, "?"),
        TLSA_SELECTOR.get(selector, "?"),
        TLSA_MATCHING.get(matching_type, "?"),
    ]
    return f"{usage} {selector} {matching_type} ({' '.join(names)})"


def dnssec_rows(endpoint: Endpoint) -> list[tuple[str, DnssecStatus | None]]:
    """The DNSSEC state of each RRset the endpoint was derived from."""
    dnssec = endpoint.dnssec
    if dnssec is None:
        return []
    return [("SRV", dnssec.srv), ("Address (A/AAAA)", dnssec.address), ("TLSA", dnssec.tlsa)]


def discovery_words(service: Service) -> str:
    """How the endpoints were found, in the text report's words."""
    if service.status is None:
        return NOT_SEEN
    if service.status is ServiceStatus.NONE and any(lookup.error for lookup in service.srv):
        return "nothing: the DNS lookups failed"
    return DISCOVERY_WORDS.get(service.status.value, service.status.value)


def _listing(values: list[str]) -> str:
    return ", ".join(values) if values else NOT_SEEN


def feature_rows(before: StreamFeatures | None, after: StreamFeatures | None) -> list[tuple[str, str, str]]:
    """(feature, before TLS, after TLS) for every feature either list offered."""

    def starttls(features: StreamFeatures) -> str:
        if not features.starttls:
            return "no"
        return "required" if features.starttls_required else "offered"

    def sasl2(features: StreamFeatures) -> str:
        if features.sasl2 is None:
            return NOT_SEEN
        text = _listing(features.sasl2.mechanisms)
        if features.sasl2.inline:
            text += f"; inline: {', '.join(features.sasl2.inline)}"
        if features.sasl2.fast is not None:
            fast = _listing(features.sasl2.fast.mechanisms)
            text += f"; FAST: {fast}{' (0-RTT)' if features.sasl2.fast.tls_0rtt else ''}"
        return text

    def caps(features: StreamFeatures) -> str:
        if features.caps is None:
            return NOT_SEEN
        return " ".join(f"{name}={value}" for name, value in features.caps if value is not None) or "present"

    rows: list[tuple[str, Callable[[StreamFeatures], str]]] = [
        ("STARTTLS", starttls),
        ("SASL mechanisms", lambda f: _listing(f.sasl_mechanisms)),
        ("Channel bindings (XEP-0440)", lambda f: _listing(f.channel_bindings)),
        ("SASL2 (XEP-0388)", sasl2),
        ("Compression", lambda f: _listing(f.compression_methods)),
        ("In-band registration", lambda f: yes_no(f.registration)),
        (
            "Dialback (XEP-0220)",
            lambda f: ("yes, with errors" if f.dialback_errors else "yes") if f.dialback else "no",
        ),
        ("Bidirectional s2s (XEP-0288)", lambda f: yes_no(f.bidi)),
        ("Stream management (XEP-0198)", lambda f: _listing(f.stream_management)),
        ("Client state indication", lambda f: yes_no(f.csi)),
        ("Entity capabilities", caps),
        ("Other features", lambda f: _listing(f.other)),
    ]
    return [(label, show(before) if before else NOT_SEEN, show(after) if after else NOT_SEEN) for label, show in rows]


def header_rows(before: StreamHeader | None, after: StreamHeader | None) -> list[tuple[str, str, str]]:
    """(attribute, first header, header after STARTTLS) for the server's ``<stream:stream>`` tags."""

    def rows(header: StreamHeader | None) -> list[tuple[str, str]]:
        if header is None:
            return []
        return [
            ("from", header.from_ or NOT_SEEN),
            ("to", header.to or NOT_SEEN),
            ("id", header.id or NOT_SEEN),
            ("version", header.version or NOT_SEEN),
            ("xml:lang", header.lang or NOT_SEEN),
            ("namespace", header.namespace or NOT_SEEN),
            ("xmlns:db (dialback)", yes_no(header.dialback)),
            ("XML declaration", yes_no(header.xml_declaration)),
        ]

    first, second = rows(before), rows(after)
    labels = [label for label, _ in first or second]
    return [(label, dict(first).get(label, NOT_SEEN), dict(second).get(label, NOT_SEEN)) for label in labels]


def timing_rows(timings: StreamTimings) -> list[tuple[str, str]]:
    return [(name.replace("_", " "), f"{value:.3f} s") for name, value in timings if value is not None]


@dataclass(frozen=True)
class ProfileEndpointRow:
    endpoint: str
    status: ComplianceStatus
    #: (item, outcome) for every item that did not pass, in the profile's order.
    outcomes: list[tuple[ComplianceItem | None, ComplianceOutcome]]
    notes: list[str]


def profile_rows(profile: ProfileResult) -> list[ProfileEndpointRow]:
    """Per endpoint, the items that failed or could not be evaluated (passes and N/A are counted only)."""
    items = {item.id: item for item in profile.items}
    shown = (ComplianceStatus.FAIL, ComplianceStatus.NOT_EVALUATED)
    return [
        ProfileEndpointRow(
            endpoint=endpoint.endpoint,
            status=endpoint.status,
            outcomes=[(items.get(o.item), o) for o in endpoint.outcomes if o.status in shown],
            notes=endpoint.notes,
        )
        for endpoint in profile.endpoints
    ]


def outcome_counts(profile: ProfileResult) -> dict[str, int]:
    """Outcomes of every endpoint by status, for the profile's summary line."""
    counts = {status.value: 0 for status in ComplianceStatus}
    for endpoint in profile.endpoints:
        for outcome in endpoint.outcomes:
            counts[outcome.status.value] += 1
    return counts


def endpoint_errors(endpoint: Endpoint) -> list[tuple[str, ProbeError]]:
    """Every error met on the endpoint, labelled with the probe that met it."""
    errors = [("endpoint", error) for error in endpoint.errors]
    if endpoint.stream is not None:
        errors += [("stream", error) for error in endpoint.stream.errors]
    if endpoint.tls is not None:
        errors += [("TLS", error) for error in endpoint.tls.errors]
    return errors


def anchor_id(endpoint: Endpoint) -> str:
    """A fragment id for the endpoint's details (endpoint ids hold ``/``, ``:``, ``[``)."""
    return "endpoint-" + "".join(c if c.isalnum() or c in "-." else "-" for c in endpoint.id)
