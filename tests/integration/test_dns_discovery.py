"""Discovery on every layout of the testbed: which endpoints, in which order, with which DNSSEC states."""

from __future__ import annotations

import pytest

from scanners.addresses import HostPort
from scanners.base import ServiceKind, Transport
from scanners.dns.discovery import DiscoveryOptions, discover
from scanners.dns.facts import (
    DiscoveredEndpoint,
    Discovery,
    DnssecState,
    EndpointOrigin,
    ServiceDiscovery,
    ServiceStatus,
    TargetFlag,
)
from scanners.dns.trust_anchors import load_trust_anchors
from tests.testbed.dns import DnsTestbed
from tests.testbed.dns_zones import BOGUS_ADDRESS, BOGUS_SRV_PORT
from tests.testbed.layout import Layout

pytestmark = pytest.mark.integration

C2S, S2S = ServiceKind.C2S, ServiceKind.S2S
START, DIRECT = Transport.STARTTLS, Transport.DIRECTTLS
V4, V6 = "127.0.0.1", "::1"
SECURE, INSECURE, BOGUS = DnssecState.SECURE, DnssecState.INSECURE, DnssecState.BOGUS


def options(testbed: DnsTestbed, layout: Layout, **knobs: object) -> DiscoveryOptions:
    # The fallback ports are the strong server's, so the fallback endpoints are real ones.
    settings: dict[str, object] = {
        "resolver": HostPort(*testbed.resolver),
        "trust_anchors": load_trust_anchors(testbed.trust_anchor_path),
        "default_ports": {C2S: layout.strong.c2s, S2S: layout.strong.s2s},
        **knobs,
    }
    return DiscoveryOptions(**settings)  # type: ignore[arg-type]


async def run(testbed: DnsTestbed, layout: Layout, domain: str, **knobs: object) -> Discovery:
    return await discover(domain, options(testbed, layout, **knobs))


def service(found: Discovery, kind: ServiceKind) -> ServiceDiscovery:
    [match] = [s for s in found.services if s.kind is kind]
    return match


def rows(endpoints: list[DiscoveredEndpoint]) -> list[tuple[str, str, int, str]]:
    return [(e.transport.value, e.target, e.port, e.address) for e in endpoints]


async def test_example_test_has_every_target_address_and_transport(dns_testbed: DnsTestbed, layout: Layout) -> None:
    found = await run(dns_testbed, layout, "example.test")
    c2s, strong = service(found, C2S), layout.strong

    assert c2s.status is ServiceStatus.SRV
    # Same priority and weight: Direct TLS first, then STARTTLS; IPv4 then IPv6 per target.
    assert rows(c2s.endpoints) == [
        ("directtls", "xmpp.example.test", strong.c2s_direct, V4),
        ("directtls", "xmpp.example.test", strong.c2s_direct, V6),
        ("starttls", "xmpp.example.test", strong.c2s, V4),
        ("starttls", "xmpp.example.test", strong.c2s, V6),
    ]
    assert [e.order for e in c2s.endpoints] == [0, 1, 2, 3]
    assert {(e.priority, e.weight, e.origin) for e in c2s.endpoints} == {(0, 5, EndpointOrigin.SRV)}
    assert rows(service(found, S2S).endpoints)[0] == ("directtls", "xmpp.example.test", strong.s2s_direct, V4)
    for endpoint in c2s.endpoints + service(found, S2S).endpoints:
        assert endpoint.dnssec is not None
        states = (endpoint.dnssec.srv.state, endpoint.dnssec.address.state, endpoint.dnssec.tlsa.state)
        assert states == (SECURE, SECURE, SECURE)
    assert [(lookup.name, lookup.transport, lookup.rcode) for lookup in c2s.srv] == [
        ("_xmpp-client._tcp.example.test", START, "NOERROR"),
        ("_xmpps-client._tcp.example.test", DIRECT, "NOERROR"),
    ]
    assert found.stats.queries > 0
    assert found.errors == []


