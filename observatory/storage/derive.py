"""The columns and rows derived from a judged result, so listings and statistics need no JSON.

Everything here is recomputed from the documents whenever a scan is saved or re-graded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from observatory.model import Endpoint, ScanResult, Service
from scanners.base import ServiceKind, Transport
from scanners.dns.facts import DnssecState
from scanners.stream.facts import StarttlsPolicy
from scanners.tls.facts import TlsVersion

#: Column of ``scan_endpoints`` for each protocol version (a test checks every version has one).
VERSION_COLUMNS: dict[TlsVersion, str] = {
    TlsVersion.SSL2: "ssl2",
    TlsVersion.SSL3: "ssl3",
    TlsVersion.TLS10: "tls10",
    TlsVersion.TLS11: "tls11",
    TlsVersion.TLS12: "tls12",
    TlsVersion.TLS13: "tls13",
}


def document(model: Any) -> dict[str, Any]:
    """A model as stored: the same JSON as ``--format json`` writes (aliases, base64 bytes)."""
    return model.model_dump(mode="json", by_alias=True)


def judged_columns(result: ScanResult) -> dict[str, Any]:
    """The ``scans`` columns that depend on the rules (rewritten by a re-grade)."""
    columns: dict[str, Any] = {"rules_version": result.rules_version}
    for kind in ServiceKind:
        service: Service | None = getattr(result.services, kind.value)
        grade = service.grade if service else None
        columns[f"{kind.value}_grade"] = grade.letter if grade else None
        columns[f"{kind.value}_score"] = grade.score if grade else None
    return columns


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    spki_sha256: str | None
    not_after: datetime | None
    issuer: str | None = None


#: Weakest first: an endpoint is only as secure as the weakest RRset it came from.
DNSSEC_ORDER = (DnssecState.BOGUS, DnssecState.INDETERMINATE, DnssecState.INSECURE, DnssecState.SECURE)
ISSUER_MAX = 256


def _issuer(certificate: x509.Certificate) -> str | None:
    for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME):
        values = certificate.issuer.get_attributes_for_oid(oid)
        if values:
            value = values[0].value
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            return text[:ISSUER_MAX]
    return None


def dnssec_state(endpoint: Endpoint) -> str | None:
    if endpoint.dnssec is None:
        return None
    states = [s.state for s in (endpoint.dnssec.srv, endpoint.dnssec.address, endpoint.dnssec.tlsa) if s is not None]
    return min(states, key=DNSSEC_ORDER.index).value if states else None


def starttls_enforced(endpoint: Endpoint) -> bool | None:
    stream = endpoint.stream
    if endpoint.transport is not Transport.STARTTLS or stream is None:
        return None
    # What the server did outweighs what it advertised.
    if stream.enforcement is not None and stream.enforcement.accepted is not None:
        return not stream.enforcement.accepted
    if stream.starttls is StarttlsPolicy.REQUIRED:
        return True
    return False if stream.starttls is StarttlsPolicy.ABSENT else None


def fingerprint(der: bytes) -> Fingerprint:
    """SHA-256 of the certificate and of its public key; the key's is None when the DER does not parse."""
    digest = hashlib.sha256(der).hexdigest()
    try:
        certificate = x509.load_der_x509_certificate(der)
        spki = certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return Fingerprint(
            digest, hashlib.sha256(spki).hexdigest(), certificate.not_valid_after_utc, _issuer(certificate)
        )
    except (ValueError, TypeError):
        # Unparsable or an unsupported key type: still counted by certificate, not by key.
        return Fingerprint(digest, None, None)


def endpoints_of(result: ScanResult) -> list[Endpoint]:
    return [
        endpoint
        for kind in ServiceKind
        if (service := getattr(result.services, kind.value)) is not None
        for endpoint in service.endpoints
    ]


def endpoint_columns(endpoint: Endpoint) -> dict[str, Any]:
    tls = endpoint.tls
    versions = set(tls.versions) if tls else set()
    suites = {suite for names in tls.cipher_suites.values() for suite in names} if tls else set()
    return {
        "key": endpoint.id,
        "kind": endpoint.kind.value,
        "transport": endpoint.transport.value,
        "target": endpoint.target,
        "port": endpoint.port,
        "address": endpoint.address,
        "starttls": endpoint.stream.starttls.value if endpoint.stream and endpoint.stream.starttls else None,
        **{column: (version in versions if tls else None) for version, column in VERSION_COLUMNS.items()},
        "cipher_suites": len(suites) if tls else None,
        "grade": endpoint.grade.letter if endpoint.grade else None,
        "score": endpoint.grade.score if endpoint.grade else None,
        "trusted": endpoint.certificate.trusted if endpoint.certificate else None,
        "identity_matches": endpoint.certificate.identity_matches if endpoint.certificate else None,
        "dane": endpoint.dane.status.value if endpoint.dane else None,
        "dnssec": dnssec_state(endpoint),
        "starttls_enforced": starttls_enforced(endpoint),
        "errors": len(endpoint.errors),
    }


def certificate_columns(endpoint: Endpoint) -> list[dict[str, Any]]:
    chain = endpoint.tls.certificate_chain if endpoint.tls else []
    return [{"position": position, **vars(fingerprint(der))} for position, der in enumerate(chain)]


def finding_columns(result: ScanResult) -> list[dict[str, Any]]:
    return [
        {
            "finding": finding.id,
            "severity": finding.severity.value,
            "service": finding.service.value if finding.service else None,
        }
        for finding in result.findings
    ]
