"""TLS engine part 2 against peers that do what Prosody's OpenSSL 3 will not.

The scripted peer (no complete handshake): compression, no renegotiation_info or EMS, a
heartbeat over-read and an honest heartbeat, chosen DH primes (well-known, common, FFDHE),
group orders and hybrid groups, TLS_FALLBACK_SCSV ignored, two certificates. The real TLS server
(pyOpenSSL, complete handshakes): a 30-day ticket lifetime, an OCSP staple, two certificates
chosen by signature algorithm under TLS 1.3.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from OpenSSL import SSL

from scanners.tls import registry
from scanners.tls.enumeration import TlsScanOptions, scan_tls
from scanners.tls.facts import TlsFacts, TlsVersion
from scanners.tls.openers import tcp_opener
from tests.integration.test_tls_prosody import expected_chain
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator
from tests.testbed.scripted_tls import (
    TLS11,
    TLS12,
    TLS13,
    PeerPolicy,
    ScriptedTlsServer,
    openssl_group_prime,
)
from tests.testbed.tls_server import RealTlsServer, TlsServerPolicy

pytestmark = pytest.mark.integration

CBC = "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
GCM = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
DHE = "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"


def codes(*names: str) -> list[int]:
    return [registry.by_name(name).code for name in names]  # type: ignore[union-attr]


async def scan(policy: PeerPolicy, ports: PortAllocator, **options: object) -> tuple[TlsFacts, ScriptedTlsServer]:
    async with ScriptedTlsServer(policy, ports.take()) as server:
        settings = TlsScanOptions(**{"server_name": "example.test", "probe_timeout": 3.0, **options})  # type: ignore[arg-type]
        facts = await scan_tls(tcp_opener(server.host, server.port), settings)
    assert facts.connections == server.connections
    return facts, server


def common_prime(label: str) -> bytes:
    """A deployed default prime, from testssl.sh's list (again not our data file)."""
    lines = Path("/etc/testssl/common-primes.txt").read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if label in line)
    return bytes.fromhex(lines[index + 1].strip())


# --- Extensions --------------------------------------------------------------------------------


async def test_compression_and_missing_renegotiation_info(ports: PortAllocator) -> None:
    policy = PeerPolicy(suites={TLS12: codes(CBC, GCM)}, compression=(1,), answers=frozenset())
    facts, server = await scan(policy, ports)
    extensions = facts.extensions
    assert extensions is not None
    assert extensions.compression == "DEFLATE"
    assert not extensions.secure_renegotiation
    assert not extensions.extended_master_secret
    assert extensions.encrypt_then_mac is False  # a CBC suite was chosen, and no answer came
    assert not extensions.session_ticket
    # Only the extension probe offered compression, with null last.
    assert [bytes(h.compression_methods) for h in server.hellos].count(b"\x01\x40\x00") == 1


async def test_a_well_behaved_peer(ports: PortAllocator) -> None:
    facts, _ = await scan(PeerPolicy(suites={TLS12: codes(CBC, GCM)}), ports)
    extensions = facts.extensions
    assert extensions is not None
    assert extensions.compression is None
    assert extensions.secure_renegotiation
    assert extensions.extended_master_secret
    assert extensions.session_ticket
    assert extensions.encrypt_then_mac is True
    assert extensions.cipher_suite == CBC
    assert extensions.heartbeat is False
    assert extensions.heartbleed is None
    assert extensions.truncated_hmac is False


async def test_truncated_hmac_answered(ports: PortAllocator) -> None:
    policy = PeerPolicy(suites={TLS12: codes(CBC, GCM)}, answers=frozenset({0xFF01, 23, 4}))
    facts, server = await scan(policy, ports)
    assert facts.extensions is not None
    assert facts.extensions.truncated_hmac is True
    # Only the extension probe asks for it.
    assert sum(hello.extension(4) is not None for hello in server.hellos) == 1