async def test_merged_weighted_order_and_target_flags(dns_cases: DnsTestbed, layout: Layout) -> None:
    found = await run(dns_cases, layout, "weighted.cases.test")
    c2s, strong = service(found, C2S), layout.strong
    domain = "weighted.cases.test"

    assert rows(c2s.endpoints) == [
        ("starttls", f"b.{domain}", strong.c2s, V4),  # priority 0, weight 60
        ("starttls", f"b.{domain}", strong.c2s, V6),
        ("directtls", f"a.{domain}", strong.c2s_direct, V4),  # priority 0, weight 10
        ("directtls", f"a.{domain}", strong.c2s_direct, V6),
        ("starttls", f"c.{domain}", strong.c2s, V6),  # priority 10; c has no IPv4 address
    ]
    assert [(e.priority, e.weight) for e in c2s.endpoints] == [(0, 60), (0, 60), (0, 10), (0, 10), (10, 0)]
    flags = {target.name: target.flags for target in c2s.targets}
    assert flags == {
        f"b.{domain}": [],
        f"a.{domain}": [],
        f"noaddr.{domain}": [TargetFlag.NO_ADDRESS],  # priority 5: a target without any address
        f"c.{domain}": [],
        "127.0.0.1": [TargetFlag.NO_ADDRESS, TargetFlag.IP_LITERAL, TargetFlag.LOOKUP_FAILED],
    }
    assert rows(service(found, S2S).endpoints) == [
        ("starttls", f"b.{domain}", strong.s2s, V4),  # weight 70 before weight 30
        ("starttls", f"b.{domain}", strong.s2s, V6),
        ("starttls", f"a.{domain}", strong.s2s, V4),
        ("starttls", f"a.{domain}", strong.s2s, V6),
    ]


async def test_dot_targets_mean_not_offered_and_no_fallback(dns_cases: DnsTestbed, layout: Layout) -> None:
    found = await run(dns_cases, layout, "dot.cases.test")
    c2s, s2s = service(found, C2S), service(found, S2S)

    assert (c2s.status, c2s.endpoints, c2s.direct_tls_refused) == (ServiceStatus.NOT_OFFERED, [], True)
    assert [record.target for lookup in c2s.srv for record in lookup.records] == [".", "."]
    # Direct TLS refused, STARTTLS offered: only the STARTTLS records count (XEP-0368).
    assert (s2s.status, s2s.direct_tls_refused) == (ServiceStatus.SRV, True)
    assert rows(s2s.endpoints) == [
        ("starttls", "xmpp.dot.cases.test", layout.strong.s2s, V4),
        ("starttls", "xmpp.dot.cases.test", layout.strong.s2s, V6),
    ]


async def test_no_srv_at_all_falls_back_to_the_domain_on_the_default_ports(
    dns_cases: DnsTestbed, layout: Layout
) -> None:
    found = await run(dns_cases, layout, "nosrv.cases.test")
    c2s = service(found, C2S)

    assert c2s.status is ServiceStatus.FALLBACK
    assert rows(c2s.endpoints) == [
        ("starttls", "nosrv.cases.test", layout.strong.c2s, V4),
        ("starttls", "nosrv.cases.test", layout.strong.c2s, V6),
    ]
    endpoint = c2s.endpoints[0]
    assert (endpoint.origin, endpoint.priority, endpoint.weight) == (EndpointOrigin.FALLBACK, None, None)
    # The absence of SRV records is itself proven (NXDOMAIN with NSEC), so the fallback is secure.
    assert [(lookup.rcode, lookup.dnssec.state) for lookup in c2s.srv if lookup.dnssec] == [
        ("NXDOMAIN", SECURE),
        ("NXDOMAIN", SECURE),
    ]
    assert endpoint.tlsa is not None
    assert endpoint.tlsa.name == f"_{layout.strong.c2s}._tcp.nosrv.cases.test"
    assert service(found, S2S).status is ServiceStatus.FALLBACK


