"""What DNS discovery observes: SRV and TLSA record sets, each with its DNSSEC state."""

from __future__ import annotations

from enum import StrEnum

from scanners.base import FactModel, Transport


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
