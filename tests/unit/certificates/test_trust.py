"""Trust paths built in-test: order, extra and cross-signed certificates, expired roots, and every reason."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from observatory.certificates import CertificateAnalysis, CertificateSource, analyse_chain
from observatory.certificates.model import ChainProblemCode, TrustProblemCode
from observatory.certificates.roots import trust_roots
from observatory.trust_store import mozilla_roots
from scanners.base import ServiceKind
from tests.unit.certificates.builders import DAY, NOW, Issued, issue, resign, xmpp_names

DOMAIN = "example.org"


def analyse(chain: Sequence[Issued | bytes], roots: Sequence[Issued] = (), **kwargs: object) -> CertificateAnalysis:
    ders = [c if isinstance(c, bytes) else c.der for c in chain]
    options = {"at": NOW, **kwargs}
    return analyse_chain(
        ders,
        domain=DOMAIN,
        kind=ServiceKind.C2S,
        extra_roots=[r.cert for r in roots],
        mozilla_roots=False,
        **options,  # type: ignore[arg-type]
    )


def codes(analysis: CertificateAnalysis) -> list[TrustProblemCode]:
    return [p.code for p in analysis.untrusted_reasons]


def chain_codes(analysis: CertificateAnalysis) -> list[ChainProblemCode]:
    return [p.code for p in analysis.chain_problems]


ROOT = issue("Trust Root", ca=True, not_before=NOW - 900 * DAY, not_after=NOW + 3000 * DAY)
INTER = issue("Trust Intermediate", ROOT, ca=True)
LEAF = issue(DOMAIN, INTER, key_label="trust-leaf", sans=xmpp_names(DOMAIN))


def test_a_chain_in_order_is_trusted_with_its_path() -> None:
    analysis = analyse([LEAF, INTER], [ROOT])
    assert analysis.trusted is True
    assert analysis.untrusted_reasons == []
    assert analysis.chain_problems == []
    assert analysis.anchor is CertificateSource.EXTRA
    assert [(p.subject, p.source, p.sent_index) for p in analysis.path] == [
        ("CN=example.org", CertificateSource.SENT, 0),
        ("CN=Trust Intermediate", CertificateSource.SENT, 1),
        ("CN=Trust Root", CertificateSource.EXTRA, None),
    ]
    assert analysis.path[-1].der == ROOT.der, "an anchor not sent is kept for re-judging DANE PKIX-TA"
    assert analysis.path[0].der is None


def test_a_chain_out_of_order_is_trusted_and_flagged() -> None:
    upper = issue("Upper Intermediate", ROOT, ca=True)
    lower = issue("Lower Intermediate", upper, ca=True)
    leaf = issue(DOMAIN, lower, key_label="trust-leaf-ooo", sans=xmpp_names(DOMAIN))
    analysis = analyse([leaf, upper, lower], [ROOT])
    assert analysis.trusted is True
    assert [p.sent_index for p in analysis.path] == [0, 2, 1, None]
    assert chain_codes(analysis) == [ChainProblemCode.OUT_OF_ORDER]
    assert "#0, #2, #1" in analysis.chain_problems[0].detail


def test_extra_certificates_are_unused() -> None:
    stranger = issue("Unrelated CA", ca=True)
    analysis = analyse([LEAF, stranger, INTER], [ROOT])
    assert analysis.trusted is True
    assert chain_codes(analysis) == [ChainProblemCode.UNUSED], "skipping a certificate is not disorder"
    unused = analysis.chain_problems[0]
    assert unused.sent_index == 1
    assert "root that the path does not end in" in unused.detail


def test_a_sent_root_is_used_and_noted() -> None:
    analysis = analyse([LEAF, INTER, ROOT], [ROOT])
    assert analysis.trusted is True
    assert analysis.path[-1].sent_index == 2
    assert analysis.path[-1].der is None
    assert chain_codes(analysis) == [ChainProblemCode.ROOT_SENT]


# --- Cross-signs ---------------------------------------------------------------------------------

OLD_ROOT = issue("Old Root", ca=True, not_before=NOW - 3000 * DAY, not_after=NOW + 1000 * DAY)
NEW_ROOT = issue("New Root", ca=True, not_before=NOW - 500 * DAY, not_after=NOW + 3000 * DAY)
CROSS_INTER_NEW = issue("Cross Intermediate", NEW_ROOT, ca=True, key_label="cross-inter")
CROSS_INTER_OLD = issue("Cross Intermediate", OLD_ROOT, ca=True, key_label="cross-inter")
CROSS_LEAF = issue(DOMAIN, CROSS_INTER_NEW, key_label="cross-leaf", sans=xmpp_names(DOMAIN))


@pytest.mark.parametrize(
    ("store", "used", "unused"),
    [([NEW_ROOT], 1, 2), ([OLD_ROOT], 2, 1), ([OLD_ROOT, NEW_ROOT], 1, 2)],
    ids=["new-root-only", "old-root-only", "both-roots"],
)
def test_cross_signed_intermediates_reach_whichever_root_is_trusted(
    store: list[Issued], used: int, unused: int
) -> None:
    # Given an intermediate sent twice: issued by the new root and cross-signed by the old one
    analysis = analyse([CROSS_LEAF, CROSS_INTER_NEW, CROSS_INTER_OLD], store)
    # Then the chain is trusted through the copy whose root is trusted, and the other copy is unused
    assert analysis.trusted is True
    assert [p.sent_index for p in analysis.path[:2]] == [0, used]
    [problem] = [p for p in analysis.chain_problems if p.code is ChainProblemCode.UNUSED]
    assert problem.sent_index == unused
    assert "cross-signed copy" in problem.detail


# The Let's Encrypt 2021 case: ISRG Root X1 is trusted; servers kept sending X1 cross-signed by
# DST Root CA X3, which had expired. Old OpenSSL followed the cross-sign and called them untrusted.
DST_X3 = issue("DST Root CA X3", ca=True, not_before=NOW - 8000 * DAY, not_after=NOW - 1800 * DAY)
ISRG_X1 = issue("ISRG Root X1", ca=True, not_before=NOW - 4000 * DAY, not_after=NOW + 3000 * DAY, key_label="isrg-x1")
X1_BY_DST = issue(
    "ISRG Root X1", DST_X3, ca=True, not_before=NOW - 2000 * DAY, not_after=NOW + 100 * DAY, key_label="isrg-x1"
)
R3 = issue("R3", ISRG_X1, ca=True)
LE_LEAF = issue(DOMAIN, R3, key_label="le-leaf", sans=xmpp_names(DOMAIN))


@pytest.mark.parametrize("store", [[ISRG_X1], [DST_X3, ISRG_X1]], ids=["current-store", "store-still-holding-dst"])
def test_expired_cross_sign_root_does_not_make_a_valid_chain_untrusted(store: list[Issued]) -> None:
    analysis = analyse([LE_LEAF, R3, X1_BY_DST], store)
    assert analysis.trusted is True
    assert [p.subject for p in analysis.path] == ["CN=example.org", "CN=R3", "CN=ISRG Root X1"]
    assert analysis.path[-1].source is CertificateSource.EXTRA
    [unused] = analysis.chain_problems
    assert unused.code is ChainProblemCode.UNUSED
    assert unused.sent_index == 2
    assert "cross-signed copy (issued by CN=DST Root CA X3)" in unused.detail


def test_only_the_expired_root_trusted_is_untrusted_because_it_expired() -> None:
    analysis = analyse([LE_LEAF, R3, X1_BY_DST], [DST_X3])
    assert analysis.trusted is False
    assert codes(analysis) == [TrustProblemCode.EXPIRED]
    assert analysis.untrusted_reasons[0].certificate == "CN=DST Root CA X3"


# --- Why a chain is untrusted --------------------------------------------------------------------


def test_missing_intermediate_is_an_incomplete_chain() -> None:
    aia = x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(
                x509.AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier("http://ca.test/i.der")
            )
        ]
    )
    leaf = issue(DOMAIN, INTER, key_label="trust-leaf-aia", sans=xmpp_names(DOMAIN), extensions=[(aia, False)])
    analysis = analyse([leaf], [ROOT])
    assert analysis.trusted is False
    assert codes(analysis) == [TrustProblemCode.INCOMPLETE_CHAIN]
    assert chain_codes(analysis) == [ChainProblemCode.INCOMPLETE]
    assert "CN=Trust Intermediate" in analysis.untrusted_reasons[0].detail
    assert "http://ca.test/i.der" in analysis.untrusted_reasons[0].detail
    assert analysis.identity_matches is True, "identity is judged apart from trust"


def test_a_private_root_sent_along_is_an_unknown_root() -> None:
    analysis = analyse([LEAF, INTER, ROOT])
    assert codes(analysis) == [TrustProblemCode.UNKNOWN_ROOT]
    assert "ends at CN=Trust Root" in analysis.untrusted_reasons[0].detail
    assert analysis.untrusted_reasons[0].sent_index == 2


def test_a_private_ca_not_sent_is_an_unknown_root_above_the_intermediate() -> None:
    analysis = analyse([LEAF, INTER])
    assert codes(analysis) == [TrustProblemCode.UNKNOWN_ROOT]
    assert "whose issuer CN=Trust Root was not sent" in analysis.untrusted_reasons[0].detail
    assert chain_codes(analysis) == []


def test_self_signed_leaf() -> None:
    leaf = issue(DOMAIN, key_label="trust-self", sans=xmpp_names(DOMAIN))
    analysis = analyse([leaf], [ROOT])
    assert codes(analysis) == [TrustProblemCode.SELF_SIGNED]
    assert analysis.quality is not None
    assert analysis.quality.self_signed_leaf is True


def test_expired_intermediate_is_named() -> None:
    old = issue("Expired Intermediate", ROOT, ca=True, not_before=NOW - 400 * DAY, not_after=NOW - DAY)
    leaf = issue(DOMAIN, old, key_label="trust-leaf-exp-int", sans=xmpp_names(DOMAIN))
    analysis = analyse([leaf, old], [ROOT])
    assert codes(analysis) == [TrustProblemCode.EXPIRED]
    assert analysis.untrusted_reasons[0].sent_index == 1
    assert analysis.quality is not None
    assert analysis.quality.expired is False, "the leaf itself is in date"


def test_validity_is_judged_at_the_scan_time() -> None:
    assert analyse([LEAF, INTER], [ROOT]).trusted is True
    later = analyse([LEAF, INTER], [ROOT], at=NOW + 100 * DAY)
    assert later.trusted is False
    assert set(codes(later)) == {TrustProblemCode.EXPIRED}
    assert later.untrusted_reasons[0].certificate == "CN=example.org"
    earlier = analyse([LEAF, INTER], [ROOT], at=NOW - 30 * DAY)
    assert set(codes(earlier)) == {TrustProblemCode.NOT_YET_VALID}


def test_a_client_only_leaf_is_not_for_server_auth() -> None:
    leaf = issue(
        DOMAIN, INTER, key_label="trust-client", sans=xmpp_names(DOMAIN), eku=[ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    analysis = analyse([leaf, INTER], [ROOT])
    assert codes(analysis) == [TrustProblemCode.NOT_FOR_SERVER_AUTH]


def test_a_client_only_intermediate_is_not_for_server_auth() -> None:
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    inter = issue("Client Intermediate", ROOT, ca=True, key_label="client-inter", extensions=[(eku, False)])
    leaf = issue(DOMAIN, inter, key_label="trust-leaf-ci", sans=xmpp_names(DOMAIN))
    analysis = analyse([leaf, inter], [ROOT])
    assert analysis.trusted is False
    assert TrustProblemCode.NOT_FOR_SERVER_AUTH in codes(analysis)


@pytest.mark.parametrize(
    ("label", "sans", "eku"),
    [
        ("no-eku", xmpp_names(DOMAIN), None),
        ("server-auth-only", xmpp_names(DOMAIN), [ExtendedKeyUsageOID.SERVER_AUTH]),
        ("srvid-xmppaddr-only", xmpp_names(DOMAIN, dns=False), [ExtendedKeyUsageOID.SERVER_AUTH]),
        ("no-san-at-all", None, [ExtendedKeyUsageOID.SERVER_AUTH]),
    ],
)
def test_leaves_without_dns_names_or_client_auth_are_trusted(
    label: str, sans: list[x509.GeneralName] | None, eku: list[x509.ObjectIdentifier] | None
) -> None:
    leaf = issue(DOMAIN, INTER, key_label=f"trust-{label}", sans=sans, eku=eku)
    analysis = analyse([leaf, INTER], [ROOT])
    assert analysis.trusted is True, analysis.untrusted_reasons
    assert analysis.identity_matches is True


def test_why_a_server_verifier_is_not_used() -> None:
    # Given a correct XMPP certificate: SRV-ID and XmppAddr, no DNS-ID
    leaf = issue(DOMAIN, INTER, key_label="trust-srvid-xmppaddr-only", sans=xmpp_names(DOMAIN, dns=False))
    # Then a web server verifier calls it untrusted, while our analysis trusts it and matches it
    verifier = PolicyBuilder().store(Store([ROOT.cert])).time(NOW).build_server_verifier(x509.DNSName(DOMAIN))
    with pytest.raises(VerificationError):
        verifier.verify(leaf.cert, [INTER.cert])
    analysis = analyse([leaf, INTER], [ROOT])
    assert analysis.trusted is True
    assert analysis.matched_identity == "SRV-ID:_xmpp-client.example.org"


def test_a_sha1_intermediate_is_a_weak_signature_but_a_sha1_root_is_fine() -> None:
    rsa_root = issue("RSA Root", ca=True, key_kind="rsa2048", key_label="rsa-root")
    sha1_root = Issued(resign(rsa_root.cert, rsa_root.key, "sha1"), rsa_root.key)  # type: ignore[arg-type]
    inter = issue("SHA1 Intermediate", rsa_root, ca=True, key_kind="rsa2048", key_label="rsa-inter")
    sha1_inter = Issued(resign(inter.cert, rsa_root.key, "sha1"), inter.key)  # type: ignore[arg-type]
    leaf = issue(DOMAIN, inter, key_label="trust-leaf-sha1", sans=xmpp_names(DOMAIN))

    weak = analyse([leaf, sha1_inter], [rsa_root])
    assert weak.trusted is False
    assert codes(weak) == [TrustProblemCode.WEAK_SIGNATURE]
    assert weak.untrusted_reasons[0].sent_index == 1
    assert weak.quality is not None
    assert [i.certificate for i in weak.quality.weak_signatures] == ["CN=SHA1 Intermediate"]

    fine = analyse([leaf, inter, sha1_root], [sha1_root])
    assert fine.trusted is True
    assert fine.quality is not None
    assert fine.quality.weak_signatures == [], "a root's own signature is never checked"


def test_an_md5_leaf_is_a_weak_signature() -> None:
    rsa_inter = issue("RSA Intermediate", ROOT, ca=True, key_kind="rsa2048", key_label="rsa-inter-md5")
    leaf = issue(DOMAIN, rsa_inter, key_label="trust-leaf-md5", sans=xmpp_names(DOMAIN))
    md5 = resign(leaf.cert, rsa_inter.key, "md5")  # type: ignore[arg-type]
    analysis = analyse([Issued(md5, leaf.key).der, rsa_inter.der], [ROOT])
    assert codes(analysis) == [TrustProblemCode.WEAK_SIGNATURE]
    assert "MD5" in analysis.untrusted_reasons[0].detail


def test_a_1024_bit_issuer_is_a_weak_key() -> None:
    small = issue("Small Intermediate", ROOT, ca=True, key_kind="rsa1024", key_label="small-inter")
    leaf = issue(DOMAIN, small, key_label="trust-leaf-small", sans=xmpp_names(DOMAIN))
    analysis = analyse([leaf, small], [ROOT])
    assert codes(analysis) == [TrustProblemCode.WEAK_KEY]
    assert analysis.quality is not None
    assert [i.sent_index for i in analysis.quality.weak_keys] == [1]


def test_no_certificate_and_an_unreadable_leaf() -> None:
    nothing = analyse([])
    assert nothing.trusted is False
    assert codes(nothing) == [TrustProblemCode.NO_CERTIFICATE]
    garbage = analyse([b"\x30\x03\x02\x01\x00", INTER.der], [ROOT])
    assert garbage.trusted is False
    assert codes(garbage) == [TrustProblemCode.UNPARSEABLE]
    assert garbage.identity_matches is None
    assert garbage.quality is None


def test_hostile_same_name_certificates_end_quickly() -> None:
    # Given 15 CAs that all share one name and sign each other in a ring, and a leaf under one of them
    ring = [issue("Ring CA", ca=True, key_label=f"ring-{i}") for i in range(15)]
    linked = [issue("Ring CA", ring[(i + 1) % 15], ca=True, key_label=f"ring-{i}") for i in range(15)]
    leaf = issue(DOMAIN, linked[0], key_label="trust-ring-leaf", sans=xmpp_names(DOMAIN))
    # When it is analysed (bench/bench_certificates.py measures how long this takes)
    analysis = analyse([leaf, *linked], [ROOT])
    # Then the search ends, with a verdict and a reason
    assert analysis.trusted is False
    assert analysis.untrusted_reasons


def test_mozilla_wins_when_a_root_is_in_both_sets() -> None:
    mozilla_root = mozilla_roots()[0]
    roots = trust_roots([mozilla_root])
    assert roots.source_of(mozilla_root.public_bytes(Encoding.DER)) is CertificateSource.MOZILLA
    assert len(roots.certificates) == len(mozilla_roots())