@pytest.mark.parametrize("behaviour", ["bleeds", "honest"])
async def test_heartbleed(ports: PortAllocator, behaviour: str) -> None:
    policy = PeerPolicy(suites={TLS12: codes(GCM)}, heartbeat=behaviour)  # type: ignore[arg-type]
    facts, server = await scan(policy, ports)
    extensions = facts.extensions
    assert extensions is not None
    assert extensions.heartbeat
    if behaviour == "bleeds":
        assert extensions.heartbleed is True
        assert extensions.heartbleed_overread == 3
        # Asked once for 3 bytes beyond an empty payload, then the well-formed 1-byte request.
        assert server.overread_requests == [3, 1]
    else:
        assert extensions.heartbleed is False
        assert extensions.heartbleed_overread is None
    assert facts.errors == []


async def test_fallback_scsv(ports: PortAllocator) -> None:
    suites = {TLS11: codes(CBC), TLS12: codes(CBC, GCM)}
    honoured, _ = await scan(PeerPolicy(suites=suites), ports)
    ignored, _ = await scan(PeerPolicy(suites=suites, fallback_scsv=False), ports)
    single, _ = await scan(PeerPolicy(suites={TLS12: codes(GCM)}), ports)
    assert (honoured.fallback_scsv, ignored.fallback_scsv, single.fallback_scsv) == (True, False, None)


# --- Groups and DH -----------------------------------------------------------------------------


async def test_tls12_curves_in_server_and_client_order(ports: PortAllocator) -> None:
    server_order, _ = await scan(PeerPolicy(suites={TLS12: codes(GCM)}, curves=(24, 23, 25)), ports)
    assert server_order.groups == {TlsVersion.TLS12: ["secp384r1", "secp256r1", "secp521r1"]}
    assert server_order.groups_server_order == {TlsVersion.TLS12: True}
    assert server_order.ecdhe_curve == "secp384r1"
    policy = PeerPolicy(suites={TLS12: codes(GCM)}, curves=(24, 23, 25), client_group_order=True)
    client_order, _ = await scan(policy, ports)
    assert client_order.groups == {TlsVersion.TLS12: ["secp256r1", "secp384r1", "secp521r1"]}  # ours
    assert client_order.groups_server_order == {TlsVersion.TLS12: False}


async def test_tls13_groups_with_a_hybrid(ports: PortAllocator) -> None:
    tls13 = codes("TLS_AES_128_GCM_SHA256")
    policy = PeerPolicy(suites={TLS13: tls13}, tls13_groups=(29, 0x11EC, 256))
    facts, server = await scan(policy, ports)
    assert facts.groups == {TlsVersion.TLS13: ["x25519", "X25519MLKEM768", "ffdhe2048"]}
    assert facts.groups_server_order == {TlsVersion.TLS13: True}
    # The group probes sent no key share at all: nothing to generate for ML-KEM or FFDHE.
    assert any(hello.groups[:1] == [0x11EC] and not hello.key_shares for hello in server.hellos)


async def test_dh_parameters_well_known_and_common(ports: PortAllocator) -> None:
    rfc5114 = openssl_group_prime("dh_1024_160")
    nginx = common_prime("nginx/1024-bit MODP group with safe prime modulus")
    generator = b"\x02"
    facts, _ = await scan(PeerPolicy(suites={TLS12: codes(DHE, GCM)}, dh_params=(rfc5114, generator)), ports)
    [params] = facts.dh_parameters
    assert (params.family, params.prime_bits, params.generator) == ("DHE_RSA", 1024, 2)
    assert params.well_known == "dh_1024_160 (RFC 5114)"
    assert params.safe_prime is False
    facts, _ = await scan(PeerPolicy(suites={TLS12: codes(DHE)}, dh_params=(nginx, generator)), ports)
    [params] = facts.dh_parameters
    assert params.well_known is None
    assert params.common == "nginx/1024-bit MODP group with safe prime modulus"
    assert params.safe_prime is True


async def test_ffdhe_groups_in_tls12(ports: PortAllocator) -> None:
    own = openssl_group_prime("modp_2048")
    ffdhe = {257: openssl_group_prime("ffdhe3072"), 256: openssl_group_prime("ffdhe2048")}  # server prefers 3072
    policy = PeerPolicy(suites={TLS12: codes(DHE)}, dh_params=(own, b"\x02"), ffdhe=ffdhe)
    facts, _ = await scan(policy, ports)
    assert facts.groups[TlsVersion.TLS12] == ["ffdhe3072", "ffdhe2048"]
    assert facts.groups_server_order.get(TlsVersion.TLS12) in (None, True)
    # Its own parameters are what a client without FFDHE groups gets.
    [params] = facts.dh_parameters
    assert params.well_known == "modp_2048 (RFC 3526)"
    assert params.prime_bits == 2048


