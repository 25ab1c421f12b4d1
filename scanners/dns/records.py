"""Validated answers turned into facts: SRV, address and TLSA lookups, and alias chains."""

from __future__ import annotations

import ipaddress

import dns.name
import dns.rdatatype

from scanners.base import Transport
from scanners.dns.answers import Answer
from scanners.dns.facts import AddressLookup, CnameLink, SrvLookup, SrvRecord, TlsaLookup, TlsaRecord

#: Records kept from one RRset; a hostile zone cannot make the scan explode into endpoints.
MAX_RECORDS = 32


def name_text(name: dns.name.Name) -> str:
    """A name as shown in facts: lower-case A-labels, no trailing dot (the root stays ``.``)."""
    if name == dns.name.root:
        return "."
    return name.to_text(omit_final_dot=True).lower()


def is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.rstrip("."))
    except ValueError:
        return False
    return True


def aliases(answer: Answer) -> list[CnameLink]:
    return [
        CnameLink(
            owner=name_text(link.owner),
            target=name_text(link.target),
            dname=name_text(link.dname) if link.dname is not None else None,
            dnssec=link.verdict.status(),
        )
        for link in answer.links
    ]


def _rdatas(answer: Answer) -> list:
    return list(answer.rrset)[:MAX_RECORDS] if answer.rrset is not None else []


def srv_lookup(answer: Answer, transport: Transport) -> SrvLookup:
    records = sorted(
        (
            SrvRecord(priority=r.priority, weight=r.weight, port=r.port, target=name_text(r.target))
            for r in _rdatas(answer)
        ),
        key=lambda r: (r.priority, -r.weight, r.target, r.port),
    )
    return SrvLookup(
        name=name_text(answer.qname),
        transport=transport,
        rcode=answer.rcode,
        records=records,
        dnssec=answer.verdict.status(),
        error=answer.error,
    )


def address_lookup(answer: Answer) -> AddressLookup:
    addresses = sorted({r.address for r in _rdatas(answer)}, key=ipaddress.ip_address)
    return AddressLookup(
        name=name_text(answer.qname),
        rdtype=dns.rdatatype.to_text(dns.rdatatype.RdataType.make(answer.rdtype)),
        rcode=answer.rcode,
        addresses=[str(ipaddress.ip_address(address)) for address in addresses],
        cnames=aliases(answer),
        dnssec=answer.verdict.status(),
        error=answer.error,
    )


def tlsa_lookup(answer: Answer) -> TlsaLookup:
    records = sorted(
        (
            TlsaRecord(usage=r.usage, selector=r.selector, matching_type=r.mtype, data=r.cert.hex())
            for r in _rdatas(answer)
        ),
        key=lambda r: (r.usage, r.selector, r.matching_type, r.data),
    )
    return TlsaLookup(name=name_text(answer.qname), records=records, dnssec=answer.verdict.status(), error=answer.error)
