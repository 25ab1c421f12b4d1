"""Public mode's address policy on real sockets: a rebinding resolver cannot steer a scan to loopback,
the connection layer itself refuses a refused address (no connection arrives), and a private scan of
the same name does connect."""

from __future__ import annotations

import asyncio

import dns.asyncquery
import dns.message
import pytest

from observatory.orchestrate import ScanOptions, incomplete, run_scan
from scanners.addresses import HostPort
from scanners.base import ErrorReason, ServiceKind, Transport
from scanners.connection import Deadline, Endpoint, Limiter, open_prelude
from scanners.connection.errors import ProbeFailure
from scanners.policy import AddressPolicy, parse_networks
from tests.testbed.ports import PortAllocator
from tests.testbed.rebinding_dns import RebindingResolver

pytestmark = pytest.mark.integration

#: What the rebinding name answers first: a public address. Nothing here ever connects to it (the
#: test makes that first query itself), and the scanner's policy denies it too, as a safety net.
PUBLIC_FIRST = "8.8.8.8"
PUBLIC = AddressPolicy(public_only=True, deny=parse_networks([PUBLIC_FIRST]))


class CountingListener:
    def __init__(self) -> None:
        self.connections = 0

    async def handle(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()


async def scan_rebinding(ports: PortAllocator, policy: AddressPolicy) -> tuple[int, list[str], list[str], object]:
    listener = CountingListener()
    xmpp_port, dns_port = ports.take(), ports.take()
    server = await asyncio.start_server(listener.handle, "127.0.0.1", xmpp_port)
    try:
        resolver = RebindingResolver(
            "rebind.invalid", dns_port, xmpp_port=xmpp_port, first=PUBLIC_FIRST, later="127.0.0.1"
        )
        async with resolver:
            # The earlier lookup (a site checking the name when it was submitted) sees a public address.
            first = await dns.asyncquery.udp(
                dns.message.make_query("xmpp.rebind.invalid", "A"), "127.0.0.1", port=dns_port, timeout=2
            )
            assert [rr.address for rr in first.answer[0]] == [PUBLIC_FIRST]
            assert AddressPolicy(public_only=True).refusal(PUBLIC_FIRST) is None
            options = ScanOptions(
                domain="rebind.invalid",
                kinds=(ServiceKind.C2S,),
                resolver=HostPort("127.0.0.1", dns_port),
                timeout=20,
                dns_timeout=1,
                http=False,
                policy=policy,
            )
            result = await run_scan(options)
        return listener.connections, resolver.answers, incomplete(result), result
    finally:
        server.close()
        await server.wait_closed()


async def test_a_rebinding_name_cannot_steer_a_public_scan_to_loopback(ports: PortAllocator) -> None:
    connections, answers, reasons, result = await scan_rebinding(ports, PUBLIC)
    # The scan's own lookups got the rebound address,
    assert answers[0] == PUBLIC_FIRST
    assert set(answers[1:]) == {"127.0.0.1"}
    # the endpoint was refused at connect time, never connected to, reported plainly and not graded.
    assert connections == 0
    (endpoint,) = result.services.c2s.endpoints  # type: ignore[attr-defined]
    assert endpoint.address == "127.0.0.1"
    assert endpoint.grade is None
    assert [error.reason for error in endpoint.errors] == [ErrorReason.POLICY]
    assert "127.0.0.1 is refused by the address policy (loopback" in endpoint.errors[0].message
    assert any("refused by the address policy" in reason for reason in reasons)


async def test_the_same_name_is_scanned_in_private_mode(ports: PortAllocator) -> None:
    connections, _, _, result = await scan_rebinding(ports, AddressPolicy(deny=parse_networks([PUBLIC_FIRST])))
    assert connections > 0
    (endpoint,) = result.services.c2s.endpoints  # type: ignore[attr-defined]
    assert all(error.reason is not ErrorReason.POLICY for error in endpoint.errors)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
async def test_the_connection_layer_itself_refuses_without_connecting(ports: PortAllocator, address: str) -> None:
    listener = CountingListener()
    port = ports.take()
    server = await asyncio.start_server(listener.handle, address, port)
    try:
        endpoint = Endpoint(ServiceKind.C2S, "example.test", address, port, Transport.DIRECTTLS)
        with pytest.raises(ProbeFailure) as failure:
            async with open_prelude(endpoint, Limiter(policy=PUBLIC), Deadline.after(5)):
                pass
        assert failure.value.error.reason is ErrorReason.POLICY
        assert "loopback" in failure.value.error.message
        # The same endpoint through a private limiter does connect.
        async with open_prelude(endpoint, Limiter(), Deadline.after(5)):
            pass
    finally:
        server.close()
        await server.wait_closed()
    assert listener.connections == 1
