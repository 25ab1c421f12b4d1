"""Discovery rules on scripted answers (RFC 6120 §3.2, XEP-0368): dot targets, fallback, --connect.

The names live outside the trust anchor, so every verdict is insecure and no signing is needed;
DNSSEC itself is covered by the validator tests and, against unbound, by the integration tests.
"""

from __future__ import annotations

import dns.rcode
import dns.rdatatype

from scanners.addresses import HostPort
from scanners.base import ServiceKind, Transport
from scanners.dns.discovery import DiscoveryOptions, _Discoverer
from scanners.dns.facts import DnssecState, EndpointOrigin, ServiceDiscovery, ServiceStatus
from scanners.dns.trust_anchors import parse_trust_anchors
from scanners.dns.validator import Validator
from tests.unit.dns.zonekit import NOW, ScriptedResolver, Zone, rrset

ANCHORS = parse_trust_anchors(Zone.named("test.").ds_rrset().to_text())
C2S = ServiceKind.C2S
PORTS = {ServiceKind.C2S: 15222, ServiceKind.S2S: 15269}


def srv(resolver: ScriptedResolver, owner: str, *records: str) -> None:
    if records:
        resolver.add(owner, "SRV", answer=[rrset(owner, "SRV", *records)])
    else:
        resolver.add(owner, "SRV", rcode=dns.rcode.NXDOMAIN)


def addresses(resolver: ScriptedResolver, host: str, v4: str | None = "192.0.2.1", v6: str | None = None) -> None:
    for rdtype, value in (("A", v4), ("AAAA", v6)):
        resolver.add(host, rdtype, answer=[rrset(host, rdtype, value)] if value else [])


async def discover_c2s(resolver: ScriptedResolver, domain: str = "example.org", **knobs: object) -> ServiceDiscovery:
    options = DiscoveryOptions(default_ports=PORTS, **knobs)  # type: ignore[arg-type]
    run = _Discoverer(domain, options, Validator(resolver, ANCHORS, now=lambda: NOW))  # type: ignore[arg-type]
    return await run.service(C2S)


async def test_a_lone_dot_means_not_offered_and_nothing_else_is_asked() -> None:
    resolver = ScriptedResolver()
    srv(resolver, "_xmpp-client._tcp.example.org.", "0 0 0 .")
    srv(resolver, "_xmpps-client._tcp.example.org.")

    found = await discover_c2s(resolver)

    assert (found.status, found.endpoints, found.targets) == (ServiceStatus.NOT_OFFERED, [], [])
    assert {qtype for _, qtype in resolver.asked} == {"SRV"}  # no A/AAAA fallback


async def test_direct_tls_refused_keeps_the_starttls_records() -> None:
    resolver = ScriptedResolver()
    srv(resolver, "_xmpp-client._tcp.example.org.", "0 5 5222 xmpp.example.org.")
    srv(resolver, "_xmpps-client._tcp.example.org.", "0 0 0 .")
    addresses(resolver, "xmpp.example.org.")

    found = await discover_c2s(resolver)

    assert (found.status, found.direct_tls_refused) == (ServiceStatus.SRV, True)
    assert [(e.transport, e.target, e.port) for e in found.endpoints] == [
        (Transport.STARTTLS, "xmpp.example.org", 5222)
    ]


async def test_no_srv_at_all_uses_the_configured_default_port() -> None:
    resolver = ScriptedResolver()
    srv(resolver, "_xmpp-client._tcp.example.org.")
    srv(resolver, "_xmpps-client._tcp.example.org.")
    addresses(resolver, "example.org.", "192.0.2.5", "2001:db8::5")

    found = await discover_c2s(resolver)

    assert found.status is ServiceStatus.FALLBACK
    assert [(e.target, e.port, e.address, e.origin) for e in found.endpoints] == [
        ("example.org", 15222, "192.0.2.5", EndpointOrigin.FALLBACK),
        ("example.org", 15222, "2001:db8::5", EndpointOrigin.FALLBACK),
    ]
    assert found.endpoints[0].tlsa is not None
    assert found.endpoints[0].tlsa.name == "_15222._tcp.example.org"


async def test_duplicate_records_and_stray_dots_give_each_endpoint_once() -> None:
    resolver = ScriptedResolver()
    srv(resolver, "_xmpp-client._tcp.example.org.", "0 5 5222 xmpp.example.org.", "1 0 0 .")
    srv(resolver, "_xmpps-client._tcp.example.org.", "0 5 5223 xmpp.example.org.")
    resolver.add(
        "xmpp.example.org.", "A", answer=[rrset("xmpp.example.org.", "A", "192.0.2.1", "192.0.2.1", "192.0.2.2")]
    )
    resolver.add("xmpp.example.org.", "AAAA")

    found = await discover_c2s(resolver)

    assert [(e.transport.value, e.port, e.address, e.order) for e in found.endpoints] == [
        ("directtls", 5223, "192.0.2.1", 0),
        ("directtls", 5223, "192.0.2.2", 1),
        ("starttls", 5222, "192.0.2.1", 2),
        ("starttls", 5222, "192.0.2.2", 3),
    ]
    assert {e.dnssec.srv.state for e in found.endpoints} == {DnssecState.INSECURE}  # type: ignore[union-attr]


async def test_connect_to_an_address_asks_only_for_the_domains_tlsa() -> None:
    resolver = ScriptedResolver()

    found = await discover_c2s(resolver, connect=HostPort("2001:db8::7", 5999))

    assert [(e.target, e.port, e.address, e.origin) for e in found.endpoints] == [
        ("2001:db8::7", 5999, "2001:db8::7", EndpointOrigin.CONNECT)
    ]
    assert resolver.asked == [("_5999._tcp.example.org.", "TLSA")]
    # The address family filter still applies.
    assert (await discover_c2s(ScriptedResolver(), connect=HostPort("2001:db8::7", 0), ipv6=False)).endpoints == []


async def test_connect_to_an_international_name_asks_for_its_a_labels() -> None:
    resolver = ScriptedResolver()
    addresses(resolver, "xn--bcher-kva.example.")

    found = await discover_c2s(resolver, connect=HostPort("Bücher.example", 0), connect_transport=Transport.DIRECTTLS)

    assert [(e.transport, e.target, e.port) for e in found.endpoints] == [
        (Transport.DIRECTTLS, "xn--bcher-kva.example", 15222)
    ]


def test_both_families_are_asked_when_neither_is_chosen() -> None:
    assert DiscoveryOptions(ipv4=False, ipv6=False).address_types == (dns.rdatatype.A, dns.rdatatype.AAAA)
    assert DiscoveryOptions(ipv4=True, ipv6=False).address_types == (dns.rdatatype.A,)


async def test_a_dname_that_makes_a_name_too_long_is_a_fact_not_a_crash() -> None:
    resolver = ScriptedResolver()
    long_target = ".".join(["x" * 60] * 4) + "."
    srv(resolver, "_xmpp-client._tcp.example.org.", "0 5 5222 a.b.c.d.e.f.short.example.org.")
    srv(resolver, "_xmpps-client._tcp.example.org.")
    dname = rrset("short.example.org.", "DNAME", long_target)
    for rdtype in ("A", "AAAA"):
        resolver.add("a.b.c.d.e.f.short.example.org.", rdtype, answer=[dname])

    found = await discover_c2s(resolver)

    [target] = found.targets
    assert target.addresses[0].cnames[0].dnssec.state is DnssecState.BOGUS  # type: ignore[union-attr]
    assert found.endpoints == []
