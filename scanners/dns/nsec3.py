"""Authenticated denial of existence with NSEC3 (RFC 5155 §8, RFC 9276): pure proof checks.

As in :mod:`scanners.dns.denial`, the records must already be validated with the keys of their
zone. The rules follow a validating resolver's (unbound's) so the verdicts agree:

* the closest encloser proof (§8.3): the longest ancestor with a matching NSEC3, plus an NSEC3
  covering the next closer name; a closest encloser that is a delegation without DS makes the
  answer insecure, one with DS or a DNAME makes the proof fail;
* NXDOMAIN (§8.4) also needs the wildcard at the closest encloser covered; when the span covering
  the next closer name is opt-out, an unsigned delegation may hide there, so it is only insecure;
* NODATA (§8.5–8.7): a matching NSEC3 without the type or CNAME (DS: not from a child apex; other
  types: not from the parent side of a delegation), or a matching wildcard NSEC3, or — opt-out
  again — an opt-out span covering the next closer name, which is insecure;
* a wildcard answer (§8.8) needs an NSEC3 covering the next closer name.

NSEC3 with more than :data:`MAX_ITERATIONS` iterations are not checked at all: RFC 9276 §3.2 lets
a validator treat them as insecure, which is what unbound does above 150.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass

import dns.dnssec
import dns.name
import dns.rdatatype
import dns.rrset

from scanners.dns.denial import (
    CNAME,
    DNAME,
    DS,
    SOA,
    Outcome,
    Proof,
    bitmap_types,
    is_delegation,
    type_name,
    wildcard_of,
)

#: Above this many extra iterations a denial is treated as insecure (unbound's default limit).
MAX_ITERATIONS = 150
_SHA1 = 1
_OPT_OUT = 0x01
_HASH_BYTES = 20
#: A name has at most 127 labels; each proof hashes a few names per label at most.
_MAX_HASHES = 512


@dataclass(frozen=True)
class Nsec3Record:
    owner: dns.name.Name
    hash: bytes
    next: bytes
    types: frozenset[int]
    opt_out: bool


class Nsec3Chain:
    """The usable NSEC3 records of one zone, with their common salt and iterations."""

    def __init__(self, zone: dns.name.Name, records: list[Nsec3Record], salt: bytes, iterations: int) -> None:
        self.zone = zone
        self.records = records
        self.salt = salt
        self.iterations = iterations
        self._hashes: dict[dns.name.Name, bytes | None] = {}

    def hash(self, name: dns.name.Name) -> bytes | None:
        if name not in self._hashes:
            if len(self._hashes) >= _MAX_HASHES:
                return None
            text = dns.dnssec.nsec3_hash(name, self.salt, self.iterations, _SHA1)
            self._hashes[name] = base64.b32hexdecode(text)
        return self._hashes[name]

    def match(self, name: dns.name.Name) -> Nsec3Record | None:
        digest = self.hash(name)
        return next((record for record in self.records if record.hash == digest), None)

    def cover(self, name: dns.name.Name) -> Nsec3Record | None:
        digest = self.hash(name)
        if digest is None:
            return None
        for record in self.records:
            if record.hash == digest:
                continue
            if record.hash < record.next:
                if record.hash < digest < record.next:
                    return record
            elif digest > record.hash or digest < record.next:  # the last span wraps to the first hash
                return record
        return None


def _decode_owner(owner: dns.name.Name, zone: dns.name.Name) -> bytes | None:
    if len(owner) != len(zone) + 1 or not owner.is_subdomain(zone):
        return None
    label = owner.labels[0]
    try:
        digest = base64.b32hexdecode(label.upper())
    except (binascii.Error, ValueError):
        return None
    return digest if len(digest) == _HASH_BYTES else None


def nsec3_chain(rrsets: Iterable[dns.rrset.RRset], zone: dns.name.Name) -> Nsec3Chain | None:
    """The zone's NSEC3 records sharing the first usable record's parameters; None if there is none.

    Records with an unknown hash algorithm or flags other than opt-out are ignored (RFC 5155 §8.2),
    and so are records with other parameters than the first: a zone has one set.
    """
    records: list[Nsec3Record] = []
    params: tuple[bytes, int] | None = None
    for rrset in rrsets:
        if rrset.rdtype != dns.rdatatype.NSEC3 or not rrset:
            continue
        digest = _decode_owner(rrset.name, zone)
        rdata = next(iter(rrset))
        if digest is None or rdata.algorithm != _SHA1 or rdata.flags & ~_OPT_OUT or len(rdata.next) != _HASH_BYTES:
            continue
        if params is None:
            params = (rdata.salt, rdata.iterations)
        if (rdata.salt, rdata.iterations) != params:
            continue
        records.append(
            Nsec3Record(
                owner=rrset.name,
                hash=digest,
                next=rdata.next,
                types=bitmap_types(rdata.windows),
                opt_out=bool(rdata.flags & _OPT_OUT),
            )
        )
    if params is None:
        return None
    return Nsec3Chain(zone, records, salt=params[0], iterations=params[1])


def _too_costly(chain: Nsec3Chain) -> Proof | None:
    if chain.iterations > MAX_ITERATIONS:
        reason = f"NSEC3 with {chain.iterations} iterations (above {MAX_ITERATIONS}) is treated as insecure"
        return Proof(Outcome.INSECURE, reason)
    return None


@dataclass(frozen=True)
class _Encloser:
    name: dns.name.Name
    record: Nsec3Record
    #: The NSEC3 covering the next closer name (None when the encloser is the name itself).
    next_closer: Nsec3Record | None


def _closest_encloser(qname: dns.name.Name, chain: Nsec3Chain) -> _Encloser | Proof:
    name = qname
    while True:
        record = chain.match(name)
        if record is not None:
            break
        if name == chain.zone or name == dns.name.root:
            return Proof(Outcome.NOT_PROVEN, f"no NSEC3 matches any ancestor of {qname} (no closest encloser)")
        name = name.parent()
    if name == qname:
        return _Encloser(name, record, None)
    if is_delegation(record.types):
        if DS not in record.types:
            return Proof(Outcome.INSECURE, f"NSEC3 shows {name} is a delegation without DS above {qname}")
        return Proof(Outcome.NOT_PROVEN, f"the closest encloser {name} is a delegation: expected a referral")
    if DNAME in record.types:
        return Proof(Outcome.NOT_PROVEN, f"the closest encloser {name} has a DNAME")
    next_closer = qname.split(len(name) + 1)[1]
    cover = chain.cover(next_closer)
    if cover is None:
        return Proof(Outcome.NOT_PROVEN, f"no NSEC3 covers the next closer name {next_closer}")
    return _Encloser(name, record, cover)


def _opt_out(encloser: _Encloser) -> bool:
    return encloser.next_closer is not None and encloser.next_closer.opt_out


def prove_nxdomain_nsec3(qname: dns.name.Name, chain: Nsec3Chain) -> Proof:
    if (costly := _too_costly(chain)) is not None:
        return costly
    encloser = _closest_encloser(qname, chain)
    if isinstance(encloser, Proof):
        return encloser
    if encloser.name == qname:
        return Proof(Outcome.NOT_PROVEN, f"an NSEC3 matches {qname}, so it exists")
    wildcard = wildcard_of(encloser.name)
    if chain.cover(wildcard) is None:
        return Proof(Outcome.NOT_PROVEN, f"no NSEC3 proves the wildcard {wildcard} does not exist")
    if _opt_out(encloser):
        reason = f"an opt-out NSEC3 span covers {qname}: an unsigned delegation may exist (RFC 5155 §9.2)"
        return Proof(Outcome.INSECURE, reason)
    return Proof(Outcome.NXDOMAIN, f"NSEC3 closest encloser {encloser.name}, {qname} and the wildcard covered")


def _matching_nodata(record: Nsec3Record, qname: dns.name.Name, qtype: int, what: dns.name.Name) -> Proof | None:
    """Why the NSEC3 matching ``what`` (the name, or its wildcard) cannot prove NODATA, or None if it can."""
    if qtype in record.types:
        return Proof(Outcome.NOT_PROVEN, f"the NSEC3 for {what} lists {type_name(qtype)}")
    if CNAME in record.types:
        return Proof(Outcome.NOT_PROVEN, f"the NSEC3 for {what} lists CNAME: the alias should have been returned")
    if qtype == DS and SOA in record.types and len(qname) > 1:
        return Proof(Outcome.NOT_PROVEN, f"the NSEC3 for {what} is from the child's apex; it cannot deny a DS")
    if qtype != DS and is_delegation(record.types):
        if DS not in record.types and what == qname:
            return Proof(Outcome.INSECURE, f"the NSEC3 for {qname} shows a delegation without DS")
        return Proof(Outcome.NOT_PROVEN, f"the NSEC3 for {what} is from the parent side of a delegation")
    return None


def prove_nodata_nsec3(qname: dns.name.Name, qtype: int, chain: Nsec3Chain) -> Proof:
    if (costly := _too_costly(chain)) is not None:
        return costly
    record = chain.match(qname)
    if record is not None:
        failure = _matching_nodata(record, qname, qtype, qname)
        if failure is not None:
            return failure
        if qtype == DS:
            if dns.rdatatype.NS in record.types:
                return Proof(Outcome.NO_DS, f"NSEC3 proves {qname} is a delegation without DS")
            return Proof(Outcome.NODATA, f"NSEC3 proves {qname} is not a delegation")
        return Proof(Outcome.NODATA, f"NSEC3 proves {qname} has no {type_name(qtype)}")

    encloser = _closest_encloser(qname, chain)
    if isinstance(encloser, Proof):
        if encloser.outcome is Outcome.INSECURE and qtype == DS:
            return Proof(Outcome.NOT_PROVEN, encloser.reason)
        return encloser
    wildcard = wildcard_of(encloser.name)
    wild_record = chain.match(wildcard)
    if wild_record is not None:
        failure = _matching_nodata(wild_record, qname, qtype, wildcard)
        if failure is not None:
            return Proof(Outcome.NOT_PROVEN, failure.reason)
        if _opt_out(encloser):
            return Proof(Outcome.INSECURE, f"the wildcard {wildcard} is in an opt-out span")
        return Proof(Outcome.NODATA, f"NSEC3 proves the wildcard {wildcard} has no {type_name(qtype)}")
    if not _opt_out(encloser):
        return Proof(Outcome.NOT_PROVEN, f"no NSEC3 matches {qname} and the span covering it is not opt-out")
    # RFC 5155 §9.2: an opt-out span may hide an unsigned delegation, so this is insecure (for a
    # DS query this is exactly the proof of an unsigned delegation in an opt-out zone).
    return Proof(Outcome.INSECURE, f"an opt-out NSEC3 span covers {qname}: an unsigned delegation may exist there")


def prove_wildcard_answer_nsec3(qname: dns.name.Name, encloser: dns.name.Name, chain: Nsec3Chain) -> Proof:
    """A wildcard expansion of ``*.<encloser>``: an NSEC3 must cover the next closer name."""
    if (costly := _too_costly(chain)) is not None:
        return costly
    if not qname.is_subdomain(encloser) or qname == encloser:
        return Proof(Outcome.NOT_PROVEN, f"{qname} is not below the wildcard's parent {encloser}")
    next_closer = qname.split(len(encloser) + 1)[1]
    if chain.cover(next_closer) is None:
        return Proof(Outcome.NOT_PROVEN, f"no NSEC3 covers {next_closer}, so the wildcard may not apply")
    return Proof(Outcome.WILDCARD, f"NSEC3 covers {next_closer}: the wildcard *.{encloser} applies")
