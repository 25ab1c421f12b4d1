"""What a lookup returns (the final RRset, the aliases on the way, one verdict), and message helpers."""

from __future__ import annotations

from dataclasses import dataclass, field

import dns.name
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.RRSIG import RRSIG

from scanners.dns.verdicts import Verdict


@dataclass(frozen=True)
class Link:
    """One alias followed: ``owner`` → ``target`` (``dname`` is set when synthesised from a DNAME)."""

    owner: dns.name.Name
    target: dns.name.Name
    verdict: Verdict
    dname: dns.name.Name | None = None


@dataclass(frozen=True)
class Answer:
    """The outcome of one lookup: the final RRset (or none) and the verdict of the whole chain."""

    qname: dns.name.Name
    rdtype: int
    verdict: Verdict
    rcode: str | None = None
    rrset: dns.rrset.RRset | None = None
    links: tuple[Link, ...] = field(default=())
    error: str | None = None


def type_text(rdtype: int) -> str:
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))


def signatures(section: list[dns.rrset.RRset], name: dns.name.Name, rdtype: int) -> list[RRSIG]:
    return [
        sig
        for rrset in section
        if rrset.rdtype == dns.rdatatype.RRSIG and rrset.covers == rdtype and rrset.name == name
        for sig in rrset
    ]


def find(section: list[dns.rrset.RRset], name: dns.name.Name, rdtype: int) -> dns.rrset.RRset | None:
    return next((rrset for rrset in section if rrset.name == name and rrset.rdtype == rdtype), None)
