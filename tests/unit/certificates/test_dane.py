"""DANE (RFC 7673, RFC 6698/7671): every usage, selector and matching type, and when DANE applies at all."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest

from observatory.certificates import CertificateAnalysis, DaneStatus, analyse_chain, match_dane
from observatory.certificates.parse import parse_chain
from scanners.base import ServiceKind
from scanners.dns.facts import DnssecState, DnssecStatus, TlsaLookup, TlsaRecord
from tests.unit.certificates.builders import DAY, NOW, Issued, issue, xmpp_names

DOMAIN, TARGET = "example.org", "xmpp.example.org"
NAME = f"_5222._tcp.{TARGET}"
SECURE = DnssecStatus(state=DnssecState.SECURE)
INSECURE = DnssecStatus(state=DnssecState.INSECURE)
BOGUS = DnssecStatus(state=DnssecState.BOGUS, reason="expired signature")
INDETERMINATE = DnssecStatus(state=DnssecState.INDETERMINATE, reason="timeout")

ROOT = issue("Dane Root", ca=True, not_before=NOW - 900 * DAY, not_after=NOW + 3000 * DAY)
INTER = issue("Dane Intermediate", ROOT, ca=True)
LEAF = issue(DOMAIN, INTER, key_label="dane-leaf", sans=xmpp_names(DOMAIN))
OTHER = issue("Other CA", ca=True)


def data(cert: Issued, selector: int, matching: int) -> str:
    [parsed], _ = parse_chain([cert.der])
    selected = parsed.spki if selector == 1 else parsed.der
    if matching == 1:
        return hashlib.sha256(selected).hexdigest()
    if matching == 2:
        return hashlib.sha512(selected).hexdigest()
    return selected.hex()


def record(usage: int, selector: int, matching: int, cert: Issued = LEAF) -> TlsaRecord:
    return TlsaRecord(usage=usage, selector=selector, matching_type=matching, data=data(cert, selector, matching))


def lookup(*records: TlsaRecord, dnssec: DnssecStatus | None = SECURE, error: str | None = None) -> TlsaLookup:
    return TlsaLookup(name=NAME, records=list(records), dnssec=dnssec, error=error)


def analysis_of(chain: list[Issued], *, trusted_root: bool = True) -> CertificateAnalysis:
    return analyse_chain(
        [c.der for c in chain],
        domain=DOMAIN,
        kind=ServiceKind.C2S,
        at=NOW,
        extra_roots=[ROOT.cert] if trusted_root else [],
        mozilla_roots=False,
        srv_target=TARGET,
    )


@dataclass(frozen=True)
class Case:
    id: str
    record: TlsaRecord
    status: DaneStatus
    matched_certificate: int | None = None
    reason: str | None = None
    chain: tuple[Issued, ...] = (LEAF, INTER)
    trusted_root: bool = True


WRONG_NAME = issue("wrong.example", INTER, key_label="dane-wrong", sans=xmpp_names("wrong.example"))
TARGET_ONLY = issue(TARGET, INTER, key_label="dane-target", sans=[*xmpp_names(TARGET)])
EXPIRED = issue(DOMAIN, INTER, key_label="dane-expired", sans=xmpp_names(DOMAIN), not_after=NOW - DAY)
SELF_SIGNED_EXPIRED_ELSEWHERE = issue(
    "elsewhere.example", key_label="dane-self", not_before=NOW - 400 * DAY, not_after=NOW - 100 * DAY
)

CASES = [
    # DANE-EE(3): the leaf only, every selector and matching type
    *(
        Case(f"dane-ee-{s}-{m}", record(3, s, m), DaneStatus.VALID, 0, "the server's")
        for s in (0, 1)
        for m in (0, 1, 2)
    ),
    Case("dane-ee-of-the-intermediate", record(3, 1, 1, INTER), DaneStatus.INVALID, reason="differs"),
    Case("dane-ee-of-another-key", record(3, 1, 1, OTHER), DaneStatus.INVALID),
    Case(
        "dane-ee-ignores-names-dates-and-trust",
        record(3, 1, 1, SELF_SIGNED_EXPIRED_ELSEWHERE),
        DaneStatus.VALID,
        0,
        chain=(SELF_SIGNED_EXPIRED_ELSEWHERE,),
        trusted_root=False,
    ),
    # DANE-TA(2): a CA in the chain, then path, dates and names
    Case("dane-ta-cert", record(2, 0, 1, INTER), DaneStatus.VALID, 1, "trust anchor #1"),
    Case("dane-ta-spki", record(2, 1, 2, INTER), DaneStatus.VALID, 1),
    Case(
        "dane-ta-root-sent", record(2, 0, 1, ROOT), DaneStatus.VALID, 2, chain=(LEAF, INTER, ROOT), trusted_root=False
    ),
    Case("dane-ta-root-not-sent", record(2, 1, 1, ROOT), DaneStatus.INVALID, reason="no CA certificate sent"),
    Case("dane-ta-bare-key-2-1-0", record(2, 1, 0, ROOT), DaneStatus.VALID, reason="published trust-anchor key"),
    Case("dane-ta-bare-key-of-a-stranger", record(2, 1, 0, OTHER), DaneStatus.INVALID, reason="published key"),
    Case("dane-ta-full-root-not-sent", record(2, 0, 0, ROOT), DaneStatus.INVALID),
    Case("dane-ta-the-leaf-is-no-ta", record(2, 1, 1, LEAF), DaneStatus.INVALID),
    Case(
        "dane-ta-needs-the-name",
        record(2, 1, 1, INTER),
        DaneStatus.INVALID,
        1,
        "names neither",
        chain=(WRONG_NAME, INTER),
    ),
    Case("dane-ta-accepts-the-srv-target", record(2, 1, 1, INTER), DaneStatus.VALID, 1, chain=(TARGET_ONLY, INTER)),
    Case("dane-ta-checks-dates", record(2, 1, 1, INTER), DaneStatus.INVALID, 1, "not valid", chain=(EXPIRED, INTER)),
    Case(
        "dane-ta-needs-a-chain-to-it",
        record(2, 1, 1, OTHER),
        DaneStatus.INVALID,
        1,
        "does not chain to it",
        chain=(LEAF, OTHER, INTER),
    ),
    Case("dane-ta-needs-no-pkix", record(2, 1, 1, INTER), DaneStatus.VALID, 1, trusted_root=False),
    # PKIX-EE(1) and PKIX-TA(0): a match plus ordinary trust
    Case("pkix-ee", record(1, 1, 1), DaneStatus.VALID, 0, "PKIX-valid"),
    Case("pkix-ee-untrusted", record(1, 1, 1), DaneStatus.INVALID, 0, "trusted chain", trusted_root=False),
    Case("pkix-ee-wrong-key", record(1, 1, 1, OTHER), DaneStatus.INVALID),
    Case("pkix-ta-intermediate", record(0, 1, 1, INTER), DaneStatus.VALID, 1),
    Case("pkix-ta-root-not-sent-sha256", record(0, 1, 1, ROOT), DaneStatus.VALID, None, "trust path"),
    Case("pkix-ta-root-not-sent-full-cert", record(0, 0, 0, ROOT), DaneStatus.VALID),
    Case("pkix-ta-root-not-sent-sha512", record(0, 0, 2, ROOT), DaneStatus.VALID),
    Case("pkix-ta-untrusted", record(0, 1, 1, INTER), DaneStatus.INVALID, 1, "trusted chain", trusted_root=False),
    Case("pkix-ta-off-path", record(0, 1, 1, OTHER), DaneStatus.INVALID, reason="no CA on the trust path"),
    Case("pkix-needs-names", record(1, 1, 1, WRONG_NAME), DaneStatus.INVALID, 0, "names", chain=(WRONG_NAME, INTER)),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_matching(case: Case) -> None:
    analysis = analysis_of(list(case.chain), trusted_root=case.trusted_root)
    result = match_dane([c.der for c in case.chain], lookup(case.record), SECURE, certificate=analysis)
    assert result.status is case.status, result
    assert result.tlsa_name == NAME
    [judged] = result.records
    assert judged.usable is True
    assert judged.matched is (case.status is DaneStatus.VALID)
    assert judged.certificate == case.matched_certificate
    if case.reason:
        assert case.reason in judged.reason


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (TlsaRecord(usage=4, selector=1, matching_type=1, data="00" * 32), "unknown certificate usage 4"),
        (TlsaRecord(usage=3, selector=2, matching_type=1, data="00" * 32), "unknown selector 2"),
        (TlsaRecord(usage=3, selector=1, matching_type=3, data="00" * 32), "unknown matching type 3"),
        (TlsaRecord(usage=3, selector=1, matching_type=1, data="zz"), "not hexadecimal"),
        (TlsaRecord(usage=3, selector=1, matching_type=1, data="00" * 31), "needs 32"),
        (TlsaRecord(usage=3, selector=1, matching_type=2, data="00" * 32), "needs 64"),
        (TlsaRecord(usage=3, selector=1, matching_type=0, data=""), "full data"),
    ],
)
def test_unusable_records(bad: TlsaRecord, why: str) -> None:
    # Alone, an unusable record makes DANE not applicable; next to a match it changes nothing
    alone = match_dane([LEAF.der, INTER.der], lookup(bad), SECURE)
    assert alone.status is DaneStatus.NOT_APPLICABLE
    assert "none of the 1 TLSA records is usable" in (alone.reason or "")
    assert alone.records[0].usable is False
    assert why in alone.records[0].reason
    mixed = match_dane([LEAF.der, INTER.der], lookup(bad, record(3, 1, 1)), SECURE)
    assert mixed.status is DaneStatus.VALID
    assert [(r.usable, r.matched) for r in mixed.records] == [(False, False), (True, True)]
    assert "#1" in (mixed.reason or "")


def test_one_match_among_several_is_enough() -> None:
    result = match_dane([LEAF.der, INTER.der], lookup(record(3, 1, 1, OTHER), record(3, 1, 1)), SECURE)
    assert result.status is DaneStatus.VALID
    assert [r.matched for r in result.records] == [False, True]


def test_without_the_certificate_analysis_only_dane_ee_can_match() -> None:
    chain = [LEAF.der, INTER.der]
    assert match_dane(chain, lookup(record(3, 1, 1)), SECURE).status is DaneStatus.VALID
    ta = match_dane(chain, lookup(record(2, 1, 1, INTER)), SECURE)
    assert ta.status is DaneStatus.INVALID
    assert "needs the certificate analysis" in ta.records[0].reason
    assert "need the certificate analysis" in match_dane(chain, lookup(record(1, 1, 1)), SECURE).records[0].reason


@pytest.mark.parametrize(
    ("srv", "address", "tlsa", "status", "reason"),
    [
        (
            INSECURE,
            None,
            lookup(record(3, 1, 1)),
            DaneStatus.NOT_APPLICABLE,
            "SRV answer is not DNSSEC-secure (insecure",
        ),
        (BOGUS, None, lookup(record(3, 1, 1)), DaneStatus.NOT_APPLICABLE, "(bogus: expired signature"),
        (None, None, lookup(record(3, 1, 1)), DaneStatus.NOT_APPLICABLE, "SRV answer is unknown"),
        (SECURE, INSECURE, lookup(record(3, 1, 1)), DaneStatus.NOT_APPLICABLE, "address records is not DNSSEC-secure"),
        (SECURE, None, None, DaneStatus.NOT_APPLICABLE, "no TLSA lookup"),
        (SECURE, None, lookup(dnssec=None, error="SERVFAIL"), DaneStatus.INVALID, "failed (SERVFAIL)"),
        (SECURE, None, lookup(record(3, 1, 1), dnssec=BOGUS), DaneStatus.INVALID, "must not connect"),
        (SECURE, None, lookup(dnssec=INDETERMINATE), DaneStatus.INVALID, "failed (timeout)"),
        (SECURE, None, lookup(), DaneStatus.ABSENT, "DNSSEC proves there are no TLSA records"),
        (SECURE, None, lookup(dnssec=INSECURE), DaneStatus.ABSENT, "unsigned"),
        (SECURE, None, lookup(record(3, 1, 1), dnssec=INSECURE), DaneStatus.NOT_APPLICABLE, "clients ignore them"),
        (SECURE, SECURE, lookup(record(3, 1, 1)), DaneStatus.VALID, "matches"),
    ],
)
def test_when_dane_applies(
    srv: DnssecStatus | None, address: DnssecStatus | None, tlsa: TlsaLookup | None, status: DaneStatus, reason: str
) -> None:
    result = match_dane([LEAF.der, INTER.der], tlsa, srv, address_dnssec=address)
    assert result.status is status
    assert reason in (result.reason or "")


def test_no_certificate_to_match() -> None:
    result = match_dane([], lookup(record(3, 1, 1)), SECURE)
    assert result.status is DaneStatus.INVALID
    assert "could not be read" in result.records[0].reason
