"""The TLS engine against the scripted peer: what Debian's OpenSSL cannot serve, and misbehaving servers.

SSL 2.0, SSL 3.0, RC4, 3DES and export suites, HelloRetryRequest, server order spread over several
ClientHellos, hang-ups, bugs and garbage: each detection is proven on a loopback peer that answers
chosen ClientHellos with chosen replies.
"""

from __future__ import annotations

import pytest

from scanners.base import ErrorReason
from scanners.tls import registry
from scanners.tls.enumeration import TlsScanOptions, scan_tls
from scanners.tls.facts import TlsFacts, TlsVersion
from scanners.tls.openers import tcp_opener
from tests.testbed.ports import PortAllocator
from tests.testbed.scripted_tls import SSL3, TLS10, TLS11, TLS12, TLS13, PeerPolicy, ScriptedTlsServer

pytestmark = pytest.mark.integration

CHAIN = [b"leaf-certificate-der", b"intermediate-der"]


def codes(*names: str) -> list[int]:
    return [registry.by_name(name).code for name in names]  # type: ignore[union-attr]


async def scan(policy: PeerPolicy, ports: PortAllocator, **options: object) -> tuple[TlsFacts, ScriptedTlsServer]:
    async with ScriptedTlsServer(policy, ports.take()) as server:
        settings = TlsScanOptions(**{"server_name": "example.test", "probe_timeout": 3.0, **options})  # type: ignore[arg-type]
        facts = await scan_tls(tcp_opener(server.host, server.port), settings)
    # Every connection the engine counted reached the peer, and none more.
    assert facts.connections == server.connections
    return facts, server


async def test_sslv2_cipher_kinds_and_certificate(ports: PortAllocator) -> None:
    # Given a server that speaks only SSL 2.0 with three cipher kinds, one of them export grade
    kinds = [0x0700C0, 0x010080, 0x020080]
    facts, _ = await scan(PeerPolicy(suites={}, sslv2_kinds=kinds, chain=CHAIN[:1]), ports)
    # Then SSLv2 is found with the kinds it listed, and its certificate is the chain
    assert facts.versions == [TlsVersion.SSL2]
    assert facts.cipher_suites == {
        TlsVersion.SSL2: [
            "SSL_CK_DES_192_EDE3_CBC_WITH_MD5",
            "SSL_CK_RC4_128_WITH_MD5",
            "SSL_CK_RC4_128_EXPORT40_WITH_MD5",
        ]
    }
    assert facts.server_order == {}  # in SSL 2.0 the client chooses
    assert facts.certificate_chain == CHAIN[:1]
    assert facts.certificate_chain_version == TlsVersion.SSL2


async def test_sslv3_rc4_3des_and_export_in_server_order(ports: PortAllocator) -> None:
    weak = codes(
        "TLS_RSA_EXPORT_WITH_RC4_40_MD5",
        "TLS_RSA_WITH_RC4_128_SHA",
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA",
        "TLS_RSA_WITH_NULL_MD5",
    )
    facts, server = await scan(PeerPolicy(suites={SSL3: weak}, chain=CHAIN), ports)
    assert facts.versions == [TlsVersion.SSL3]
    assert facts.cipher_suites[TlsVersion.SSL3] == registry.names(weak)
    assert facts.server_order == {TlsVersion.SSL3: True}
    assert facts.certificate_chain == CHAIN
    assert facts.certificate_chain_version == TlsVersion.SSL3
    assert facts.errors == []
    # The SSL 3.0 hellos were real SSL 3.0 hellos.
    assert {hello.record_version for hello in server.hellos if hello.legacy_version == SSL3} == {SSL3}


async def test_client_order_is_reported_as_such(ports: PortAllocator) -> None:
    accepted = codes(
        "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
    )
    facts, _ = await scan(PeerPolicy(suites={TLS10: accepted, TLS11: accepted}, server_order=False), ports)
    assert facts.versions == [TlsVersion.TLS10, TlsVersion.TLS11]
    assert facts.server_order == {TlsVersion.TLS10: False, TlsVersion.TLS11: False}
    for version in facts.versions:
        assert sorted(facts.cipher_suites[version]) == sorted(registry.names(accepted))


async def test_server_order_across_several_client_hellos(ports: PortAllocator) -> None:
    # Given accepted suites that fall into three different ClientHellos (partitions of 128)
    candidates = [suite.code for suite in registry.candidates(TlsVersion.TLS12)]
    spread = [candidates[300], candidates[5], candidates[200], candidates[130], candidates[0]]
    facts, _ = await scan(PeerPolicy(suites={TLS12: spread}), ports)
    # Then the full server order is recovered
    assert facts.cipher_suites == {TlsVersion.TLS12: registry.names(spread)}
    assert facts.server_order == {TlsVersion.TLS12: True}


