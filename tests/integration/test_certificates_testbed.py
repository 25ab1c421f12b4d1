"""Certificate analysis and DANE against the testbed: the test PKI, chains served by Prosody, TLSA in BIND.

Chains are fetched here with a bare pyOpenSSL handshake (no verification) on the Direct TLS port;
the TLS engine's own fetching is tested with the engine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import select
import socket
import time
from dataclasses import dataclass

import dns.flags
import dns.name
import dns.rdataclass
import dns.rdatatype
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL

from observatory.certificates import (
    CertificateAnalysis,
    CertificateSource,
    ChainProblemCode,
    DaneStatus,
    TrustProblemCode,
    analyse_chain,
    match_dane,
)
from observatory.trust_store import load_ca_file
from scanners.base import ServiceKind
from scanners.dns.facts import DnssecState, DnssecStatus, TlsaLookup, TlsaRecord
from tests.testbed.dns import DnsTestbed, ask
from tests.testbed.layout import DOMAIN, Layout
from tests.testbed.pki import VARIANTS, TestPKI
from tests.testbed.prosody import HOST, ProsodyFactory, ProsodyInstance

pytestmark = pytest.mark.integration

TARGET = f"xmpp.{DOMAIN}"
SECURE = DnssecStatus(state=DnssecState.SECURE)
HANDSHAKE_TIMEOUT = 10.0


def fetch_chain(port: int, host: str = HOST) -> list[bytes]:
    """The certificates a Direct TLS port sends, in the order sent (DER), without verifying anything."""
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_verify(SSL.VERIFY_NONE)
    deadline = time.monotonic() + HANDSHAKE_TIMEOUT
    with socket.create_connection((host, port), timeout=HANDSHAKE_TIMEOUT) as sock:
        sock.setblocking(False)
        connection = SSL.Connection(context, sock)
        connection.set_tlsext_host_name(DOMAIN.encode())
        connection.set_connect_state()
        while True:
            try:
                connection.do_handshake()
                break
            except SSL.WantReadError:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([sock], [], [], remaining)[0]:
                    raise TimeoutError(f"no TLS handshake with {host}:{port} within {HANDSHAKE_TIMEOUT} s") from None
        chain = connection.get_peer_cert_chain(as_cryptography=True) or []
        with contextlib.suppress(SSL.Error):  # close_notify is a courtesy; the socket closes anyway
            connection.shutdown()
    return [cert.public_bytes(Encoding.DER) for cert in chain]


def sent_chain(pki: TestPKI, name: str) -> list[bytes]:
    leaf = pki.leaf(name)
    return [cert.public_bytes(Encoding.DER) for cert in x509.load_pem_x509_certificates(leaf.chain_path.read_bytes())]


def analyse(
    chain: list[bytes], roots: list[x509.Certificate], kind: ServiceKind = ServiceKind.C2S
) -> CertificateAnalysis:
    return analyse_chain(
        chain, domain=DOMAIN, kind=kind, at=dt.datetime.now(dt.UTC), extra_roots=roots, srv_target=TARGET
    )


@dataclass(frozen=True)
class Expected:
    trusted: bool
    identity: bool = True
    reasons: tuple[TrustProblemCode, ...] = ()
    chain: tuple[ChainProblemCode, ...] = ()
    weak_key: bool = False
    weak_signature: bool = False


EXPECTED = {
    "good": Expected(True),
    "srvid-only": Expected(True),
    "expired": Expected(False, reasons=(TrustProblemCode.EXPIRED,)),
    "not-yet-valid": Expected(False, reasons=(TrustProblemCode.NOT_YET_VALID,)),
    "wrong-name": Expected(True, identity=False),
    "self-signed": Expected(False, reasons=(TrustProblemCode.SELF_SIGNED,)),
    "rsa1024": Expected(True, weak_key=True),
    "rsa2048": Expected(True),
    "ecdsa-p256": Expected(True),
    "sha1": Expected(False, reasons=(TrustProblemCode.WEAK_SIGNATURE,), weak_signature=True),
    "missing-intermediate": Expected(
        False, reasons=(TrustProblemCode.INCOMPLETE_CHAIN,), chain=(ChainProblemCode.INCOMPLETE,)
    ),
}


def test_every_variant_has_an_expectation() -> None:
    assert set(EXPECTED) == set(VARIANTS)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_test_pki_variant_gets_its_verdict(pki: TestPKI, name: str) -> None:
    # Given the chain a server would send for the variant, and the test root as --ca-file
    roots = load_ca_file(pki.root_path)
    # When it is analysed for c2s to the testbed domain, now
    analysis = analyse(sent_chain(pki, name), roots)
    # Then the verdicts are the ones the variant's flaw calls for, and nothing else
    expected = EXPECTED[name]
    assert analysis.trusted is expected.trusted, analysis.untrusted_reasons
    assert analysis.identity_matches is expected.identity
    assert tuple(p.code for p in analysis.untrusted_reasons) == expected.reasons
    assert tuple(p.code for p in analysis.chain_problems) == expected.chain
    assert analysis.anchor == (CertificateSource.EXTRA if expected.trusted else None)
    quality = analysis.quality
    assert quality is not None
    assert bool(quality.weak_keys) is expected.weak_key
    assert bool(quality.weak_signatures) is expected.weak_signature
    assert quality.expired is (name == "expired")
    assert quality.not_yet_valid is (name == "not-yet-valid")
    assert quality.self_signed_leaf is (name == "self-signed")
    assert analysis.certificates[0].sha256 == pki.leaf(name).sha256


def test_the_strong_prosody_chain_is_trusted_only_with_the_test_root(
    prosody_strong: ProsodyInstance, pki: TestPKI
) -> None:
    # Given the chain the strong Prosody sends on its c2s Direct TLS port
    chain = fetch_chain(prosody_strong.ports.c2s_direct)
    assert len(chain) == 2, "leaf and intermediate, as the good variant sends"
    # When it is analysed with the test root as --ca-file, and with Mozilla's roots only
    with_root = analyse(chain, load_ca_file(pki.root_path))
    without = analyse(chain, [])
    # Then it is trusted only with the root, and the identity is the same either way
    assert with_root.trusted is True
    assert [p.source for p in with_root.path] == [
        CertificateSource.SENT,
        CertificateSource.SENT,
        CertificateSource.EXTRA,
    ]
    assert without.trusted is False
    assert [p.code for p in without.untrusted_reasons] == [TrustProblemCode.UNKNOWN_ROOT]
    assert "Testbed Root CA" in without.untrusted_reasons[0].detail
    for analysis in (with_root, without):
        assert analysis.identity_matches is True
        assert analysis.matched_identity == f"SRV-ID:_xmpp-client.{DOMAIN}"
        assert analysis.srv_target_matches is True


def test_the_s2s_port_matches_the_server_srv_id(prosody_strong: ProsodyInstance, pki: TestPKI) -> None:
    chain = fetch_chain(prosody_strong.ports.s2s_direct)
    analysis = analyse(chain, load_ca_file(pki.root_path), ServiceKind.S2S)
    assert analysis.trusted is True
    assert analysis.matched_identity == f"SRV-ID:_xmpp-server.{DOMAIN}"


def test_a_served_srvid_and_xmppaddr_only_certificate_is_trusted_and_matches(
    prosody_factory: ProsodyFactory, pki: TestPKI
) -> None:
    # Given a Prosody serving a certificate with SRV-IDs and an XmppAddr but no DNS name at all
    server = prosody_factory("srvid-only", leaf=pki.leaf("srvid-only"))
    chain = fetch_chain(server.ports.c2s_direct)
    # When it is analysed
    analysis = analyse(chain, load_ca_file(pki.root_path))
    # Then it is trusted (no DNS-ID needed for trust) and matches by SRV-ID; the target is not named
    assert analysis.trusted is True
    assert analysis.identity_matches is True
    assert analysis.matched_identities == [f"SRV-ID:_xmpp-client.{DOMAIN}", f"XmppAddr:{DOMAIN}"]
    assert analysis.srv_target_matches is False
    assert analysis.certificates[0].subject_alt_names is not None
    assert analysis.certificates[0].subject_alt_names.dns == []


def _tlsa(usage: int, selector: int, matching: int, data: str) -> TlsaLookup:
    record = TlsaRecord(usage=usage, selector=selector, matching_type=matching, data=data)
    return TlsaLookup(name=f"_5223._tcp.{TARGET}", records=[record], dnssec=SECURE)


def test_tlsa_from_the_pki_matches_and_mismatches_the_served_chain(
    prosody_strong: ProsodyInstance, pki: TestPKI
) -> None:
    chain = fetch_chain(prosody_strong.ports.c2s_direct)
    certificate = analyse(chain, load_ca_file(pki.root_path))
    intermediate_sha256 = certificate.certificates[1].sha256

    matching = match_dane(chain, _tlsa(3, 1, 1, pki.leaf("good").spki_sha256), SECURE, certificate=certificate)
    other_key = match_dane(chain, _tlsa(3, 1, 1, pki.leaf("rsa2048").spki_sha256), SECURE, certificate=certificate)
    full_cert = match_dane(chain, _tlsa(3, 0, 1, pki.leaf("good").sha256), SECURE, certificate=certificate)
    issuer = match_dane(chain, _tlsa(2, 0, 1, intermediate_sha256), SECURE, certificate=certificate)

    assert matching.status is DaneStatus.VALID
    assert other_key.status is DaneStatus.INVALID
    assert full_cert.status is DaneStatus.VALID
    assert issuer.status is DaneStatus.VALID
    assert issuer.records[0].certificate == 1


def _served_tlsa(dns_testbed: DnsTestbed, name: str) -> TlsaLookup:
    """The TLSA RRset as the testbed's validating resolver returns it (AD = secure)."""
    reply = ask(dns_testbed.resolver, name, "TLSA")
    rrset = reply.find_rrset(reply.answer, dns.name.from_text(name), dns.rdataclass.IN, dns.rdatatype.TLSA)
    records = [TlsaRecord(usage=r.usage, selector=r.selector, matching_type=r.mtype, data=r.cert.hex()) for r in rrset]
    secure = bool(reply.flags & dns.flags.AD)
    return TlsaLookup(
        name=name, records=records, dnssec=DnssecStatus(state=DnssecState.SECURE if secure else DnssecState.INSECURE)
    )


