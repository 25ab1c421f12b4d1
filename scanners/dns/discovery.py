"""Finding a domain's XMPP endpoints as clients and servers do (RFC 6120 §3.2, XEP-0368, RFC 2782).

For each service (c2s, s2s) both SRV names are asked (``_xmpp-…`` for STARTTLS, ``_xmpps-…`` for
Direct TLS) and merged into one order. Every target is looked up (A and AAAA, aliases followed) and
every address becomes an endpoint, with the TLSA RRset at ``_<port>._tcp.<target>``; every RRset
carries its DNSSEC verdict. A lone ``.`` target means the service is deliberately not offered;
only when neither name has any SRV record are the domain's own addresses used on the default port.
``connect`` skips all that and scans one address as the domain.

First of all, the resolver must be able to resolve the trust anchor's zone
(:mod:`.resolver_check`); if it cannot, discovery stops with that one reason (only a
``--connect`` address, which needs no lookup, is still returned as an endpoint).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import dns.name
import dns.rdatatype

from scanners.addresses import HostPort
from scanners.base import ErrorReason, ProbeError, ServiceKind, Transport
from scanners.dns.client import DEFAULT_MAX_QUERIES, DEFAULT_TIMEOUT, DnsClient, system_resolvers
from scanners.dns.facts import (
    AddressLookup,
    DiscoveredEndpoint,
    Discovery,
    DnsStats,
    EndpointDnssec,
    EndpointOrigin,
    ServiceDiscovery,
    ServiceStatus,
    SrvLookup,
    SrvRecord,
    TargetFacts,
    TargetFlag,
    TlsaLookup,
    TxtLookupFacts,
)
from scanners.dns.names import DomainError, normalize_domain
from scanners.dns.ordering import NO_SERVICE, SrvChoice, report_order
from scanners.dns.records import address_lookup, aliases, is_ip_literal, srv_lookup, tlsa_lookup
from scanners.dns.resolver_check import check_resolver
from scanners.dns.tasks import shared
from scanners.dns.trust_anchors import TrustAnchors, root_trust_anchors
from scanners.dns.validator import Validator

#: SRV owner labels per service: (STARTTLS, Direct TLS).
SRV_SERVICES = {
    ServiceKind.C2S: ("_xmpp-client._tcp", "_xmpps-client._tcp"),
    ServiceKind.S2S: ("_xmpp-server._tcp", "_xmpps-server._tcp"),
}
#: The fallback ports of RFC 6120 §3.2.2 (configurable, so tests need no well-known ports).
DEFAULT_PORTS: Mapping[ServiceKind, int] = {ServiceKind.C2S: 5222, ServiceKind.S2S: 5269}
DEFAULT_TIME_LIMIT = 30.0
#: Targets and endpoints kept per service, whatever a zone publishes.
MAX_TARGETS = 16
MAX_ENDPOINTS = 64
MAX_TXT_STRINGS = 16


@dataclass(frozen=True)
class DiscoveryOptions:
    kinds: tuple[ServiceKind, ...] = (ServiceKind.C2S, ServiceKind.S2S)
    #: The recursive resolver to ask; None: the system's (``/etc/resolv.conf``).
    resolver: HostPort | None = None
    #: None: the IANA root KSKs.
    trust_anchors: TrustAnchors | None = None
    default_ports: Mapping[ServiceKind, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    #: Address families to look up; both False means both.
    ipv4: bool = True
    ipv6: bool = True
    #: ``--connect``: skip discovery, scan this address (port 0: the service's default port) …
    connect: HostPort | None = None
    #: … with this transport (STARTTLS unless the port is known to be Direct TLS).
    connect_transport: Transport = Transport.STARTTLS
    timeout: float = DEFAULT_TIMEOUT
    #: Also look up what HTTPS discovery needs: the domain's own addresses and ``_xmppconnect`` TXT.
    web: bool = False
    time_limit: float = DEFAULT_TIME_LIMIT
    max_queries: int = DEFAULT_MAX_QUERIES
    now: Callable[[], float] = time.time

    @property
    def address_types(self) -> tuple[int, ...]:
        wanted = [(self.ipv4, dns.rdatatype.A), (self.ipv6, dns.rdatatype.AAAA)]
        chosen = tuple(rdtype for enabled, rdtype in wanted if enabled)
        return chosen or (dns.rdatatype.A, dns.rdatatype.AAAA)


async def discover(domain: str, options: DiscoveryOptions | None = None) -> Discovery:
    """Discover the endpoints of ``domain`` (already normalised: A-labels, no trailing dot)."""
    options = options or DiscoveryOptions()
    started = time.perf_counter()
    servers = [options.resolver] if options.resolver is not None else system_resolvers()
    client = DnsClient(servers, timeout=options.timeout, max_queries=options.max_queries, time_limit=options.time_limit)
    anchors = options.trust_anchors or root_trust_anchors()
    run = _Discoverer(domain, options, Validator(client, anchors, now=options.now))
    web_host: TargetFacts | None = None
    xmppconnect: TxtLookupFacts | None = None
    outcomes: list[tuple[ServiceDiscovery, ProbeError | None]] = []
    try:
        failure = await check_resolver(client, anchors, dns.name.from_text(domain), client.description)
        run.resolver_failed = failure is not None
        # A resolver that cannot resolve public names teaches nothing about the domain; only an
        # address given with --connect needs no DNS, and is still scanned.
        if failure is None or run.connects_to_address:
            outcomes = list(await asyncio.gather(*(_guarded(run, kind) for kind in options.kinds)))
        if options.web and failure is None:
            web_host, xmppconnect = await asyncio.gather(run._target(domain), run.txt(f"_xmppconnect.{domain}"))
    finally:
        client.close()
    elapsed = time.perf_counter() - started
    services = [service for service, _ in outcomes]
    errors = [error for _, error in outcomes if error is not None]
    if failure is not None:
        # The one reason: a time limit or failed lookups after it would only repeat it.
        reason = ErrorReason.TIMEOUT if failure.rcode is None else ErrorReason.DNS
        errors.append(ProbeError(phase="dns", reason=reason, message=failure.message))
    elif client.deadline_reached:
        message = f"the {options.time_limit:.0f} s limit for DNS lookups was reached; some lookups are missing"
        errors.append(ProbeError(phase="dns", reason=ErrorReason.TIMEOUT, message=message))
    stats = DnsStats(
        resolver=client.description,
        trust_anchor=anchors.source,
        queries=client.stats.queries,
        queries_by_type=dict(sorted(client.stats.by_type.items())),
        tcp_queries=client.stats.tcp,
        failed_queries=client.stats.failed,
        duration_seconds=round(elapsed, 6),
        resolver_failure=failure,
    )
    return Discovery(
        domain=domain, services=services, stats=stats, errors=errors, web_host=web_host, xmppconnect=xmppconnect
    )


async def _guarded(run: _Discoverer, kind: ServiceKind) -> tuple[ServiceDiscovery, ProbeError | None]:
    try:
        return await run.service(kind), None
    except Exception as exc:  # hostile data meeting a case nobody foresaw must not end the whole scan
        message = f"discovery failed: {type(exc).__name__}: {exc}"
        error = ProbeError(phase=f"dns/{kind.value}", reason=ErrorReason.INTERNAL, message=message)
        return ServiceDiscovery(kind=kind, status=ServiceStatus.NONE), error


class _Discoverer:
    def __init__(self, domain: str, options: DiscoveryOptions, validator: Validator) -> None:
        self.domain = domain
        self.options = options
        self.validator = validator
        self._targets: dict[str, asyncio.Task[TargetFacts]] = {}
        self._tlsa: dict[str, asyncio.Task[TlsaLookup]] = {}
        #: The resolver check failed: no lookup is sent (each would fail the same way, or time out).
        self.resolver_failed = False

    @property
    def connects_to_address(self) -> bool:
        """``--connect`` with an IP address: the endpoint is known without any lookup."""
        return self.options.connect is not None and is_ip_literal(self.options.connect.host)

    async def service(self, kind: ServiceKind) -> ServiceDiscovery:
        if self.options.connect is not None:
            return await self._connect(kind)
        origin = dns.name.from_text(self.domain)
        names = [dns.name.from_text(label, origin) for label in SRV_SERVICES[kind]]
        plain, direct = await asyncio.gather(*(self.validator.lookup(name, dns.rdatatype.SRV) for name in names))
        lookups = [srv_lookup(plain, Transport.STARTTLS), srv_lookup(direct, Transport.DIRECTTLS)]
        choices = [SrvChoice(lookup.transport, record) for lookup in lookups for record in lookup.records]
        base = ServiceDiscovery(
            kind=kind,
            status=ServiceStatus.SRV,
            srv=lookups,
            srv_cnames=aliases(plain) + aliases(direct),
            direct_tls_refused=_refused(lookups[1]),
        )
        if not choices:
            fallback = SrvChoice(Transport.STARTTLS, SrvRecord(priority=0, weight=0, port=self._port(kind), target=""))
            return await self._build(base, [fallback], self.domain, EndpointOrigin.FALLBACK)
        ordered = report_order(choices)
        if not ordered:
            return base.model_copy(update={"status": ServiceStatus.NOT_OFFERED})
        return await self._build(base, ordered, None, EndpointOrigin.SRV)

    async def _connect(self, kind: ServiceKind) -> ServiceDiscovery:
        assert self.options.connect is not None
        host, port = self.options.connect.host, self.options.connect.port or self._port(kind)
        if not is_ip_literal(host):
            with contextlib.suppress(DomainError):  # an unusable name simply fails its lookups
                host = normalize_domain(host)
        base = ServiceDiscovery(kind=kind, status=ServiceStatus.CONNECT)
        choice = SrvChoice(self.options.connect_transport, SrvRecord(priority=0, weight=0, port=port, target=""))
        return await self._build(base, [choice], host, EndpointOrigin.CONNECT)

    def _port(self, kind: ServiceKind) -> int:
        return self.options.default_ports.get(kind, DEFAULT_PORTS[kind])

    async def _build(
        self, base: ServiceDiscovery, choices: list[SrvChoice], host: str | None, origin: EndpointOrigin
    ) -> ServiceDiscovery:
        """Targets, addresses and TLSA for ``choices`` (``host`` replaces the targets on fallback/connect)."""
        names = list(dict.fromkeys(host or choice.record.target for choice in choices))[:MAX_TARGETS]
        tlsa_names = {
            (name, choice.record.port): f"_{choice.record.port}._tcp.{self._tlsa_base(name)}"
            for choice in choices
            if (name := host or choice.record.target) in names
        }
        # Addresses and TLSA do not depend on each other: ask for all of them at once.
        found_targets, found_tlsa = await asyncio.gather(
            asyncio.gather(*(self._target(name) for name in names)),
            asyncio.gather(*(self._tlsa_lookup(name) for name in tlsa_names.values())),
        )
        targets = dict(zip(names, found_targets, strict=True))
        tlsa = dict(zip(tlsa_names, found_tlsa, strict=True))
        srv_state = {lookup.transport: lookup.dnssec for lookup in base.srv}
        endpoints: list[DiscoveredEndpoint] = []
        seen: set[tuple[Transport, str, int, str]] = set()
        for choice in choices:
            name = host or choice.record.target
            if name not in targets:
                continue
            for lookup in targets[name].addresses:
                for address in lookup.addresses:
                    key = (choice.transport, name, choice.record.port, address)
                    if key in seen or len(endpoints) >= MAX_ENDPOINTS:
                        continue
                    seen.add(key)
                    records = tlsa[(name, choice.record.port)]
                    endpoints.append(
                        DiscoveredEndpoint(
                            kind=base.kind,
                            transport=choice.transport,
                            target=name,
                            port=choice.record.port,
                            address=address,
                            origin=origin,
                            order=len(endpoints),
                            priority=choice.record.priority if origin is EndpointOrigin.SRV else None,
                            weight=choice.record.weight if origin is EndpointOrigin.SRV else None,
                            dnssec=EndpointDnssec(
                                srv=srv_state.get(choice.transport), address=lookup.dnssec, tlsa=records.dnssec
                            ),
                            tlsa=records,
                        )
                    )
        status = ServiceStatus.FALLBACK if origin is EndpointOrigin.FALLBACK else base.status
        if origin is EndpointOrigin.FALLBACK and not endpoints:
            status = ServiceStatus.NONE
        return base.model_copy(update={"status": status, "targets": list(targets.values()), "endpoints": endpoints})

    def _tlsa_base(self, target: str) -> str:
        # An address has no TLSA name of its own; --connect to an address uses the domain's (as fallback does).
        return self.domain if is_ip_literal(target) and self.options.connect is not None else target

    async def _target(self, name: str) -> TargetFacts:
        return await shared(self._targets, name, lambda: self._lookup_target(name))

    async def _lookup_target(self, name: str) -> TargetFacts:
        if self.options.connect is not None and is_ip_literal(name):
            address = ipaddress.ip_address(name)
            rdtype = "A" if address.version == 4 else "AAAA"
            wanted = dns.rdatatype.from_text(rdtype) in self.options.address_types
            lookups = [AddressLookup(name=name, rdtype=rdtype, addresses=[str(address)] if wanted else [])]
            return TargetFacts(name=name, addresses=lookups)
        qname = dns.name.from_text(name)
        answers = await asyncio.gather(*(self.validator.lookup(qname, t) for t in self.options.address_types))
        lookups = [address_lookup(answer) for answer in answers]
        flags = []
        if any(answer.links and answer.links[0].owner == qname for answer in answers):
            flags.append(TargetFlag.CNAME)
        if not any(lookup.addresses for lookup in lookups):
            flags.append(TargetFlag.NO_ADDRESS)
        if is_ip_literal(name):
            flags.append(TargetFlag.IP_LITERAL)
        if any(lookup.error for lookup in lookups):
            flags.append(TargetFlag.LOOKUP_FAILED)
        return TargetFacts(name=name, flags=flags, addresses=lookups)

    async def txt(self, name: str) -> TxtLookupFacts:
        answer = await self.validator.lookup(dns.name.from_text(name), dns.rdatatype.TXT)
        strings = [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer.rrset or ()]
        return TxtLookupFacts(name=name, strings=strings[:MAX_TXT_STRINGS], rcode=answer.rcode, error=answer.error)

    async def _tlsa_lookup(self, name: str) -> TlsaLookup:
        if self.resolver_failed:
            return TlsaLookup(name=name, error="not looked up: the resolver cannot resolve public names")

        async def lookup() -> TlsaLookup:
            return tlsa_lookup(await self.validator.lookup(dns.name.from_text(name), dns.rdatatype.TLSA))

        return await shared(self._tlsa, name, lookup)


def _refused(lookup: SrvLookup) -> bool:
    return len(lookup.records) == 1 and lookup.records[0].target == NO_SERVICE