async def test_client_order_across_several_client_hellos(ports: PortAllocator) -> None:
    candidates = [suite.code for suite in registry.candidates(TlsVersion.TLS12)]
    spread = [candidates[300], candidates[5], candidates[200]]
    facts, _ = await scan(PeerPolicy(suites={TLS12: spread}, server_order=False), ports)
    assert sorted(facts.cipher_suites[TlsVersion.TLS12]) == sorted(registry.names(spread))
    assert facts.server_order == {TlsVersion.TLS12: False}


async def test_one_hello_covers_every_candidate_when_the_server_takes_it(ports: PortAllocator) -> None:
    candidates = [suite.code for suite in registry.candidates(TlsVersion.TLS12)]
    spread = [candidates[300], candidates[5], candidates[200]]
    facts, server = await scan(
        PeerPolicy(suites={TLS12: spread}, server_order=False), ports, versions=(TlsVersion.TLS12,)
    )
    assert sorted(facts.cipher_suites[TlsVersion.TLS12]) == sorted(registry.names(spread))
    # The version's hello; two more picks, one refusal, one re-offer for the order: no partitions.
    assert facts.connections_by_probe["versions"] == 1
    assert facts.connections_by_probe["suites TLSv1.2"] == 4
    assert max(len(hello.cipher_suites) for hello in server.hellos) >= len(candidates)


@pytest.mark.parametrize("server_order", [True, False])
async def test_a_server_refusing_long_hellos_is_asked_128_suites_at_a_time(
    ports: PortAllocator, server_order: bool
) -> None:
    # Given a server that refuses any hello of more than 128 suites, its suites spread over three partitions
    candidates = [suite.code for suite in registry.candidates(TlsVersion.TLS12)]
    spread = [candidates[300], candidates[5], candidates[200], candidates[130]]
    weak = [suite.code for suite in registry.candidates(TlsVersion.TLS10)][:2]
    policy = PeerPolicy(suites={TLS12: spread, TLS10: weak}, server_order=server_order, max_suites=128)
    facts, server = await scan(policy, ports)
    # Then every suite is still found, in the server's order where it has one
    found = facts.cipher_suites[TlsVersion.TLS12]
    assert found == registry.names(spread) if server_order else sorted(found) == sorted(registry.names(spread))
    assert sorted(facts.cipher_suites[TlsVersion.TLS10]) == sorted(registry.names(weak))
    assert facts.versions == [TlsVersion.TLS10, TlsVersion.TLS12]
    assert facts.errors == []
    # Only the versions' first hellos offered more (SSL 3.0, TLS 1.0, 1.1, 1.2): each was asked again.
    assert sum(len(hello.cipher_suites) > 128 for hello in server.hellos) == 4


async def test_server_order_that_happens_to_match_ours(ports: PortAllocator) -> None:
    # Given a server whose own order is the zigzag our alternating offers draw from a client-order
    # server (weakest, strongest, then the middle one): the walk alone cannot tell
    strongest, middle, weakest = [suite.code for suite in registry.candidates(TlsVersion.TLS12)][:3]
    same = [weakest, strongest, middle]
    facts, server = await scan(PeerPolicy(suites={TLS12: same}), ports)
    # Then a re-offer of just the accepted suites, in another order, tells it
    assert facts.cipher_suites == {TlsVersion.TLS12: registry.names(same)}
    assert facts.server_order == {TlsVersion.TLS12: True}
    assert any(sorted(hello.cipher_suites) == sorted(same) for hello in server.hellos)


async def test_hello_retry_request_still_names_the_suite(ports: PortAllocator) -> None:
    # Given a TLS 1.3 server that wants an X448 share (we send X25519 and P-256): it answers HRR
    tls13 = codes("TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256")
    facts, server = await scan(PeerPolicy(suites={TLS13: tls13}, hrr_group=30), ports)
    assert facts.versions == [TlsVersion.TLS13]
    assert facts.cipher_suites == {TlsVersion.TLS13: registry.names(tls13)}
    # The chain needs a real TLS 1.3 handshake, which this peer cannot do: that is a fact, not a crash.
    assert facts.certificate_chain == []
    assert [error.phase for error in facts.errors] == ["tls-handshake"]
    assert all(hello.supported_versions == [TLS13] for hello in server.hellos if hello.supported_versions)