def _srv_dnssec(dns_testbed: DnsTestbed, name: str) -> DnssecStatus:
    reply = ask(dns_testbed.resolver, name, "SRV")
    return DnssecStatus(state=DnssecState.SECURE if reply.flags & dns.flags.AD else DnssecState.INSECURE)


def test_tlsa_served_by_the_testbed_matches_the_strong_server(
    dns_testbed: DnsTestbed, layout: Layout, prosody_strong: ProsodyInstance, pki: TestPKI
) -> None:
    port = layout.strong.c2s_direct
    chain = fetch_chain(port)
    tlsa = _served_tlsa(dns_testbed, f"_{port}._tcp.{TARGET}.")
    srv = _srv_dnssec(dns_testbed, f"_xmpps-client._tcp.{DOMAIN}.")
    result = match_dane(chain, tlsa, srv, certificate=analyse(chain, load_ca_file(pki.root_path)))
    assert result.status is DaneStatus.VALID, result.reason
    assert result.records[0].matched is True


def test_tlsa_served_by_the_testbed_does_not_match_the_weak_server(
    dns_testbed: DnsTestbed, layout: Layout, prosody_weak: ProsodyInstance, pki: TestPKI
) -> None:
    # The weak server's TLSA (published for its c2s port) pins a key it does not have; the chain is
    # read on its Direct TLS port, which serves the same certificate as its STARTTLS port.
    chain = fetch_chain(prosody_weak.ports.c2s_direct)
    tlsa = _served_tlsa(dns_testbed, f"_{layout.weak.c2s}._tcp.xmppweak.{DOMAIN}.")
    srv = _srv_dnssec(dns_testbed, f"_xmpp-client._tcp.weak.{DOMAIN}.")
    result = match_dane(chain, tlsa, srv, certificate=analyse(chain, load_ca_file(pki.root_path)))
    assert result.status is DaneStatus.INVALID
    assert result.records[0].usable is True
    assert result.records[0].matched is False
