"""POSH judgments: fingerprints against the presented chain, ``expires`` against the time judged."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

from observatory.posh import CertificateDigests, PoshMatch, PoshStatus, judge_posh
from scanners.base import ErrorReason, ProbeError
from scanners.http.facts import HttpFetch, PoshDocument, PoshFacts, PoshFingerprint, PoshService

LEAF = b"0\x82leaf certificate DER"
INTERMEDIATE = b"0\x82intermediate certificate DER"
OTHER = b"0\x82someone else's certificate"
FETCHED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
URL = "https://example.test/.well-known/posh/xmpp-server.json"
REFERENCE = "https://hosting.test/.well-known/posh/xmpp-server.json"


def fp(der: bytes, algorithm: str = "sha-256") -> PoshFingerprint:
    digest = hashlib.new(algorithm.replace("-", ""), der).digest()
    return PoshFingerprint(algorithm=algorithm, value=base64.b64encode(digest).decode())


def ok(url: str = URL, at: datetime = FETCHED, status: int = 200, **seen: object) -> HttpFetch:
    return HttpFetch(url=url, started_at=at, status=status, address="192.0.2.1", **seen)  # type: ignore[arg-type]


def published(*fingerprints: PoshFingerprint, expires: int = 3600) -> PoshFacts:
    document = PoshDocument(fingerprints=list(fingerprints), expires=expires)
    return PoshFacts(service=PoshService.SERVER, url=URL, fetches=[ok()], document=document)


def test_leaf_sha256_match() -> None:
    judgment = judge_posh(published(fp(LEAF)), [LEAF, INTERMEDIATE])
    assert judgment.status is PoshStatus.MATCH
    assert judgment.matches == [PoshMatch(chain_index=0, algorithm="sha-256")]
    assert judgment.valid_until == FETCHED + timedelta(hours=1)


def test_intermediate_sha512_match_and_unsupported_hashes_are_listed() -> None:
    judgment = judge_posh(published(fp(OTHER, "sha-1"), fp(INTERMEDIATE, "sha-512")), [LEAF, INTERMEDIATE])
    assert judgment.status is PoshStatus.MATCH
    assert judgment.matches == [PoshMatch(chain_index=1, algorithm="sha-512")]
    assert judgment.unsupported_algorithms == ["sha-1"]


def test_digests_can_stand_in_for_der() -> None:
    chain = [CertificateDigests(sha256=hashlib.sha256(LEAF).digest())]
    assert judge_posh(published(fp(LEAF)), chain).status is PoshStatus.MATCH
    # A sha-512 pin cannot be checked against a SHA-256 digest alone: it does not match.
    assert judge_posh(published(fp(LEAF, "sha-512")), chain).status is PoshStatus.MISMATCH


def test_mismatch() -> None:
    judgment = judge_posh(published(fp(OTHER), fp(OTHER, "sha-384")), [LEAF, INTERMEDIATE])
    assert judgment.status is PoshStatus.MISMATCH
    assert judgment.matches == []


def test_expires_counts_from_retrieval_to_the_time_judged() -> None:
    facts = published(fp(LEAF), expires=600)
    assert judge_posh(facts, [LEAF], at=FETCHED + timedelta(seconds=600)).status is PoshStatus.MATCH
    stale = judge_posh(facts, [LEAF], at=FETCHED + timedelta(seconds=601))
    assert stale.status is PoshStatus.STALE
    assert stale.reason == f"expired at {(FETCHED + timedelta(seconds=600)).isoformat()}"


def test_expires_zero_is_usable_only_as_retrieved() -> None:
    facts = published(fp(LEAF), expires=0)
    assert judge_posh(facts, [LEAF]).status is PoshStatus.MATCH
    assert judge_posh(facts, [LEAF], at=FETCHED + timedelta(seconds=1)).status is PoshStatus.STALE


def test_a_reference_brings_the_fingerprints_and_the_shorter_lifetime() -> None:
    later = FETCHED + timedelta(seconds=2)
    facts = PoshFacts(
        service=PoshService.SERVER,
        url=URL,
        fetches=[ok()],
        document=PoshDocument(url=REFERENCE, expires=86400),
        reference_fetches=[ok(REFERENCE, at=later)],
        reference_document=PoshDocument(fingerprints=[fp(LEAF)], expires=60),
    )
    judgment = judge_posh(facts, [LEAF])
    assert judgment.status is PoshStatus.MATCH
    assert judgment.valid_until == later + timedelta(seconds=60)


def test_reference_problems_are_invalid() -> None:
    base = PoshFacts(
        service=PoshService.CLIENT, url=URL, fetches=[ok()], document=PoshDocument(url="http://x.test/", expires=5)
    )
    refused = ProbeError(phase="reference", reason=ErrorReason.PROTOCOL, message="not an https URL")
    judgment = judge_posh(base.model_copy(update={"reference_errors": [refused]}), [LEAF])
    assert (judgment.status, judgment.reason) == (PoshStatus.INVALID, "the referenced http://x.test/: not an https URL")
    unresolved = ProbeError(phase="redirect", reason=ErrorReason.POLICY, message="no resolver was given")
    judgment = judge_posh(base.model_copy(update={"reference_errors": [unresolved]}), [LEAF])
    assert judgment.status is PoshStatus.UNAVAILABLE
    missing = base.model_copy(update={"reference_fetches": [ok(REFERENCE, status=404)]})
    assert judge_posh(missing, [LEAF]).status is PoshStatus.INVALID
    chained = base.model_copy(
        update={
            "reference_fetches": [ok(REFERENCE)],
            "reference_document": PoshDocument(url="https://third.test/", expires=5),
        }
    )
    assert judge_posh(chained, [LEAF]).status is PoshStatus.INVALID


def test_not_published() -> None:
    facts = PoshFacts(service=PoshService.CLIENT, url=URL, fetches=[ok(status=404)])
    assert judge_posh(facts, [LEAF]).status is PoshStatus.ABSENT


def test_unreachable_or_untrusted_is_unavailable() -> None:
    error = ProbeError(phase="tls", reason=ErrorReason.TLS, message="certificate verification failed: x")
    failed = HttpFetch(url=URL, started_at=FETCHED, errors=[error])
    judgment = judge_posh(PoshFacts(service=PoshService.CLIENT, url=URL, fetches=[failed]), [LEAF])
    assert judgment.status is PoshStatus.UNAVAILABLE
    assert judgment.reason is not None
    assert judgment.reason.endswith("certificate verification failed: x")
    server_error = PoshFacts(service=PoshService.CLIENT, url=URL, fetches=[ok(status=503)])
    assert judge_posh(server_error, [LEAF]).status is PoshStatus.UNAVAILABLE


def test_http_redirect_is_not_a_delegation() -> None:
    redirected = PoshFacts(
        service=PoshService.CLIENT, url=URL, fetches=[ok(status=301, location="https://elsewhere.test/p.json")]
    )
    judgment = judge_posh(redirected, [LEAF])
    assert judgment.status is PoshStatus.INVALID
    assert "https://elsewhere.test/p.json" in (judgment.reason or "")


def test_unparsable_document_is_invalid_with_the_parser_reason() -> None:
    problem = ProbeError(phase="parse", reason=ErrorReason.PROTOCOL, message="'expires' is missing")
    facts = PoshFacts(service=PoshService.CLIENT, url=URL, fetches=[ok()], errors=[problem])
    judgment = judge_posh(facts, [LEAF])
    assert (judgment.status, judgment.reason) == (PoshStatus.INVALID, f"{URL}: 'expires' is missing")


def test_no_usable_fingerprint_is_invalid() -> None:
    broken = PoshFingerprint(algorithm="sha-256", value="not base64!")
    short = PoshFingerprint(algorithm="sha-256", value=base64.b64encode(b"short").decode())
    assert judge_posh(published(broken, short, fp(LEAF, "sha-1")), [LEAF]).status is PoshStatus.INVALID
    assert judge_posh(published(), [LEAF]).status is PoshStatus.INVALID


def test_no_certificate_seen_is_unchecked() -> None:
    assert judge_posh(published(fp(LEAF)), []).status is PoshStatus.UNCHECKED
