"""Peers that say nothing, and peers that are merely slow.

A server that accepts TCP and stays silent used to hold a default scan for its whole time limit
(300 s): every wait for it was bounded only by the probe's or the scan's time. Now each wait for the
server (connect, a read, a TLS handshake) is bounded by ``wait_timeout`` (6 s by default), the TLS
engine stops once its first hellos go unanswered, and probes queued behind silent ones give up with
them. Two silent endpoints on one address (sharing its 4 connection slots) are reported after about
12 s. A slow server (a 2 s pause before it first speaks on every connection, then 50 ms per
reply) is still scanned completely, with the same facts as when it answers at once.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from observatory.model import ScanResult
from observatory.orchestrate import incomplete, run_scan
from scanners.base import ErrorReason, ProbeError, ServiceKind, Transport
from scanners.tls.handshake import full_handshake
from scanners.tls.openers import tcp_opener
from tests.testbed.delay_proxy import DelayProxy, SilentServer
from tests.testbed.dns import DnsTestbed, ZoneSpec
from tests.testbed.engine import options_for_testbed
from tests.testbed.fixtures_dns import DnsFactory
from tests.testbed.layout import DOMAIN, SCANNER_DOMAIN
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator
from tests.testbed.prosody import ProsodyInstance

pytestmark = pytest.mark.integration

#: Generous, so it never flakes: the point is "seconds, not the 300 s time limit" (about 12 s here).
SILENT_BOUND = 30.0
VOLATILE = {"connections", "connections_by_probe", "duration_seconds"}


def c2s_zone(domain: str, starttls_port: int, direct_port: int) -> list[ZoneSpec]:
    records = [
        f"_xmpp-client._tcp SRV 0 5 {starttls_port} srv",
        f"_xmpps-client._tcp SRV 0 5 {direct_port} srv",
        "srv A 127.0.0.1",  # no AAAA: the test listeners are on IPv4 only
    ]
    return [ZoneSpec(domain, records=records), ZoneSpec(SCANNER_DOMAIN, records=["@ A 127.0.0.1"])]


def scan_options(dns: DnsTestbed, pki: TestPKI, domain: str) -> Any:
    return options_for_testbed(dns, pki, domain=domain, kinds=(ServiceKind.C2S,), ipv6=False, http=False)


async def test_a_silent_server_is_reported_in_seconds(
    dns_factory: DnsFactory, pki: TestPKI, ports: PortAllocator
) -> None:
    starttls_port, direct_port = ports.take_many(2)
    async with SilentServer(starttls_port) as starttls, SilentServer(direct_port) as direct:
        dns = dns_factory(c2s_zone("quiet.test", starttls_port, direct_port))
        started = time.monotonic()
        result = await run_scan(scan_options(dns, pki, "quiet.test"))
        elapsed = time.monotonic() - started
    assert elapsed < SILENT_BOUND, f"a silent server held the scan {elapsed:.1f} s"
    assert starttls.connections  # both were reached and accepted the connections
    assert direct.connections
    assert result.services.c2s is not None
    endpoints = result.services.c2s.endpoints
    assert {endpoint.transport for endpoint in endpoints} == {Transport.STARTTLS, Transport.DIRECTTLS}
    for endpoint in endpoints:
        assert endpoint.grade is None
        assert endpoint.tls is not None
        assert endpoint.tls.versions == []
        assert endpoint.tls.connections <= 6  # the first hellos, then nothing more is asked
    unreachable = next(f for f in result.findings if f.id == "endpoint.unreachable")
    assert len(unreachable.endpoints) == 2
    assert all("timeout" in detail for detail in unreachable.details)
    reasons = incomplete(result)
    assert len(reasons) == 2
    assert all("no answer" in reason for reason in reasons)


async def test_a_full_handshake_gives_up_on_silence_after_the_wait_limit(ports: PortAllocator) -> None:
    # The session, chain and certificate probes complete a handshake with OpenSSL; a server that
    # takes the connection and never answers the ClientHello must cost the wait, not the probe's time.
    async with SilentServer(ports.take()) as silent:
        started = time.monotonic()
        outcome = await full_handshake(
            tcp_opener("127.0.0.1", silent.port), server_name=DOMAIN, time_limit=60.0, wait_limit=0.5
        )
        elapsed = time.monotonic() - started
    assert isinstance(outcome, ProbeError)
    assert outcome.reason is ErrorReason.TIMEOUT
    assert silent.connections == 1
    assert elapsed < 10.0, f"the handshake waited {elapsed:.1f} s for a silent server"


def comparable(result: ScanResult, transport: Transport) -> dict[str, Any]:
    assert result.services.c2s is not None
    endpoint = next(e for e in result.services.c2s.endpoints if e.transport is transport)
    assert endpoint.tls is not None
    assert endpoint.stream is not None
    return {
        "tls": endpoint.tls.model_dump(exclude=VOLATILE),
        "grade": endpoint.grade.letter if endpoint.grade else None,
        "starttls": endpoint.stream.starttls,
        "features": endpoint.stream.features_after_tls,
        "errors": endpoint.errors + endpoint.stream.errors + endpoint.tls.errors,
    }


async def test_a_slow_server_is_still_scanned_completely(
    dns_factory: DnsFactory,
    dns_testbed: DnsTestbed,
    pki: TestPKI,
    ports: PortAllocator,
    prosody_strong: ProsodyInstance,
) -> None:
    strong = prosody_strong.ports
    direct = await run_scan(scan_options(dns_testbed, pki, DOMAIN))
    async with (
        DelayProxy(strong.c2s, ports.take(), first_delay=2.0, delay=0.05) as slow_starttls,
        DelayProxy(strong.c2s_direct, ports.take(), first_delay=2.0, delay=0.05) as slow_direct,
    ):
        # The same domain, served by another DNS testbed whose SRV records point at the slow proxies.
        dns = dns_factory(c2s_zone(DOMAIN, slow_starttls.port, slow_direct.port))
        slow = await run_scan(scan_options(dns, pki, DOMAIN))
    assert slow_starttls.connections > 10
    assert slow_direct.connections > 10
    for transport in (Transport.STARTTLS, Transport.DIRECTTLS):
        seen_slowly = comparable(slow, transport)
        assert seen_slowly["errors"] == []
        assert seen_slowly == comparable(direct, transport)
    assert incomplete(slow) == []
