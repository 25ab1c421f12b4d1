"""POSH judgments (RFC 7711): does a published fingerprint match a certificate the server presented,
and was the document still valid when the certificate was seen?

Pure: it reads ``PoshFacts`` (what HTTPS discovery fetched) and the certificates the TLS engine saw.
A fingerprint is the hash of a whole DER certificate, base64-encoded, under a hash function's
textual name; any certificate of the presented chain may be the one pinned. ``expires`` is a number
of seconds counted from retrieval; behind a ``url`` reference the shorter lifetime wins.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from scanners.base import ErrorReason, FactModel, ProbeError
from scanners.http.facts import HttpFetch, PoshDocument, PoshFacts, PoshFingerprint, PoshService

#: Hash function textual names (IANA) we check → hashlib names. RFC 7711 requires sha-256.
HASHES = {"sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512"}


class PoshStatus(StrEnum):
    #: A fingerprint matches a presented certificate and the document had not expired.
    MATCH = "match"
    #: The document is valid but no fingerprint matches a presented certificate.
    MISMATCH = "mismatch"
    #: The document's lifetime had ended when the certificate was seen.
    STALE = "stale"
    #: Not published (404/410).
    ABSENT = "absent"
    #: Published but unusable: not JSON, no ``expires``, a bad reference, no usable fingerprint …
    INVALID = "invalid"
    #: Could not be retrieved: connection, TLS, timeout, a server error.
    UNAVAILABLE = "unavailable"
    #: A valid document, but no certificate was seen to compare it with.
    UNCHECKED = "unchecked"


class PoshMatch(FactModel):
    #: Position in the chain as presented (0 = the server's own certificate).
    chain_index: int
    algorithm: str


class PoshJudgment(FactModel):
    service: PoshService
    status: PoshStatus
    matches: list[PoshMatch] = []
    #: When the fingerprints stop being usable (retrieval + ``expires``).
    valid_until: datetime | None = None
    reason: str | None = None
    #: Published hash functions we do not check (they neither match nor mismatch).
    unsupported_algorithms: list[str] = []


@dataclass(frozen=True)
class CertificateDigests:
    """Digests of one certificate, when the DER itself is not at hand (``None``: not known)."""

    sha256: bytes
    sha384: bytes | None = None
    sha512: bytes | None = None

    @classmethod
    def from_der(cls, der: bytes) -> CertificateDigests:
        return cls(
            sha256=hashlib.sha256(der).digest(),
            sha384=hashlib.sha384(der).digest(),
            sha512=hashlib.sha512(der).digest(),
        )

    def digest(self, hash_name: str) -> bytes | None:
        return {"sha256": self.sha256, "sha384": self.sha384, "sha512": self.sha512}.get(hash_name)


class _Verdict(Exception):
    """A judgment reached before matching (absent, unavailable, invalid)."""

    def __init__(self, status: PoshStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _last(errors: Sequence[ProbeError]) -> str | None:
    return errors[-1].message if errors else None


def _retrieved(
    fetches: Sequence[HttpFetch], document: PoshDocument | None, what: str, absent: PoshStatus, problem: str | None
) -> PoshDocument:
    """The document, or the verdict that says why there is none."""
    if not fetches:
        raise _Verdict(PoshStatus.UNAVAILABLE, f"{what}: {problem or 'not requested'}")
    final = fetches[-1]
    if final.status is None:
        raise _Verdict(PoshStatus.UNAVAILABLE, f"{what}: {_last(final.errors) or 'no answer'}")
    if final.status in (404, 410):
        raise _Verdict(absent, f"{what}: HTTP {final.status}")
    if 300 <= final.status < 400:
        raise _Verdict(
            PoshStatus.INVALID,
            f"{what}: HTTP {final.status} redirect to {final.location}; POSH delegates with a 'url' reference",
        )
    if not 200 <= final.status < 300:
        raise _Verdict(PoshStatus.UNAVAILABLE, f"{what}: HTTP {final.status}")
    if final.errors:
        raise _Verdict(PoshStatus.UNAVAILABLE, f"{what}: {_last(final.errors)}")
    if document is None:
        raise _Verdict(PoshStatus.INVALID, f"{what}: {problem or 'could not be parsed'}")
    return document


def _documents(posh: PoshFacts) -> list[tuple[PoshDocument, HttpFetch]]:
    """The documents the fingerprints come from, each with the fetch that brought it."""
    document = _retrieved(posh.fetches, posh.document, posh.url, PoshStatus.ABSENT, _last(posh.errors))
    used = [(document, posh.fetches[-1])]
    if document.fingerprints or document.url is None:
        return used
    what = f"the referenced {document.url}"
    problem = _last(posh.reference_errors)
    if not posh.reference_fetches:
        # Not requested: refused as a reference (invalid), or we could not reach its host (unavailable).
        unusable = not posh.reference_errors or posh.reference_errors[-1].reason is ErrorReason.PROTOCOL
        status = PoshStatus.INVALID if unusable else PoshStatus.UNAVAILABLE
        raise _Verdict(status, f"{what}: {problem or 'not requested'}")
    target = _retrieved(posh.reference_fetches, posh.reference_document, what, PoshStatus.INVALID, problem)
    if not target.fingerprints:
        raise _Verdict(PoshStatus.INVALID, f"{what}: {problem or 'no fingerprints'}")
    return [*used, (target, posh.reference_fetches[-1])]


def _decode(fingerprint: PoshFingerprint) -> bytes | None:
    try:
        digest = base64.b64decode(fingerprint.value, validate=True)
    except (binascii.Error, ValueError):
        return None
    size = hashlib.new(HASHES[fingerprint.algorithm]).digest_size
    return digest if len(digest) == size else None


def judge_posh(
    posh: PoshFacts, chain: Sequence[bytes | CertificateDigests], *, at: datetime | None = None
) -> PoshJudgment:
    """Judge one service's POSH facts against the chain as presented (DER, or digests).

    ``at`` is when the chain was seen (default: when the POSH document was retrieved).
    """
    try:
        used = _documents(posh)
    except _Verdict as verdict:
        return PoshJudgment(service=posh.service, status=verdict.status, reason=verdict.reason)
    valid_until = min(fetch.started_at + timedelta(seconds=doc.expires or 0) for doc, fetch in used)
    fingerprints = used[-1][0].fingerprints
    unsupported = sorted({fp.algorithm for fp in fingerprints if fp.algorithm not in HASHES})

    def judged(status: PoshStatus, reason: str | None = None, matches: Sequence[PoshMatch] = ()) -> PoshJudgment:
        return PoshJudgment(
            service=posh.service,
            status=status,
            matches=list(matches),
            valid_until=valid_until,
            reason=reason,
            unsupported_algorithms=unsupported,
        )

    if (at or used[-1][1].started_at) > valid_until:
        return judged(PoshStatus.STALE, f"expired at {valid_until.isoformat()}")
    usable = [(fp.algorithm, digest) for fp in fingerprints if fp.algorithm in HASHES and (digest := _decode(fp))]
    if not usable:
        return judged(PoshStatus.INVALID, "no usable fingerprint (sha-256, sha-384 or sha-512, base64)")
    if not chain:
        return judged(PoshStatus.UNCHECKED, "no certificate was seen to compare with")
    digests = [item if isinstance(item, CertificateDigests) else CertificateDigests.from_der(item) for item in chain]
    matches = sorted(
        {
            PoshMatch(chain_index=index, algorithm=algorithm)
            for index, certificate in enumerate(digests)
            for algorithm, digest in usable
            if certificate.digest(HASHES[algorithm]) == digest
        },
        key=lambda match: (match.chain_index, match.algorithm),
    )
    if matches:
        return judged(PoshStatus.MATCH, matches=matches)
    return judged(PoshStatus.MISMATCH, "no fingerprint matches a presented certificate")
