"""The connection layer against real Prosody and scripted servers: prelude, TLS over memory BIOs, pacing."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from scanners.base import ErrorReason, ServiceKind, Transport
from scanners.connection import (
    Deadline,
    Endpoint,
    Limiter,
    LimiterSettings,
    ProbeFailure,
    open_prelude,
    start_tls,
)
from scanners.connection.limits import counting_connections
from scanners.stream.facts import StarttlsPolicy
from scanners.stream.features import FEATURES, parse_features
from scanners.stream.wire import stream_header
from scanners.stream.xmlstream import XmlStream
from tests.testbed.fixtures_scripted_xmpp import ScriptedServers, TlsContextFactory
from tests.testbed.layout import DOMAIN
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator
from tests.testbed.prosody import HOST, ProsodyInstance
from tests.testbed.scripted_xmpp import STARTTLS_OPTIONAL, ConnectionCounter, Peer, XmppScript, mechanisms

pytestmark = pytest.mark.integration


def endpoint(port: int, transport: Transport = Transport.STARTTLS, kind: ServiceKind = ServiceKind.C2S) -> Endpoint:
    return Endpoint(kind=kind, domain=DOMAIN, address=HOST, port=port, transport=transport)


async def test_starttls_prelude_then_a_full_handshake_against_prosody(
    prosody_strong: ProsodyInstance, pki: TestPKI
) -> None:
    target = endpoint(prosody_strong.ports.c2s)
    deadline = Deadline.after(10)
    async with open_prelude(target, Limiter(), deadline) as (reader, writer, facts):
        # Given the prelude stopped right after <proceed/>
        assert facts.starttls is StarttlsPolicy.REQUIRED
        assert facts.header is not None
        assert facts.header.from_ == DOMAIN
        assert facts.features is not None
        assert facts.features.sasl_mechanisms == []
        # When pyOpenSSL runs a whole handshake over the same asyncio streams
        tls = await start_tls(reader, writer, target, deadline)
        # Then it is a real TLS session with Prosody's certificate, usable for the restarted stream
        assert tls.version == "TLSv1.3"
        chain = tls.connection.get_peer_cert_chain(as_cryptography=True)
        assert chain[0].public_bytes(Encoding.DER) == pki.leaf("good").der
        await tls.write(stream_header(ServiceKind.C2S, DOMAIN))
        stream = XmlStream(tls, deadline)
        assert (await stream.open()).id != facts.header.id
        after = parse_features(await stream.expect(FEATURES))
        assert "SCRAM-SHA-1" in after.sasl_mechanisms
        assert not after.starttls
        await tls.close()


async def test_bytes_after_proceed_stay_in_the_reader(
    scripted: ScriptedServers, scripted_tls: TlsContextFactory
) -> None:
    # '>' inside the trailing bytes: a reader that read past <proceed/> would have swallowed them
    trailing = b"<not-yet-tls>\x16\x03\x01>>"
    server = await scripted(XmppScript(tls=scripted_tls(), after_proceed=trailing))
    async with open_prelude(endpoint(server.port), Limiter(), Deadline.after(5)) as (reader, _writer, facts):
        assert facts.starttls is StarttlsPolicy.REQUIRED
        assert await asyncio.wait_for(reader.readexactly(len(trailing)), 5) == trailing


async def test_direct_tls_sends_sni_and_alpn_and_records_the_choice(
    scripted: ScriptedServers, scripted_tls: TlsContextFactory
) -> None:
    names: list[str] = []
    server = await scripted(XmppScript(), tls=scripted_tls(alpn=["xmpp-server", "xmpp-client"], sni=names))
    target = endpoint(server.port, Transport.DIRECTTLS)
    deadline = Deadline.after(5)
    async with open_prelude(target, Limiter(), deadline) as (reader, writer, facts):
        assert facts.starttls is StarttlsPolicy.NOT_APPLICABLE
        assert facts.header is None  # Direct TLS: nothing is said before TLS
        tls = await start_tls(reader, writer, target, deadline)
        assert tls.alpn == "xmpp-client"
    assert names == [DOMAIN]


async def test_direct_tls_without_a_common_alpn_still_connects(
    scripted: ScriptedServers, scripted_tls: TlsContextFactory
) -> None:
    server = await scripted(XmppScript(), tls=scripted_tls(alpn=["h2"]))
    target = endpoint(server.port, Transport.DIRECTTLS)
    deadline = Deadline.after(5)
    async with open_prelude(target, Limiter(), deadline) as (reader, writer, _):
        tls = await start_tls(reader, writer, target, deadline)
        assert tls.alpn is None


async def test_the_limiter_never_exceeds_its_settings(scripted: ScriptedServers) -> None:
    counter = ConnectionCounter()
    server = await scripted(counter.script(hold=0.3))
    settings = LimiterSettings(max_in_flight=3, min_gap=0.05)
    limiter = Limiter(settings)

    async def one() -> None:
        target = endpoint(server.port, Transport.DIRECTTLS)
        async with open_prelude(target, limiter, Deadline.after(30)) as (reader, writer, _):
            writer.write(b"bye")
            assert await asyncio.wait_for(reader.readexactly(2), 10) == b"ok"

    await asyncio.gather(*(one() for _ in range(12)))

    assert server.connections == 12
    assert counter.max_active == settings.max_in_flight  # reached, never exceeded
    gaps = [later - earlier for earlier, later in zip(counter.arrivals, counter.arrivals[1:], strict=False)]
    # Arrival times are the server's; loopback delivery adds jitter of well under the gap itself.
    assert min(gaps) >= settings.min_gap / 2


async def test_scans_sharing_one_limiter_count_their_connections_apart(scripted: ScriptedServers) -> None:
    counter = ConnectionCounter()
    server = await scripted(counter.script(hold=0.05))
    limiter = Limiter(LimiterSettings(max_in_flight=2, min_gap=0.01))

    async def one() -> None:
        async with open_prelude(endpoint(server.port, Transport.DIRECTTLS), limiter, Deadline.after(30)) as (r, w, _):
            w.write(b"bye")
            await asyncio.wait_for(r.readexactly(2), 10)

    async def scan(connections: int) -> int:  # as orchestrate.collect counts one scan
        with counting_connections() as opened:
            await asyncio.gather(*(one() for _ in range(connections)))
            return opened.opened

    assert await asyncio.gather(scan(3), scan(5)) == [3, 5]
    assert server.connections == 8


async def test_a_closed_port_is_a_refused_probe_failure(ports: PortAllocator) -> None:
    with pytest.raises(ProbeFailure) as failure:
        async with open_prelude(endpoint(ports.take()), Limiter(), Deadline.after(5)):
            pass
    assert failure.value.error.reason is ErrorReason.REFUSED
    assert failure.value.error.phase == "connect"


async def test_a_silent_server_ends_at_the_deadline(scripted: ScriptedServers) -> None:
    async def silent(peer: Peer) -> None:
        await peer.read_until(b"never")

    server = await scripted(silent)
    with pytest.raises(ProbeFailure) as failure:
        async with open_prelude(endpoint(server.port), Limiter(), Deadline.after(0.5)):
            pass
    assert failure.value.error.reason is ErrorReason.TIMEOUT
    assert failure.value.error.phase == "header"


async def test_no_starttls_offered_fails_with_the_features_seen(
    scripted: ScriptedServers, scripted_tls: TlsContextFactory
) -> None:
    server = await scripted(XmppScript(features_before=mechanisms("PLAIN")))
    with pytest.raises(ProbeFailure) as failure:
        async with open_prelude(endpoint(server.port), Limiter(), Deadline.after(5)):
            pass
    facts = failure.value.facts
    assert facts is not None
    assert facts.starttls is StarttlsPolicy.ABSENT
    assert facts.features is not None
    assert facts.features.sasl_mechanisms == ["PLAIN"]


async def test_optional_starttls_is_negotiated_too(scripted: ScriptedServers, scripted_tls: TlsContextFactory) -> None:
    server = await scripted(XmppScript(features_before=STARTTLS_OPTIONAL, tls=scripted_tls()))
    target = endpoint(server.port)
    deadline = Deadline.after(5)
    async with open_prelude(target, Limiter(), deadline) as (reader, writer, facts):
        assert facts.starttls is StarttlsPolicy.OPTIONAL
        tls = await start_tls(reader, writer, target, deadline)
        assert tls.version in ("TLSv1.2", "TLSv1.3")
