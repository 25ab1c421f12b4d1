"""Authenticated denial of existence with NSEC (RFC 4035 §5.4, RFC 6840 §4): pure proof checks.

The records handed in must already have been validated (their RRSIGs verified with the keys of
``zone``); these functions only decide what the records prove. They mirror a validating resolver's
rules (unbound's), so the scanner's verdicts agree with one:

* a matching NSEC proves NODATA when neither the type nor CNAME is in its bitmap, but an NSEC from
  the parent side of a delegation (NS without SOA) says nothing about the child's types, and an NSEC
  from a child's apex (SOA) says nothing about the DS in the parent;
* a covering NSEC proves a name does not exist, unless its owner is an ancestor of the name that
  is a delegation or a DNAME (the names below belong to another zone, RFC 6840 §4.1);
* NXDOMAIN also needs the wildcard at the closest encloser to be covered; an empty non-terminal is
  shown by a covering NSEC whose next name is below the name asked;
* a wildcard answer needs a covering NSEC whose closest encloser is the wildcard's parent.

NSEC3 lives in :mod:`scanners.dns.nsec3`; both return a :class:`Proof`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import dns.name
import dns.rdatatype
import dns.rrset

NS, SOA, DS, CNAME, DNAME = (
    dns.rdatatype.NS,
    dns.rdatatype.SOA,
    dns.rdatatype.DS,
    dns.rdatatype.CNAME,
    dns.rdatatype.DNAME,
)


class Outcome(StrEnum):
    #: The name does not exist, and no wildcard could have answered instead.
    NXDOMAIN = "nxdomain"
    #: The name exists (possibly as an empty non-terminal or through a wildcard) without that type.
    NODATA = "nodata"
    #: DS only: the name is a delegation point and has no DS, so the child zone is unsigned.
    NO_DS = "no-ds"
    #: A wildcard answered: the name asked does not exist and the wildcard is the closest one.
    WILDCARD = "wildcard"
    #: The records deny it, but only as far as opt-out or an insecure delegation allows: insecure.
    INSECURE = "insecure"
    #: The records do not prove what the response claims.
    NOT_PROVEN = "not-proven"


@dataclass(frozen=True)
class Proof:
    outcome: Outcome
    reason: str

    @property
    def holds(self) -> bool:
        return self.outcome is not Outcome.NOT_PROVEN


def bitmap_types(windows: Iterable[tuple[int, bytes]]) -> frozenset[int]:
    """The types an NSEC/NSEC3 type bitmap lists (RFC 4034 §4.1.2)."""
    types = set()
    for window, bitmap in windows:
        for index, byte in enumerate(bitmap):
            for bit in range(8):
                if byte & (0x80 >> bit):
                    types.add(window * 256 + index * 8 + bit)
    return frozenset(types)


def is_delegation(types: frozenset[int]) -> bool:
    """NS without SOA: the parent side of a zone cut."""
    return NS in types and SOA not in types


def type_name(rdtype: int) -> str:
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))


@dataclass(frozen=True)
class NsecRecord:
    owner: dns.name.Name
    next: dns.name.Name
    types: frozenset[int]

    def matches(self, name: dns.name.Name) -> bool:
        return self.owner == name

    def covers(self, name: dns.name.Name) -> bool:
        """Whether ``name`` falls strictly inside this NSEC's span, so it does not exist.

        The last NSEC of a zone points back at the apex; a lone NSEC (owner == next) covers every
        name below the apex. An ancestor that is a delegation or DNAME proves nothing below it.
        """
        if name == self.owner:
            return False
        if name.is_subdomain(self.owner) and (DNAME in self.types or is_delegation(self.types)):
            return False
        if self.owner == self.next:
            return name.is_subdomain(self.next) and name != self.next
        if self.owner > self.next:  # the last NSEC of the zone: everything after the owner
            return self.owner < name and name.is_subdomain(self.next) and name != self.next
        return self.owner < name < self.next

    def closest_encloser(self, name: dns.name.Name) -> dns.name.Name:
        """The longest ancestor of ``name`` this NSEC shows to exist (shared with owner or next)."""
        with_owner = name.fullcompare(self.owner)[2]
        with_next = name.fullcompare(self.next)[2]
        depth = max(with_owner, with_next)
        return name.split(depth)[1]


def nsec_records(rrsets: Iterable[dns.rrset.RRset], zone: dns.name.Name) -> list[NsecRecord]:
    """NSEC records of ``zone`` (owner and next name inside it); anything else is ignored."""
    records = []
    for rrset in rrsets:
        if rrset.rdtype != dns.rdatatype.NSEC or not rrset.name.is_subdomain(zone) or not rrset:
            continue
        rdata = next(iter(rrset))  # one NSEC per owner; a second one could only contradict it
        if not rdata.next.is_subdomain(zone):
            continue
        records.append(NsecRecord(owner=rrset.name, next=rdata.next, types=bitmap_types(rdata.windows)))
    return records


def wildcard_of(encloser: dns.name.Name) -> dns.name.Name:
    return dns.name.Name((b"*", *encloser.labels))


def _matching_nodata(record: NsecRecord, qname: dns.name.Name, qtype: int) -> Proof:
    """What an NSEC at exactly ``qname`` proves about ``qtype``."""
    where = f"NSEC at {record.owner}"
    if qtype in record.types:
        return Proof(Outcome.NOT_PROVEN, f"{where} lists {type_name(qtype)}: the records should have been returned")
    if CNAME in record.types:
        return Proof(Outcome.NOT_PROVEN, f"{where} lists CNAME: the alias should have been returned")
    if qtype == DS:
        if SOA in record.types and len(qname) > 1:
            return Proof(Outcome.NOT_PROVEN, f"{where} is the child zone's apex NSEC; it cannot deny a DS")
        if NS in record.types:
            return Proof(Outcome.NO_DS, f"{where} proves a delegation without DS")
        return Proof(Outcome.NODATA, f"{where} proves {qname} is not a delegation")
    if is_delegation(record.types):
        return Proof(Outcome.NOT_PROVEN, f"{where} is from the parent side of a delegation")
    return Proof(Outcome.NODATA, f"{where} proves no {type_name(qtype)}")


def _wildcard_nodata(record: NsecRecord, qname: dns.name.Name, qtype: int) -> Proof | None:
    """A wildcard NSEC that could have produced ``qname`` and lacks the type, or None."""
    if not record.owner.is_wild():
        return None
    encloser = record.owner.parent()
    if not (qname.is_subdomain(encloser) and qname != encloser):
        return None
    if CNAME in record.types or qtype in record.types or is_delegation(record.types):
        return None
    if qtype == DS and SOA in record.types:
        return None
    return Proof(Outcome.NODATA, f"wildcard NSEC at {record.owner} proves no {type_name(qtype)}")


def prove_nodata_nsec(qname: dns.name.Name, qtype: int, records: Sequence[NsecRecord]) -> Proof:
    """NODATA: the name exists (or is an empty non-terminal, or matches a wildcard) without ``qtype``."""
    for record in records:
        if record.matches(qname):
            return _matching_nodata(record, qname, qtype)
    for record in records:
        # An empty non-terminal: the NSEC before it points at a name below it (RFC 4035 §3.1.3.2).
        if record.owner < qname and record.next.is_subdomain(qname) and record.next != qname:
            reason = f"NSEC {record.owner} → {record.next} proves {qname} is an empty non-terminal"
            return Proof(Outcome.NODATA, reason)
    for record in records:
        wildcard = _wildcard_nodata(record, qname, qtype)
        if wildcard is None:
            continue
        # The wildcard only applies if qname itself does not exist and the wildcard's parent is
        # the closest encloser.
        encloser = record.owner.parent()
        if any(other.covers(qname) and other.closest_encloser(qname) == encloser for other in records):
            return wildcard
    return Proof(Outcome.NOT_PROVEN, f"no NSEC proves that {qname} has no {type_name(qtype)}")


def prove_nxdomain_nsec(qname: dns.name.Name, records: Sequence[NsecRecord]) -> Proof:
    """NXDOMAIN: an NSEC covers the name, and one covers the wildcard at the closest encloser."""
    cover = next((record for record in records if record.covers(qname)), None)
    if cover is None:
        return Proof(Outcome.NOT_PROVEN, f"no NSEC covers {qname}")
    if cover.next.is_subdomain(qname):
        return Proof(Outcome.NOT_PROVEN, f"NSEC {cover.owner} → {cover.next} shows {qname} exists")
    encloser = cover.closest_encloser(qname)
    wildcard = wildcard_of(encloser)
    if any(record.matches(wildcard) for record in records):
        return Proof(Outcome.NOT_PROVEN, f"the wildcard {wildcard} exists, so {qname} should have been answered")
    if not any(record.covers(wildcard) for record in records):
        return Proof(Outcome.NOT_PROVEN, f"no NSEC proves the wildcard {wildcard} does not exist")
    return Proof(Outcome.NXDOMAIN, f"NSEC {cover.owner} → {cover.next} covers {qname}, no wildcard")


def prove_wildcard_answer_nsec(qname: dns.name.Name, encloser: dns.name.Name, records: Sequence[NsecRecord]) -> Proof:
    """A wildcard expansion of ``*.<encloser>``: ``qname`` must not exist and ``encloser`` be its closest encloser."""
    for record in records:
        if record.covers(qname) and record.closest_encloser(qname) == encloser:
            return Proof(Outcome.WILDCARD, f"NSEC {record.owner} → {record.next} proves the wildcard applies")
    return Proof(Outcome.NOT_PROVEN, f"no NSEC proves {qname} does not exist next to the wildcard *.{encloser}")
