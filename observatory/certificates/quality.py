"""Quality facts about the leaf and the path, for the check catalogue: lifetime, keys, signatures, stapling."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from observatory.certificates.model import CertificateQuality, OcspStaple, QualityIssue
from observatory.certificates.parse import WEAK_HASHES, ParsedCertificate, is_self_signed, key_info, signature_hash

#: "Expires soon" horizon, counted from the scan's time.
EXPIRY_WARNING_DAYS = 30
#: Below these sizes a key is weak (RFC 9325 §4.5 for RSA; EC under P-224 is below any profile).
_MIN_BITS = {"RSA": 2048, "DSA": 2048, "EC": 224}
_MAX_STAPLE_BYTES = 64 * 1024


def assess_quality(
    chain: Sequence[ParsedCertificate],
    path: Sequence[x509.Certificate],
    at: datetime,
    *,
    staple_observed: bool,
    staple: bytes | None,
) -> CertificateQuality:
    """``chain`` as sent (parsed, leaf first) and the trust path (possibly partial), judged at ``at``."""
    leaf = chain[0]
    summary = leaf.summary
    remaining = summary.not_after - at
    expired, not_yet_valid = remaining < timedelta(0), summary.not_before > at
    sent_index = {c.der: c.index for c in chain}
    subjects = {c.der: c.summary.subject for c in chain}
    return CertificateQuality(
        expired=expired,
        not_yet_valid=not_yet_valid,
        expires_soon=not expired and not not_yet_valid and remaining <= timedelta(days=EXPIRY_WARNING_DAYS),
        days_remaining=math.floor(remaining / timedelta(days=1)),
        self_signed_leaf=summary.self_signed,
        leaf_key=summary.key,
        weak_keys=_weak_keys(_everything(chain, path), sent_index, subjects),
        weak_signatures=_weak_signatures(chain, path, sent_index),
        must_staple=summary.must_staple,
        staple_present=(staple is not None) if staple_observed else None,
        staple=read_staple(staple, leaf.cert, at) if staple_observed and staple is not None else None,
    )


def _everything(chain: Sequence[ParsedCertificate], path: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    seen: dict[x509.Certificate, None] = dict.fromkeys(c.cert for c in chain)
    seen.update(dict.fromkeys(path))
    return list(seen)


def _weak_keys(
    certs: Sequence[x509.Certificate], sent_index: dict[bytes, int], subjects: dict[bytes, str]
) -> list[QualityIssue]:
    issues = []
    for cert in certs:
        key = key_info(cert)
        floor = _MIN_BITS.get(key.type)
        if floor is not None and key.bits is not None and key.bits < floor:
            der = cert.public_bytes(Encoding.DER)
            subject = subjects.get(der) or cert.subject.rfc4514_string()
            issues.append(
                QualityIssue(
                    detail=f"{key.type} key of {key.bits} bits (at least {floor} wanted)",
                    certificate=subject,
                    sent_index=sent_index.get(der),
                )
            )
    return issues


def _weak_signatures(
    chain: Sequence[ParsedCertificate], path: Sequence[x509.Certificate], sent_index: dict[bytes, int]
) -> list[QualityIssue]:
    """MD5/SHA-1 signatures on the leaf, the path and the sent certificates, roots (self-signed CAs) excepted."""
    candidates = _everything(chain, path)
    issues = []
    for position, cert in enumerate(candidates):
        if position > 0 and is_self_signed(cert):
            continue  # a root's own signature is never checked by anyone
        algorithm = signature_hash(cert)
        if algorithm in WEAK_HASHES:
            der = cert.public_bytes(Encoding.DER)
            issues.append(
                QualityIssue(
                    detail=f"signed with {algorithm.upper()}",
                    certificate=cert.subject.rfc4514_string(),
                    sent_index=sent_index.get(der),
                )
            )
    return issues


def read_staple(data: bytes, leaf: x509.Certificate, at: datetime) -> OcspStaple:
    """What a stapled OCSP response says about ``leaf`` (its signature is not checked here)."""
    if len(data) > _MAX_STAPLE_BYTES:
        return OcspStaple(response_status="unparseable", error=f"{len(data)} bytes, beyond {_MAX_STAPLE_BYTES}")
    try:
        response = ocsp.load_der_ocsp_response(data)
        status = response.response_status.name.lower().replace("_", "-")
        if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
            return OcspStaple(response_status=status)
        for single in response.responses:
            if single.serial_number != leaf.serial_number:
                continue
            digest = hashes.Hash(single.hash_algorithm)
            digest.update(leaf.issuer.public_bytes())
            this_update, next_update = single.this_update_utc, single.next_update_utc
            return OcspStaple(
                response_status=status,
                certificate_status=single.certificate_status.name.lower(),
                for_leaf=digest.finalize() == single.issuer_name_hash,
                this_update=this_update,
                next_update=next_update,
                current=this_update <= at and (next_update is None or at <= next_update),
            )
        return OcspStaple(response_status=status, for_leaf=False, error="no response for the leaf's serial number")
    except Exception as exc:  # the staple is the server's bytes: a failure to read it is a fact
        return OcspStaple(response_status="unparseable", error=str(exc))
