"""TLSA facts for every endpoint: the RRset at ``_<port>._tcp.<target>`` with its DNSSEC state.

Whether a record matches the served certificate is judged elsewhere; here the records must be the
ones published (matching for the strong server, deliberately not matching for the weak one).
"""

from __future__ import annotations

import pytest

from scanners.addresses import HostPort
from scanners.base import ServiceKind, Transport
from scanners.dns.discovery import DiscoveryOptions, discover
from scanners.dns.facts import Discovery, DnssecState, TlsaRecord
from scanners.dns.trust_anchors import load_trust_anchors
from tests.testbed.dns import DnsTestbed
from tests.testbed.layout import Layout

pytestmark = pytest.mark.integration


async def run(testbed: DnsTestbed, domain: str) -> Discovery:
    settings = DiscoveryOptions(
        resolver=HostPort(*testbed.resolver), trust_anchors=load_trust_anchors(testbed.trust_anchor_path)
    )
    return await discover(domain, settings)


def tlsa_by_port(found: Discovery) -> dict[int, tuple[str, list[TlsaRecord], DnssecState | None]]:
    table = {}
    for service in found.services:
        for endpoint in service.endpoints:
            assert endpoint.tlsa is not None
            state = endpoint.tlsa.dnssec.state if endpoint.tlsa.dnssec else None
            table[endpoint.port] = (endpoint.tlsa.name, endpoint.tlsa.records, state)
    return table


def pin(spki_sha256: str) -> list[TlsaRecord]:
    return [TlsaRecord(usage=3, selector=1, matching_type=1, data=spki_sha256.lower())]


async def test_strong_server_tlsa_pins_the_served_key_on_every_port(
    dns_testbed: DnsTestbed, layout: Layout, dns_tlsa_spki_sha256: str
) -> None:
    found = await run(dns_testbed, "example.test")
    strong = layout.strong

    assert tlsa_by_port(found) == {
        port: (f"_{port}._tcp.xmpp.example.test", pin(dns_tlsa_spki_sha256), DnssecState.SECURE)
        for port in (strong.c2s, strong.c2s_direct, strong.s2s, strong.s2s_direct)
    }


async def test_weak_server_tlsa_does_not_match_and_is_absent_elsewhere(
    dns_testbed: DnsTestbed, layout: Layout, dns_tlsa_spki_sha256: str
) -> None:
    found = await run(dns_testbed, "weak.example.test")
    table = tlsa_by_port(found)

    name, [record], state = table[layout.weak.c2s]
    assert (name, state) == (f"_{layout.weak.c2s}._tcp.xmppweak.example.test", DnssecState.SECURE)
    assert (record.usage, record.selector, record.matching_type) == (3, 1, 1)
    assert record.data != dns_tlsa_spki_sha256.lower()
    # No TLSA on the other ports, and that absence is itself proven.
    assert table[layout.weak.c2s_direct][1:] == ([], DnssecState.SECURE)


async def test_tlsa_in_an_unsigned_zone_is_reported_insecure(dns_testbed: DnsTestbed, layout: Layout) -> None:
    found = await run(dns_testbed, "unsigned.test")

    _, records, state = tlsa_by_port(found)[layout.strong.c2s]
    assert (len(records), state) == (1, DnssecState.INSECURE)


async def test_tlsa_under_nsec3_and_a_non_matching_one(
    dns_cases: DnsTestbed, layout: Layout, dns_tlsa_spki_sha256: str
) -> None:
    nsec3 = tlsa_by_port(await run(dns_cases, "nsec3.test"))
    weighted = await run(dns_cases, "weighted.cases.test")

    assert nsec3[layout.strong.c2s][1:] == (pin(dns_tlsa_spki_sha256), DnssecState.SECURE)
    assert nsec3[layout.strong.s2s][1:] == ([], DnssecState.SECURE)  # NSEC3 proves there is none
    [c2s] = [s for s in weighted.services if s.kind is ServiceKind.C2S]
    [direct] = {e.tlsa.name: e.tlsa for e in c2s.endpoints if e.transport is Transport.DIRECTTLS and e.tlsa}.values()
    assert direct.name == f"_{layout.strong.c2s_direct}._tcp.a.weighted.cases.test"
    assert [r.data for r in direct.records] != [dns_tlsa_spki_sha256.lower()]
    assert len(direct.records) == 1