async def test_fallback_without_an_address_leaves_nothing(dns_cases: DnsTestbed, layout: Layout) -> None:
    # wild.cases.test has a c2s SRV record (to a wildcard target) but is itself an empty non-terminal.
    found = await run(dns_cases, layout, "wild.cases.test")

    assert rows(service(found, C2S).endpoints) == [
        ("starttls", "host.dyn.cases.test", layout.strong.c2s, V4),
        ("starttls", "host.dyn.cases.test", layout.strong.c2s, V6),
    ]
    assert service(found, C2S).endpoints[0].dnssec.address.state is SECURE  # type: ignore[union-attr]
    s2s = service(found, S2S)
    assert (s2s.status, s2s.endpoints) == (ServiceStatus.NONE, [])
    assert s2s.targets[0].flags == [TargetFlag.NO_ADDRESS]


async def test_alias_targets_are_flagged_and_followed(dns_cases: DnsTestbed, layout: Layout) -> None:
    found = await run(dns_cases, layout, "alias.cases.test")
    c2s, s2s = service(found, C2S), service(found, S2S)
    targets = {target.name: target for target in c2s.targets + s2s.targets}

    same_zone = targets["xmpp.alias.cases.test"]
    assert same_zone.flags == [TargetFlag.CNAME]
    [link] = same_zone.addresses[0].cnames
    assert (link.owner, link.target, link.dnssec.state) == (  # type: ignore[union-attr]
        "xmpp.alias.cases.test",
        "real.alias.cases.test",
        SECURE,
    )
    # The alias into the unsigned zone is signed, what it points at is not: insecure address.
    away = [e for e in c2s.endpoints if e.target == "away.alias.cases.test"]
    assert {e.dnssec.address.state for e in away} == {INSECURE}  # type: ignore[union-attr]
    assert {e.dnssec.srv.state for e in away} == {SECURE}  # type: ignore[union-attr]
    # Below a DNAME: the synthesised alias, with the DNAME it came from.
    [dname_link] = targets["xmpp.renamed.alias.cases.test"].addresses[0].cnames
    assert (dname_link.target, dname_link.dname) == ("xmpp.moved.cases.test", "renamed.alias.cases.test")
    assert rows(s2s.endpoints)[0] == ("starttls", "xmpp.renamed.alias.cases.test", layout.strong.s2s, V4)


@pytest.mark.parametrize(
    ("domain", "srv", "address"),
    [
        ("nsec3.test", SECURE, SECURE),
        ("island.nsec3.test", INSECURE, INSECURE),
        ("plain.optout.test", INSECURE, INSECURE),
        ("expired.test", BOGUS, BOGUS),
        ("notyet.test", BOGUS, BOGUS),
        ("mismatch.test", BOGUS, BOGUS),
    ],
)
async def test_endpoint_dnssec_states_per_zone(
    dns_cases: DnsTestbed, layout: Layout, domain: str, srv: DnssecState, address: DnssecState
) -> None:
    found = await run(dns_cases, layout, domain)
    endpoints = service(found, C2S).endpoints + service(found, S2S).endpoints

    assert len(endpoints) == 8  # 2 services x 2 transports x 2 addresses: bogus data is still listed
    assert {e.dnssec.srv.state for e in endpoints} == {srv}  # type: ignore[union-attr]
    assert {e.dnssec.address.state for e in endpoints} == {address}  # type: ignore[union-attr]


async def test_only_the_stripped_rrset_is_bogus(dns_cases: DnsTestbed, layout: Layout) -> None:
    found = await run(dns_cases, layout, "stripped.test")
    states = {(e.transport, e.dnssec.srv.state) for e in service(found, C2S).endpoints}  # type: ignore[union-attr]

    assert states == {(START, BOGUS), (DIRECT, SECURE)}


