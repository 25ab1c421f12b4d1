"""Resolvers that fail or lie: timeouts, SERVFAIL, refusals, garbage and floods are facts, not crashes.

Small scripted DNS servers on loopback play the resolver, since BIND and unbound cannot be made to
misbehave on request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from scanners.addresses import HostPort
from scanners.base import ErrorReason, ServiceKind
from scanners.dns.discovery import MAX_ENDPOINTS, MAX_TARGETS, DiscoveryOptions, discover
from scanners.dns.facts import DnssecState, ServiceStatus, TargetFlag
from scanners.dns.records import MAX_RECORDS
from scanners.dns.trust_anchors import load_trust_anchors
from tests.testbed.dns import DnsTestbed, ask
from tests.testbed.ports import PortAllocator

pytestmark = pytest.mark.integration

Handler = Callable[[bytes], bytes | None]


class _Scripted(asyncio.DatagramProtocol):
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.received = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received += 1
        reply = self.handler(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


@asynccontextmanager
async def scripted_resolver(ports: PortAllocator, handler: Handler) -> AsyncIterator[tuple[HostPort, _Scripted]]:
    port = ports.take()
    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: _Scripted(handler), local_addr=("127.0.0.1", port)
    )
    try:
        yield HostPort("127.0.0.1", port), protocol
    finally:
        transport.close()


def silent(_: bytes) -> None:
    return None


def servfail(data: bytes) -> bytes:
    response = dns.message.make_response(dns.message.from_wire(data))
    response.set_rcode(dns.rcode.SERVFAIL)
    return response.to_wire()


def flood(data: bytes) -> bytes:
    """An unsigned zone with a hundred SRV targets of forty addresses each."""
    query = dns.message.from_wire(data)
    response = dns.message.make_response(query)
    question = query.question[0]
    if question.rdtype == dns.rdatatype.SRV:
        rdatas = [f"0 {i} 5222 t{i}.flood.example." for i in range(100)]
    elif question.rdtype == dns.rdatatype.A:
        rdatas = [f"127.0.0.{i + 1}" for i in range(40)]
    else:
        response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()
    response.answer.append(dns.rrset.from_text_list(question.name, 300, "IN", question.rdtype, rdatas))
    return response.to_wire(max_size=65535)  # beyond the query's EDNS size: loopback carries it


def anchored(testbed: DnsTestbed, handler: Handler) -> Handler:
    """``handler``, but ``test. DNSKEY`` (the trust anchor's zone) answered as the testbed's unbound does.

    A resolver that cannot even give the anchor zone's keys stops discovery at once (see
    test_dns_denying_resolver.py); these tests are about one that works up to there and fails below.
    """
    keys: list[dns.message.Message] = []

    def handle(data: bytes) -> bytes | None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        if question.rdtype != dns.rdatatype.DNSKEY or question.name != dns.name.from_text("test."):
            return handler(data)
        if not keys:
            keys.append(ask(testbed.resolver, "test.", "DNSKEY", checking_disabled=True))
        response = dns.message.make_response(query)
        response.answer = list(keys[0].answer)
        return response.to_wire()

    return handle


def _options(resolver: HostPort, testbed: DnsTestbed, **knobs: object) -> DiscoveryOptions:
    settings: dict[str, object] = {
        "resolver": resolver,
        "trust_anchors": load_trust_anchors(testbed.trust_anchor_path),
        "kinds": (ServiceKind.C2S,),
        "default_ports": {ServiceKind.C2S: 1, ServiceKind.S2S: 2},
        **knobs,
    }
    return DiscoveryOptions(**settings)  # type: ignore[arg-type]


async def test_a_silent_resolver_gives_timeouts_as_facts(dns_testbed: DnsTestbed, ports: PortAllocator) -> None:
    async with scripted_resolver(ports, anchored(dns_testbed, silent)) as (resolver, _):
        found = await discover("example.test", _options(resolver, dns_testbed, timeout=0.2))

    [c2s] = found.services
    for lookup in c2s.srv:
        assert lookup.error is not None
        assert "no answer within 0.2 s" in lookup.error
        assert lookup.dnssec is not None
        assert lookup.dnssec.state is DnssecState.INDETERMINATE
    # No SRV answer at all: the fallback is tried, and its lookups fail the same way.
    assert c2s.status is ServiceStatus.NONE
    assert c2s.targets[0].flags == [TargetFlag.NO_ADDRESS, TargetFlag.LOOKUP_FAILED]
    assert found.stats.failed_queries == found.stats.queries - 1  # all but the anchor zone's DNSKEY
    assert found.resolver_failure is None


@pytest.mark.parametrize(("handler", "said"), [(silent, "no answer: "), (servfail, "it answered SERVFAIL")])
async def test_a_resolver_that_cannot_give_the_anchor_keys_stops_discovery(
    dns_testbed: DnsTestbed, ports: PortAllocator, handler: Handler, said: str
) -> None:
    async with scripted_resolver(ports, handler) as (resolver, server):
        found = await discover("example.test", _options(resolver, dns_testbed, timeout=0.2, web=True))

    assert found.resolver_failure is not None
    assert found.resolver_failure.zone == "test"
    assert f"— {said}" in found.resolver_failure.message
    # One reason, nothing looked up after it (a silent resolver is asked the one question twice).
    assert [error.message for error in found.errors] == [found.resolver_failure.message]
    assert (found.services, found.web_host, found.xmppconnect) == ([], None, None)
    assert found.stats.queries == 1
    assert server.received == (2 if handler is silent else 1)


async def test_the_time_limit_bounds_the_whole_discovery(dns_testbed: DnsTestbed, ports: PortAllocator) -> None:
    async with scripted_resolver(ports, anchored(dns_testbed, silent)) as (resolver, _):
        found = await discover("example.test", _options(resolver, dns_testbed, timeout=5.0, time_limit=0.3))

    [error] = found.errors
    assert (error.phase, error.reason) == ("dns", ErrorReason.TIMEOUT)
    assert found.stats.duration_seconds < 5.0


async def test_servfail_is_recorded_with_its_rcode(dns_testbed: DnsTestbed, ports: PortAllocator) -> None:
    async with scripted_resolver(ports, anchored(dns_testbed, servfail)) as (resolver, _):
        found = await discover("example.test", _options(resolver, dns_testbed))

    [c2s] = found.services
    assert [lookup.rcode for lookup in c2s.srv] == ["SERVFAIL", "SERVFAIL"]
    assert c2s.srv[0].error == "the resolver answered SERVFAIL for _xmpp-client._tcp.example.test. SRV"
    assert {lookup.dnssec.state for lookup in c2s.srv if lookup.dnssec} == {DnssecState.INDETERMINATE}


@pytest.mark.parametrize(
    ("handler", "error"), [(lambda _: b"\x00\x01junk", "malformed answer"), (None, "no answer within 0.2 s")]
)
async def test_garbage_and_closed_ports_are_errors(
    dns_testbed: DnsTestbed, ports: PortAllocator, handler: Handler | None, error: str
) -> None:
    if handler is None:  # nothing listens on that port (the ICMP refusal does not reach an unconnected socket)
        closed = HostPort("127.0.0.1", ports.take())
        found = await discover("example.test", _options(closed, dns_testbed, timeout=0.2))
        # Not even the anchor zone's keys: the resolver check says so, and nothing else is asked.
        assert found.resolver_failure is not None
        assert error in (found.resolver_failure.error or "").lower()
        assert found.services == []
        return
    async with scripted_resolver(ports, anchored(dns_testbed, handler)) as (resolver, _):
        found = await discover("example.test", _options(resolver, dns_testbed, timeout=0.5))

    [c2s] = found.services
    assert error in (c2s.srv[0].error or "").lower()
    assert c2s.endpoints == []


async def test_a_flood_of_records_is_bounded(dns_testbed: DnsTestbed, ports: PortAllocator) -> None:
    kinds = (ServiceKind.C2S, ServiceKind.S2S)
    async with scripted_resolver(ports, flood) as (resolver, server):
        found = await discover("flood.example", _options(resolver, dns_testbed, kinds=kinds))

    for service in found.services:
        assert all(len(lookup.records) <= MAX_RECORDS for lookup in service.srv)
        assert len(service.targets) == MAX_TARGETS
        assert len(service.endpoints) == MAX_ENDPOINTS
        # Outside the trust anchor (test.): nothing to validate against.
        assert service.srv[0].dnssec is not None
        assert service.srv[0].dnssec.state is DnssecState.INSECURE
        assert service.srv[0].dnssec.reason == f"no trust anchor covers {service.srv[0].name}."
    # c2s and s2s share their targets' lookups: every distinct question went out once.
    assert server.received == found.stats.queries
