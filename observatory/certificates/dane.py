"""DANE for XMPP (RFC 7673 over RFC 6698/7671): do an endpoint's TLSA records match its chain?

DANE applies only when the SRV answer that named the endpoint and the TLSA RRset are both
DNSSEC-secure; otherwise the records are not authenticated and clients ignore them. A TLSA answer
that fails validation (or a failed lookup) under a secure SRV answer is ``invalid``: a DANE client
must not connect then, or an attacker could strip the records.

Usages, per RFC 7671: DANE-EE(3) matches the server's certificate or key and nothing else (names
and dates are not checked); DANE-TA(2) matches a CA sent in the chain (or, with ``2 1 0``, the key
that signed one), then the chain up to it must verify and be in date, and the certificate must
name the domain or the SRV target; PKIX-TA(0)/PKIX-EE(1) additionally need ordinary PKIX trust.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_der_public_key

from observatory.certificates.model import CertificateAnalysis, DaneResult, DaneStatus, TlsaRecordResult
from observatory.certificates.parse import ParsedCertificate, directly_issued_by, parse_chain, signed_by_key, spki_of
from scanners.dns.facts import DnssecState, DnssecStatus, TlsaLookup, TlsaRecord

USAGES = {0: "PKIX-TA", 1: "PKIX-EE", 2: "DANE-TA", 3: "DANE-EE"}
_DIGEST_SIZES = {1: 32, 2: 64}
#: Full certificates or keys (matching type 0) larger than this are not believable TLSA data.
_MAX_FULL_BYTES = 64 * 1024


def match_dane(
    chain_der: Sequence[bytes],
    tlsa_lookup: TlsaLookup | None,
    srv_dnssec: DnssecStatus | None,
    *,
    certificate: CertificateAnalysis | None = None,
    address_dnssec: DnssecStatus | None = None,
) -> DaneResult:
    """The DANE status of one endpoint.

    ``srv_dnssec`` is the DNSSEC state of the SRV answer the endpoint came from (for an A/AAAA
    fallback endpoint, pass that of the domain's addresses). ``certificate`` is the endpoint's
    ``analyse_chain`` result: DANE-TA needs its identity verdict, PKIX-TA/EE its trust and path;
    without it those usages cannot match. ``address_dnssec``, when given, must be secure too.
    """
    name = tlsa_lookup.name if tlsa_lookup is not None else None

    def result(status: DaneStatus, reason: str, records: list[TlsaRecordResult] | None = None) -> DaneResult:
        return DaneResult(status=status, reason=reason, tlsa_name=name, records=records or [])

    gate = _not_secure("SRV answer", srv_dnssec)
    if gate:
        return result(DaneStatus.NOT_APPLICABLE, f"{gate}, so DANE does not apply (RFC 7673)")
    gate = _not_secure("target's address records", address_dnssec) if address_dnssec is not None else None
    if gate:
        return result(DaneStatus.NOT_APPLICABLE, f"{gate}, so DANE does not apply")
    if tlsa_lookup is None:
        return result(DaneStatus.NOT_APPLICABLE, "no TLSA lookup was made for this endpoint")
    tlsa_state = tlsa_lookup.dnssec.state if tlsa_lookup.dnssec else None
    if tlsa_lookup.error or tlsa_state in (DnssecState.BOGUS, DnssecState.INDETERMINATE):
        why = tlsa_lookup.error or (tlsa_lookup.dnssec.reason if tlsa_lookup.dnssec else None) or tlsa_state
        return result(
            DaneStatus.INVALID,
            f"the TLSA lookup at {name} failed ({why}) although the SRV answer is secure: "
            "a DANE client must not connect",
        )
    if not tlsa_lookup.records:
        proof = "DNSSEC proves" if tlsa_state is DnssecState.SECURE else "the (unsigned) zone says"
        return result(DaneStatus.ABSENT, f"{proof} there are no TLSA records at {name}")
    if tlsa_state is not DnssecState.SECURE:
        return result(
            DaneStatus.NOT_APPLICABLE,
            f"TLSA records exist at {name} but are not DNSSEC-secure ({tlsa_state or 'unknown'}): clients ignore them",
        )

    chain, _ = parse_chain(tuple(chain_der))
    records = [_judge(i, record, chain, certificate) for i, record in enumerate(tlsa_lookup.records)]
    usable = [r for r in records if r.usable]
    matched = [r for r in usable if r.matched]
    if matched:
        first = matched[0]
        how = f"{USAGES[first.usage]} {first.usage} {first.selector} {first.matching_type}"
        return result(DaneStatus.VALID, f"TLSA record #{first.index} ({how}) matches: {first.reason}", records)
    if not usable:
        return result(
            DaneStatus.NOT_APPLICABLE,
            f"none of the {len(records)} TLSA records is usable (unknown parameters or malformed data)",
            records,
        )
    return result(
        DaneStatus.INVALID,
        f"none of the {len(usable)} usable TLSA records matches the chain: a DANE client will not connect",
        records,
    )


def _not_secure(what: str, status: DnssecStatus | None) -> str | None:
    if status is None:
        return f"the DNSSEC state of the {what} is unknown"
    if status.state is DnssecState.SECURE:
        return None
    detail = f": {status.reason}" if status.reason else ""
    return f"the {what} is not DNSSEC-secure ({status.state.value}{detail})"


def _judge(
    index: int, record: TlsaRecord, chain: list[ParsedCertificate], certificate: CertificateAnalysis | None
) -> TlsaRecordResult:
    def outcome(usable: bool, matched: bool, reason: str, cert: int | None = None) -> TlsaRecordResult:
        return TlsaRecordResult(
            index=index,
            usage=record.usage,
            selector=record.selector,
            matching_type=record.matching_type,
            usable=usable,
            matched=matched,
            certificate=cert,
            reason=reason,
        )

    unusable = _unusable(record)
    if unusable:
        return outcome(False, False, unusable)
    data = bytes.fromhex(record.data)
    if not chain or chain[0].index != 0:
        return outcome(True, False, "the server's certificate could not be read")
    if record.usage == 3:
        if _matches(record, chain[0].der, chain[0].spki, data):
            return outcome(True, True, f"the server's {_what(record)}", 0)
        return outcome(True, False, f"the server's {_what(record)} differs")
    if record.usage == 2:
        return outcome(True, *_dane_ta(record, data, chain, certificate))
    return outcome(True, *_pkix(record, data, chain, certificate))


def _unusable(record: TlsaRecord) -> str | None:
    if record.usage not in USAGES:
        return f"unknown certificate usage {record.usage}"
    if record.selector not in (0, 1):
        return f"unknown selector {record.selector}"
    if record.matching_type not in (0, 1, 2):
        return f"unknown matching type {record.matching_type}"
    try:
        data = bytes.fromhex(record.data)
    except ValueError:
        return "the association data is not hexadecimal"
    size = _DIGEST_SIZES.get(record.matching_type)
    if size is not None and len(data) != size:
        return f"{len(data)} bytes of data where matching type {record.matching_type} needs {size}"
    if record.matching_type == 0 and not 0 < len(data) <= _MAX_FULL_BYTES:
        return f"{len(data)} bytes of full data"
    return None


def _what(record: TlsaRecord) -> str:
    return "public key" if record.selector == 1 else "certificate"


def _matches(record: TlsaRecord, der: bytes, spki: bytes, data: bytes) -> bool:
    selected = spki if record.selector == 1 else der
    if record.matching_type == 1:
        return hashlib.sha256(selected).digest() == data
    if record.matching_type == 2:
        return hashlib.sha512(selected).digest() == data
    return selected == data


def _dane_ta(
    record: TlsaRecord, data: bytes, chain: list[ParsedCertificate], certificate: CertificateAnalysis | None
) -> tuple[bool, str, int | None]:
    leaf = chain[0]
    anchor = next((c for c in chain[1:] if _matches(record, c.der, c.spki, data)), None)
    index = anchor.index if anchor is not None else None
    if anchor is not None:
        below = _chain_up_to(leaf, chain, lambda cert: directly_issued_by(cert, anchor.cert))
        what = f"trust anchor #{anchor.index}"
    elif record.selector == 1 and record.matching_type == 0:
        # ``2 1 0`` may publish the TA's key alone; the server then need not send the TA.
        key = _public_key(data)
        below = _chain_up_to(leaf, chain, lambda cert: signed_by_key(cert, key)) if key is not None else None
        if below is None:
            return False, "no sent certificate is signed by the published key", None
        what = "published trust-anchor key"
    else:
        return False, "no CA certificate sent matches it", None
    if below is None:
        return False, "a sent CA matches, but the server's certificate does not chain to it", index
    if certificate is None:
        return False, "a trust anchor matches; the name check needs the certificate analysis", index
    # The TA's own dates do not matter (RFC 7671 §5.2.2: it is a trust anchor); those below it do.
    stale = _out_of_date(below, certificate.analysed_at)
    if stale:
        return False, f"a trust anchor matches, but {stale}", index
    if not (certificate.identity_matches or certificate.srv_target_matches):
        return False, "a trust anchor matches, but the certificate names neither the domain nor the SRV target", index
    return True, f"the chain leads to the {what}", index


def _public_key(data: bytes) -> object | None:
    try:
        return load_der_public_key(data)
    except Exception:  # not a key at all
        return None


def _chain_up_to(
    leaf: ParsedCertificate, chain: list[ParsedCertificate], signed_by_anchor: Callable[[x509.Certificate], bool]
) -> list[x509.Certificate] | None:
    """The certificates from the leaf up to the one the trust anchor signed, each signed by the next."""
    path = [leaf.cert]
    pool = [c.cert for c in chain[1:]]
    for _ in range(len(chain)):
        current = path[-1]
        if signed_by_anchor(current):
            return path
        issuer = next((c for c in pool if c not in path and directly_issued_by(current, c)), None)
        if issuer is None:
            return None
        path.append(issuer)
    return None


def _out_of_date(certs: Sequence[x509.Certificate], at: datetime | None) -> str | None:
    if at is None:
        return None
    for cert in certs:
        if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            return f"{cert.subject.rfc4514_string()} is not valid at the scan's time"
    return None


def _pkix(
    record: TlsaRecord, data: bytes, chain: list[ParsedCertificate], certificate: CertificateAnalysis | None
) -> tuple[bool, str, int | None]:
    if certificate is None:
        return False, "PKIX usages need the certificate analysis (trust and names)", None
    if record.usage == 1:
        if not _matches(record, chain[0].der, chain[0].spki, data):
            return False, f"the server's {_what(record)} differs", None
        candidate: int | None = 0
    else:
        candidate = _pkix_anchor(record, data, chain, certificate)
        if candidate is None:
            return False, "no CA on the trust path matches it", None
        candidate = None if candidate < 0 else candidate
    if not certificate.trusted:
        return False, "it matches, but PKIX-TA/EE also need a trusted chain and this one is not", candidate
    if not (certificate.identity_matches or certificate.srv_target_matches):
        return False, "it matches, but the certificate names neither the domain nor the SRV target", candidate
    return (
        True,
        f"the {'server certificate' if record.usage == 1 else 'trust path'} matches and is PKIX-valid",
        candidate,
    )


def _pkix_anchor(
    record: TlsaRecord, data: bytes, chain: list[ParsedCertificate], certificate: CertificateAnalysis
) -> int | None:
    """Sent index of the path CA that matches (-1 for an anchor the server did not send), or None."""
    sent = {c.index: c for c in chain}
    for entry in certificate.path[1:]:
        if entry.sent_index is not None and entry.sent_index in sent:
            mine = sent[entry.sent_index]
            if _matches(record, mine.der, mine.spki, data):
                return entry.sent_index
        elif entry.der is not None:
            try:
                cert = x509.load_der_x509_certificate(entry.der)
            except ValueError:
                continue
            if _matches(record, entry.der, spki_of(cert), data):
                return -1
    return None
