"""Quality facts: lifetime at the scan's time, key sizes, weak signatures, stapling."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from observatory.certificates import EXPIRY_WARNING_DAYS, CertificateQuality, analyse_chain
from observatory.certificates.quality import read_staple
from scanners.base import ServiceKind
from tests.unit.certificates.builders import DAY, NOW, Issued, issue, xmpp_names

DOMAIN = "example.org"
ROOT = issue("Quality Root", ca=True, not_before=NOW - 900 * DAY, not_after=NOW + 3000 * DAY)
INTER = issue("Quality Intermediate", ROOT, ca=True, not_before=NOW - 900 * DAY, not_after=NOW + 2000 * DAY)


def quality(leaf: Issued, **kwargs: object) -> CertificateQuality:
    analysis = analyse_chain(
        [leaf.der, INTER.der],
        domain=DOMAIN,
        kind=ServiceKind.S2S,
        at=NOW,
        extra_roots=[ROOT.cert],
        mozilla_roots=False,
        **kwargs,  # type: ignore[arg-type]
    )
    assert analysis.quality is not None
    return analysis.quality


@pytest.mark.parametrize(
    ("not_before", "not_after", "expired", "not_yet_valid", "soon", "days"),
    [
        (NOW - 10 * DAY, NOW + 200 * DAY, False, False, False, 200),
        (NOW - 10 * DAY, NOW + EXPIRY_WARNING_DAYS * DAY, False, False, True, 30),
        (NOW - 10 * DAY, NOW + 2 * DAY, False, False, True, 2),
        (NOW - 10 * DAY, NOW + DAY / 2, False, False, True, 0),
        (NOW - 100 * DAY, NOW - DAY / 2, True, False, False, -1),
        (NOW - 100 * DAY, NOW - 40 * DAY, True, False, False, -40),
        (NOW + 5 * DAY, NOW + 400 * DAY, False, True, False, 400),
    ],
    ids=["fine", "exactly-30-days", "two-days", "hours", "just-expired", "long-expired", "not-yet-valid"],
)
def test_lifetime_at_the_scan_time(
    not_before: dt.datetime, not_after: dt.datetime, expired: bool, not_yet_valid: bool, soon: bool, days: int
) -> None:
    leaf = issue(
        DOMAIN,
        INTER,
        key_label=f"quality-life-{days}",
        sans=xmpp_names(DOMAIN),
        not_before=not_before,
        not_after=not_after,
    )
    facts = quality(leaf)
    assert (facts.expired, facts.not_yet_valid, facts.expires_soon, facts.days_remaining) == (
        expired,
        not_yet_valid,
        soon,
        days,
    )


def test_key_facts() -> None:
    facts = quality(issue(DOMAIN, INTER, key_label="quality-ec", sans=xmpp_names(DOMAIN)))
    assert (facts.leaf_key.type, facts.leaf_key.bits, facts.leaf_key.curve) == ("EC", 256, "secp256r1")
    assert facts.weak_keys == []
    assert facts.weak_signatures == []
    assert facts.self_signed_leaf is False


def test_a_1024_bit_leaf_key_is_weak_but_trusted() -> None:
    leaf = issue(DOMAIN, INTER, key_label="quality-rsa1024", key_kind="rsa1024", sans=xmpp_names(DOMAIN))
    analysis = analyse_chain(
        [leaf.der, INTER.der], domain=DOMAIN, kind=ServiceKind.C2S, at=NOW, extra_roots=[ROOT.cert], mozilla_roots=False
    )
    assert analysis.trusted is True, "the leaf's key signs nothing in the path; its size is a quality fact"
    assert analysis.quality is not None
    [weak] = analysis.quality.weak_keys
    assert (weak.sent_index, weak.certificate) == (0, "CN=example.org")
    assert "1024 bits" in weak.detail


def _staple(leaf: Issued, status: ocsp.OCSPCertStatus, *, this_update: dt.datetime, next_update: dt.datetime) -> bytes:
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=leaf.cert,
        issuer=INTER.cert,
        algorithm=hashes.SHA256(),
        cert_status=status,
        this_update=this_update,
        next_update=next_update,
        revocation_time=NOW - DAY if status is ocsp.OCSPCertStatus.REVOKED else None,
        revocation_reason=None,
    )
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, INTER.cert)
    response = builder.sign(INTER.key, hashes.SHA256())
    return response.public_bytes(Encoding.DER)


STAPLED = issue(
    DOMAIN,
    INTER,
    key_label="quality-staple",
    sans=xmpp_names(DOMAIN),
    extensions=[(x509.TLSFeature([x509.TLSFeatureType.status_request]), False)],
)


def test_stapling_not_observed_is_unknown() -> None:
    facts = quality(STAPLED)
    assert facts.must_staple is True
    assert facts.staple_present is None
    assert facts.staple is None


def test_no_staple_observed() -> None:
    facts = quality(STAPLED, staple_observed=True)
    assert facts.staple_present is False
    assert facts.must_staple is True


def test_a_good_current_staple_for_the_leaf() -> None:
    data = _staple(STAPLED, ocsp.OCSPCertStatus.GOOD, this_update=NOW - DAY, next_update=NOW + 6 * DAY)
    facts = quality(STAPLED, staple_observed=True, ocsp_staple=data)
    assert facts.staple_present is True
    assert facts.staple is not None
    assert facts.staple.response_status == "successful"
    assert facts.staple.certificate_status == "good"
    assert facts.staple.for_leaf is True
    assert facts.staple.current is True


def test_a_stale_revoked_staple() -> None:
    data = _staple(STAPLED, ocsp.OCSPCertStatus.REVOKED, this_update=NOW - 20 * DAY, next_update=NOW - 13 * DAY)
    staple = read_staple(data, STAPLED.cert, NOW)
    assert staple.certificate_status == "revoked"
    assert staple.current is False


def test_a_staple_for_another_certificate() -> None:
    other = issue("other.example", INTER, key_label="quality-other")
    data = _staple(other, ocsp.OCSPCertStatus.GOOD, this_update=NOW - DAY, next_update=NOW + DAY)
    staple = read_staple(data, STAPLED.cert, NOW)
    assert staple.for_leaf is False
    assert "serial" in (staple.error or "")


@pytest.mark.parametrize("data", [b"", b"\x30\x03\x0a\x01\x00garbage", b"\x00" * 70_000])
def test_an_unreadable_staple_is_a_fact(data: bytes) -> None:
    staple = read_staple(data, STAPLED.cert, NOW)
    assert staple.response_status == "unparseable"
    assert staple.error


def test_an_unsuccessful_response_status() -> None:
    data = ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.TRY_LATER).public_bytes(Encoding.DER)
    staple = read_staple(data, STAPLED.cert, NOW)
    assert staple.response_status == "try-later"
    assert staple.certificate_status is None