# --- Certificates -----------------------------------------------------------------------------


async def test_two_certificates_by_suite(ports: PortAllocator) -> None:
    chains = {"RSA": [b"rsa-leaf", b"ca"], "ECDSA": [b"ecdsa-leaf", b"ca"]}
    suites = codes("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", GCM)
    facts, _ = await scan(PeerPolicy(suites={TLS12: suites}, chains=chains), ports)
    assert {d.authentication: d.chain for d in facts.certificates} == chains


# --- Complete handshakes: tickets, staples, TLS 1.3 certificates ------------------------------


def _staple(pki: TestPKI) -> bytes:
    leaf = pki.leaf("good")
    key = serialization.load_pem_private_key(pki.intermediate_key_path.read_bytes(), None)
    now = dt.datetime.now(dt.UTC)
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=leaf.cert,
            issuer=pki.intermediate,
            algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=now,
            next_update=now + dt.timedelta(days=1),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, pki.intermediate)
    )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]


async def real_scan(policy: TlsServerPolicy, ports: PortAllocator) -> TlsFacts:
    async with RealTlsServer(policy, ports.take()) as server:
        facts = await scan_tls(tcp_opener(server.host, server.port), TlsScanOptions(server_name="example.test"))
    assert facts.connections == server.connections
    return facts


async def test_long_ticket_lifetime_and_an_ocsp_staple(ports: PortAllocator, pki: TestPKI) -> None:
    leaf = pki.leaf("good")
    staple = _staple(pki)
    policy = TlsServerPolicy([(leaf.chain_path, leaf.key_path)], session_timeout=30 * 86400, ocsp_staple=staple)
    facts = await real_scan(policy, ports)
    assert facts.session_ticket is not None
    assert facts.session_ticket.version == TlsVersion.TLS12
    assert facts.session_ticket.issued
    assert facts.session_ticket.lifetime_hint_seconds == 30 * 86400
    assert facts.ocsp_staple == staple
    assert ocsp.load_der_ocsp_response(facts.ocsp_staple).certificate_status == ocsp.OCSPCertStatus.GOOD
    assert facts.extensions is not None
    assert facts.extensions.status_request
    # And the staple survives the JSON round trip as base64.
    assert base64.b64decode(facts.model_dump(mode="json")["ocsp_staple"]) == staple
    no_tickets = await real_scan(TlsServerPolicy([(leaf.chain_path, leaf.key_path)], tickets=False), ports)
    assert no_tickets.session_ticket is not None
    assert not no_tickets.session_ticket.issued
    assert no_tickets.ocsp_staple is None
    assert no_tickets.ocsp_staple_requested


async def test_tls13_only_two_certificates_and_a_staple(ports: PortAllocator, pki: TestPKI) -> None:
    rsa, ecdsa = pki.leaf("good"), pki.leaf("ecdsa-p256")
    policy = TlsServerPolicy(
        [(rsa.chain_path, rsa.key_path), (ecdsa.chain_path, ecdsa.key_path)],
        min_version=SSL.TLS1_3_VERSION,
        ocsp_staple=b"\x30\x03\x0a\x01\x03",  # an OCSPResponse saying tryLater
    )
    facts = await real_scan(policy, ports)
    assert facts.versions == [TlsVersion.TLS13]
    assert {d.authentication: d.chain for d in facts.certificates} == {
        "ECDSA": expected_chain(pki, "ecdsa-p256"),
        "RSA": expected_chain(pki),
    }
    assert facts.certificate_chain == expected_chain(pki, "ecdsa-p256")  # OpenSSL's client prefers ECDSA
    assert facts.ocsp_staple == b"\x30\x03\x0a\x01\x03"
    assert facts.session_ticket is not None
    assert facts.session_ticket.version == TlsVersion.TLS13
    assert facts.session_ticket.issued is None  # encrypted under TLS 1.3: not observable
    assert facts.extensions is None
    assert facts.fallback_scsv is None
    assert x509.load_der_x509_certificate(facts.certificate_chain[0]).subject == pki.leaf("ecdsa-p256").cert.subject