async def test_a_lower_version_answer_does_not_count_for_the_higher_one(ports: PortAllocator) -> None:
    # Given a TLS 1.0-only server, which answers a TLS 1.2 hello at TLS 1.0
    facts, _ = await scan(PeerPolicy(suites={TLS10: codes("TLS_RSA_WITH_AES_128_CBC_SHA")}), ports)
    assert facts.versions == [TlsVersion.TLS10]
    assert facts.server_order == {}  # one suite: there is no order to observe


@pytest.mark.parametrize("refusal", ["alert", "close", "handshake-failure"])
async def test_every_way_of_refusing_a_version(ports: PortAllocator, refusal: str) -> None:
    suites = codes("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
    policy = PeerPolicy(suites={TLS12: suites}, version_refusal=refusal, suite_refusal=refusal)  # type: ignore[arg-type]
    facts, _ = await scan(policy, ports)
    assert facts.versions == [TlsVersion.TLS12]
    assert facts.cipher_suites == {TlsVersion.TLS12: registry.names(suites)}
    assert facts.errors == []


async def test_warning_alert_before_the_server_hello(ports: PortAllocator) -> None:
    facts, _ = await scan(PeerPolicy(suites={TLS12: codes("TLS_RSA_WITH_AES_128_GCM_SHA256")}, warn_first=True), ports)
    assert facts.versions == [TlsVersion.TLS12]


async def test_a_server_choosing_an_unoffered_suite_is_reported_and_stopped(ports: PortAllocator) -> None:
    policy = PeerPolicy(suites={TLS12: [0x0A0A]}, always_choose=0x0A0A)
    facts, _ = await scan(policy, ports)
    # It speaks TLS 1.2, but accepted nothing we offered
    assert facts.versions == [TlsVersion.TLS12]
    assert facts.cipher_suites == {TlsVersion.TLS12: []}
    assert any("UNKNOWN_0x0A0A" in error.message for error in facts.errors)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (b"<stream:error><host-unknown/></stream:error>", ErrorReason.PROTOCOL),  # not TLS at all
        (b"\x16\x03\x03\xff\xff" + bytes(10), ErrorReason.HOSTILE_INPUT),  # a record over the maximum
        (b"\x80", ErrorReason.TIMEOUT),  # half an SSL 2.0 header, then nothing
    ],
)
async def test_garbage_replies_are_facts(ports: PortAllocator, reply: bytes, reason: ErrorReason) -> None:
    policy = PeerPolicy(suites={}, raw_reply=reply)
    facts, _ = await scan(policy, ports, versions=(TlsVersion.TLS12,), probe_timeout=0.3)
    assert facts.versions == []
    assert {error.reason for error in facts.errors} == {reason}


async def test_a_silent_server_times_out_without_hanging(ports: PortAllocator) -> None:
    facts, _ = await scan(
        PeerPolicy(suites={}, silent=True), ports, versions=(TlsVersion.TLS12, TlsVersion.TLS13), probe_timeout=0.3
    )
    assert facts.versions == []
    assert {error.reason for error in facts.errors} == {ErrorReason.TIMEOUT}


async def test_connection_failures_are_retried_then_reported(ports: PortAllocator) -> None:
    port = ports.take()  # nothing listens here
    facts = await scan_tls(tcp_opener("127.0.0.1", port), TlsScanOptions(versions=(TlsVersion.TLS12,)))
    assert facts.connections == 2  # one attempt and one retry, and no further partitions
    assert [error.reason for error in facts.errors] == [ErrorReason.REFUSED]


async def test_an_unreachable_endpoint_is_given_up_quickly(ports: PortAllocator) -> None:
    port = ports.take()
    facts = await scan_tls(tcp_opener("127.0.0.1", port), TlsScanOptions(max_in_flight=1))
    # Three failures in a row and the engine stops knocking, whatever was left to probe.
    assert facts.connections == 3
    assert facts.versions == []


async def test_a_server_accepting_everything_cannot_exhaust_us(ports: PortAllocator) -> None:
    everything = [suite.code for suite in registry.candidates(TlsVersion.TLS12)]
    facts, _ = await scan(PeerPolicy(suites={TLS12: everything}), ports, max_connections=60)
    assert facts.connections == 60
    assert [error.reason for error in facts.errors] == [ErrorReason.POLICY]
    assert len(facts.cipher_suites[TlsVersion.TLS12]) > 40


async def test_in_flight_connections_are_capped(ports: PortAllocator) -> None:
    suites = {version: codes("TLS_RSA_WITH_AES_128_CBC_SHA") for version in (SSL3, TLS10, TLS11, TLS12)}
    _, server = await scan(PeerPolicy(suites=suites, silent=False), ports, max_in_flight=2)
    assert server.most_open <= 2
