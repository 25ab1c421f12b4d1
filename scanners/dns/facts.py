"""What DNS discovery observes: SRV, address and TLSA record sets, each with its DNSSEC state, and the
endpoints derived from them."""

from __future__ import annotations

from enum import StrEnum

from scanners.base import FactModel, ProbeError, ServiceKind, Transport


class DnssecState(StrEnum):
    SECURE = "secure"
    INSECURE = "insecure"
    BOGUS = "bogus"
    #: No answer could be validated either way (e.g. the resolver timed out).
    INDETERMINATE = "indeterminate"


class DnssecStatus(FactModel):
    state: DnssecState
    #: Why, in words: "expired signature", "no matching DS", "NSEC proves no DS", …
    reason: str | None = None


class SrvRecord(FactModel):
    priority: int
    weight: int
    port: int
    target: str


class SrvLookup(FactModel):
    """One SRV query, e.g. ``_xmpps-client._tcp.example.org``, and what came back."""

    name: str
    transport: Transport
    rcode: str | None = None
    records: list[SrvRecord] = []
    dnssec: DnssecStatus | None = None
    error: str | None = None


class TlsaRecord(FactModel):
    usage: int
    selector: int
    matching_type: int
    #: Certificate association data, lower-case hex.
    data: str


class TlsaLookup(FactModel):
    """The TLSA RRset at ``_<port>._tcp.<srv-target>``."""

    name: str
    records: list[TlsaRecord] = []
    dnssec: DnssecStatus | None = None
    error: str | None = None


class EndpointDnssec(FactModel):
    """DNSSEC state of each RRset an endpoint was derived from."""

    srv: DnssecStatus | None = None
    address: DnssecStatus | None = None
    tlsa: DnssecStatus | None = None


# --- Discovery: what the SRV, address and TLSA lookups found, and the endpoints derived from them ---


class CnameLink(FactModel):
    """One alias followed on the way to an answer (a CNAME, or a CNAME synthesised from a DNAME)."""

    owner: str
    target: str
    #: Set when the alias was synthesised from a DNAME at this owner (an ancestor of the name asked).
    dname: str | None = None
    dnssec: DnssecStatus | None = None


class AddressLookup(FactModel):
    """One A or AAAA query for a target, with the aliases it went through."""

    name: str
    rdtype: str
    rcode: str | None = None
    addresses: list[str] = []
    cnames: list[CnameLink] = []
    #: State of the whole chain: the worst of the aliases and the final RRset (or its denial).
    dnssec: DnssecStatus | None = None
    error: str | None = None


class TargetFlag(StrEnum):
    #: The target is an alias; RFC 2782 says an SRV target must not be one.
    CNAME = "cname"
    #: Neither A nor AAAA gave an address (in the families asked for).
    NO_ADDRESS = "no-address"
    #: The target looks like an IP address written as a name (``192.0.2.1.``).
    IP_LITERAL = "ip-literal"
    #: An address lookup failed (timeout, SERVFAIL, refused), so the address list may be incomplete.
    LOOKUP_FAILED = "lookup-failed"


class TargetFacts(FactModel):
    """A host the endpoints connect to: an SRV target, the domain itself on fallback, or ``--connect``."""

    name: str
    flags: list[TargetFlag] = []
    addresses: list[AddressLookup] = []


class EndpointOrigin(StrEnum):
    SRV = "srv"
    #: No SRV record at all: the domain's own addresses on the default port (RFC 6120 §3.2.2).
    FALLBACK = "fallback"
    #: ``--connect`` chose the address; nothing was discovered.
    CONNECT = "connect"


class DiscoveredEndpoint(FactModel):
    """One place to connect to, in the service's order (``order`` 0 first)."""

    kind: ServiceKind
    transport: Transport
    target: str
    port: int
    address: str
    origin: EndpointOrigin
    order: int
    priority: int | None = None
    weight: int | None = None
    dnssec: EndpointDnssec | None = None
    tlsa: TlsaLookup | None = None


class ServiceStatus(StrEnum):
    #: SRV records name at least one target.
    SRV = "srv"
    #: A single ``.`` target: the service is deliberately not offered (no fallback).
    NOT_OFFERED = "not-offered"
    #: No SRV records at all; the domain's addresses on the default port were used.
    FALLBACK = "fallback"
    #: ``--connect``: discovery was skipped.
    CONNECT = "connect"
    #: Nothing to connect to: no SRV records and no address, or every lookup failed.
    NONE = "none"


class ServiceDiscovery(FactModel):
    kind: ServiceKind
    status: ServiceStatus
    srv: list[SrvLookup] = []
    #: Aliases followed from the SRV owner names (rare, but allowed).
    srv_cnames: list[CnameLink] = []
    #: True when the Direct TLS SRV name holds only a ``.`` target (XEP-0368: no Direct TLS offered).
    direct_tls_refused: bool = False
    targets: list[TargetFacts] = []
    endpoints: list[DiscoveredEndpoint] = []


class ResolverFailure(FactModel):
    """The resolver could not resolve the trust anchor's zone, so nothing it says about a domain counts.

    Offline, or behind a resolver that denies the root (NXDOMAIN, REFUSED for ``. DNSKEY``), every
    lookup fails alike; read one by one, that would look like "no SRV record and no address".
    """

    resolver: str
    #: The zone asked for (its DNSKEY): ``.`` for the IANA anchors, a testbed's own zone otherwise.
    zone: str
    #: The resolver's answer code, or None when no answer came (``error`` says why).
    rcode: str | None = None
    error: str | None = None
    #: The one reason shown to people.
    message: str


class DnsStats(FactModel):
    """What discovery cost: queries sent (each distinct question once per scan), and time; and whether
    the resolver asked could be used at all."""

    resolver: str
    trust_anchor: str
    queries: int = 0
    #: Query type → questions of that type (SRV, A, AAAA, TLSA, and DS/DNSKEY for the validation).
    queries_by_type: dict[str, int] = {}
    tcp_queries: int = 0
    failed_queries: int = 0
    duration_seconds: float = 0.0
    #: Set when the resolver could not resolve the trust anchor's zone; discovery stopped there.
    resolver_failure: ResolverFailure | None = None


class TxtLookupFacts(FactModel):
    name: str
    strings: list[str] = []
    rcode: str | None = None
    error: str | None = None


class Discovery(FactModel):
    domain: str
    services: list[ServiceDiscovery] = []
    stats: DnsStats
    #: Failures not tied to one lookup (e.g. the time limit for the whole discovery was reached).
    errors: list[ProbeError] = []
    #: With ``web``: the domain's own addresses (where host-meta and POSH are fetched from) …
    web_host: TargetFacts | None = None
    #: … and the legacy ``_xmppconnect`` TXT record (XEP-0156 §4).
    xmppconnect: TxtLookupFacts | None = None

    @property
    def resolver_failure(self) -> ResolverFailure | None:
        return self.stats.resolver_failure