async def test_bogus_records_are_reported_as_served(dns_testbed: DnsTestbed, layout: Layout) -> None:
    found = await run(dns_testbed, layout, "bogus.test")
    starttls = [e for e in service(found, C2S).endpoints if e.transport is START]

    assert {(e.port, e.address) for e in starttls} == {(BOGUS_SRV_PORT, BOGUS_ADDRESS), (BOGUS_SRV_PORT, V6)}
    assert {e.dnssec.srv.state for e in starttls} == {BOGUS}  # type: ignore[union-attr]
    by_address = {e.address: e.dnssec.address.state for e in starttls}  # type: ignore[union-attr]
    assert by_address == {BOGUS_ADDRESS: BOGUS, V6: SECURE}


async def test_unsigned_zone_endpoints_are_insecure(dns_testbed: DnsTestbed, layout: Layout) -> None:
    found = await run(dns_testbed, layout, "unsigned.test")

    for endpoint in service(found, C2S).endpoints:
        assert endpoint.dnssec is not None
        assert endpoint.dnssec.srv.state is INSECURE  # type: ignore[union-attr]
        assert endpoint.dnssec.tlsa.state is INSECURE  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("ipv4", "ipv6", "addresses"), [(True, False, {V4}), (False, True, {V6}), (True, True, {V4, V6})]
)
async def test_address_families_can_be_restricted(
    dns_testbed: DnsTestbed, layout: Layout, ipv4: bool, ipv6: bool, addresses: set[str]
) -> None:
    found = await run(dns_testbed, layout, "example.test", ipv4=ipv4, ipv6=ipv6, kinds=(C2S,))
    c2s = service(found, C2S)

    assert {e.address for e in c2s.endpoints} == addresses
    assert len(c2s.targets[0].addresses) == len(addresses)  # the other family was not even asked


async def test_connect_to_an_address_skips_discovery(dns_testbed: DnsTestbed, layout: Layout) -> None:
    found = await run(dns_testbed, layout, "example.test", connect=HostPort(V4, 0))
    c2s, s2s = service(found, C2S), service(found, S2S)

    assert (c2s.status, c2s.srv) == (ServiceStatus.CONNECT, [])
    assert rows(c2s.endpoints) == [("starttls", V4, layout.strong.c2s, V4)]
    assert rows(s2s.endpoints) == [("starttls", V4, layout.strong.s2s, V4)]
    assert c2s.endpoints[0].origin is EndpointOrigin.CONNECT
    # An address has no TLSA name of its own: the domain's is looked up, as on fallback.
    assert c2s.endpoints[0].tlsa.name == f"_{layout.strong.c2s}._tcp.example.test"  # type: ignore[union-attr]


async def test_connect_to_a_name_resolves_it_and_uses_its_tlsa(dns_testbed: DnsTestbed, layout: Layout) -> None:
    port = layout.strong.c2s
    found = await run(dns_testbed, layout, "example.test", connect=HostPort("xmpp.example.test", port), kinds=(C2S,))
    [c2s] = found.services

    assert rows(c2s.endpoints) == [
        ("starttls", "xmpp.example.test", port, V4),
        ("starttls", "xmpp.example.test", port, V6),
    ]
    tlsa = c2s.endpoints[0].tlsa
    assert tlsa is not None
    assert (tlsa.name, len(tlsa.records), tlsa.dnssec.state) == (  # type: ignore[union-attr]
        f"_{port}._tcp.xmpp.example.test",
        1,
        SECURE,
    )


async def test_the_scanner_domain_falls_back_on_both_services(dns_testbed: DnsTestbed, layout: Layout) -> None:
    found = await run(dns_testbed, layout, "scanner.test")

    assert [s.status for s in found.services] == [ServiceStatus.FALLBACK, ServiceStatus.FALLBACK]
    assert rows(service(found, S2S).endpoints) == [
        ("starttls", "scanner.test", layout.strong.s2s, V4),
        ("starttls", "scanner.test", layout.strong.s2s, V6),
    ]


async def test_discovery_is_repeatable(dns_cases: DnsTestbed, layout: Layout) -> None:
    first = await run(dns_cases, layout, "weighted.cases.test")
    second = await run(dns_cases, layout, "weighted.cases.test")

    assert first.model_dump(exclude={"stats"}) == second.model_dump(exclude={"stats"})
