"""NSEC proofs (RFC 4035 §5.4, RFC 6840 §4.1) on a small zone whose whole chain is written out."""

from __future__ import annotations

import dns.rdatatype
import pytest

from scanners.dns.denial import (
    NsecRecord,
    Outcome,
    bitmap_types,
    nsec_records,
    prove_nodata_nsec,
    prove_nxdomain_nsec,
    prove_wildcard_answer_nsec,
)
from tests.unit.dns.zonekit import name, rrset

ZONE = name("ex.test.")
# The zone in canonical order: c.ex.test is an empty non-terminal (b.c.ex.test is below it), d is a
# signed delegation, e an unsigned one, f an alias, *.w a wildcard (w is an empty non-terminal), x a DNAME.
CHAIN = {
    "ex.test.": ("a.ex.test.", "SOA NS DNSKEY"),
    "a.ex.test.": ("b.c.ex.test.", "A"),
    "b.c.ex.test.": ("d.ex.test.", "A"),
    "d.ex.test.": ("e.ex.test.", "NS DS"),
    "e.ex.test.": ("f.ex.test.", "NS"),
    "f.ex.test.": ("*.w.ex.test.", "CNAME"),
    "*.w.ex.test.": ("x.ex.test.", "A"),
    "x.ex.test.": ("ex.test.", "DNAME"),
}


def records(*owners: str) -> list[NsecRecord]:
    chosen = owners or tuple(CHAIN)
    return nsec_records(
        [rrset(owner, "NSEC", f"{CHAIN[owner][0]} {CHAIN[owner][1]} RRSIG NSEC") for owner in chosen], ZONE
    )


A, TXT, DS = dns.rdatatype.A, dns.rdatatype.TXT, dns.rdatatype.DS


def test_bitmap_types_reads_every_window() -> None:
    [record] = nsec_records([rrset("ex.test.", "NSEC", "a.ex.test. A NS SOA TLSA CAA TYPE1234")], ZONE)

    assert record.types == {1, 2, 6, 52, 257, 1234}
    assert bitmap_types([(0, b"\x40"), (4, b"\x80")]) == {1, 1024}


@pytest.mark.parametrize(
    ("qname", "qtype", "owners", "outcome"),
    [
        ("a.ex.test.", TXT, ["a.ex.test."], Outcome.NODATA),
        ("ex.test.", TXT, ["ex.test."], Outcome.NODATA),
        ("a.ex.test.", A, ["a.ex.test."], Outcome.NOT_PROVEN),  # the type is there
        ("f.ex.test.", A, ["f.ex.test."], Outcome.NOT_PROVEN),  # an alias should have been returned
        ("e.ex.test.", A, ["e.ex.test."], Outcome.NOT_PROVEN),  # parent side of a delegation
        ("c.ex.test.", A, ["a.ex.test."], Outcome.NODATA),  # empty non-terminal
        ("q.w.ex.test.", TXT, ["*.w.ex.test."], Outcome.NODATA),  # wildcard without the type
        ("q.w.ex.test.", A, ["*.w.ex.test."], Outcome.NOT_PROVEN),  # the wildcard has it
        ("bb.ex.test.", TXT, ["a.ex.test."], Outcome.NOT_PROVEN),  # covered: that is NXDOMAIN, not NODATA
    ],
)
def test_nodata(qname: str, qtype: int, owners: list[str], outcome: Outcome) -> None:
    proof = prove_nodata_nsec(name(qname), qtype, records(*owners))

    assert proof.outcome is outcome, proof.reason


@pytest.mark.parametrize(
    ("qname", "owners", "outcome"),
    [
        ("e.ex.test.", ["e.ex.test."], Outcome.NO_DS),  # unsigned delegation
        ("d.ex.test.", ["d.ex.test."], Outcome.NOT_PROVEN),  # the NSEC lists DS
        ("a.ex.test.", ["a.ex.test."], Outcome.NODATA),  # not a delegation at all
        ("ex.test.", ["ex.test."], Outcome.NOT_PROVEN),  # the child's apex NSEC cannot deny its DS
        ("c.ex.test.", ["a.ex.test."], Outcome.NODATA),  # an empty non-terminal is no cut
    ],
)
def test_no_ds(qname: str, owners: list[str], outcome: Outcome) -> None:
    proof = prove_nodata_nsec(name(qname), DS, records(*owners))

    assert proof.outcome is outcome, proof.reason


@pytest.mark.parametrize(
    ("qname", "owners", "outcome"),
    [
        ("bb.ex.test.", ["a.ex.test.", "ex.test."], Outcome.NXDOMAIN),
        ("bb.ex.test.", ["a.ex.test."], Outcome.NOT_PROVEN),  # *.ex.test not shown absent
        ("z.a.ex.test.", ["a.ex.test."], Outcome.NXDOMAIN),  # one NSEC covers name and wildcard
        ("zz.ex.test.", ["x.ex.test.", "ex.test."], Outcome.NXDOMAIN),  # the last NSEC wraps to the apex
        ("c.ex.test.", ["a.ex.test.", "ex.test."], Outcome.NOT_PROVEN),  # an empty non-terminal exists
        ("q.w.ex.test.", ["*.w.ex.test.", "f.ex.test."], Outcome.NOT_PROVEN),  # the wildcard would answer
        ("a.ex.test.", ["ex.test.", "a.ex.test."], Outcome.NOT_PROVEN),  # it exists
        ("nothing.else.", ["x.ex.test.", "ex.test."], Outcome.NOT_PROVEN),  # outside the zone
    ],
)
def test_nxdomain(qname: str, owners: list[str], outcome: Outcome) -> None:
    proof = prove_nxdomain_nsec(name(qname), records(*owners))

    assert proof.outcome is outcome, proof.reason


@pytest.mark.parametrize(
    ("qname", "owner"),
    [
        ("www.e.ex.test.", "e.ex.test."),  # below an unsigned delegation: the child's business
        ("www.d.ex.test.", "d.ex.test."),  # below a signed delegation
        ("y.x.ex.test.", "x.ex.test."),  # below a DNAME: synthesised, not absent
    ],
)
def test_an_ancestor_delegation_or_dname_proves_nothing_below_it(qname: str, owner: str) -> None:
    # The parent's NSEC at a zone cut sorts just before every name of the child; replaying it must
    # not let anyone deny names in the child zone (RFC 6840 §4.1).
    [record] = records(owner)

    assert not record.covers(name(qname))
    assert prove_nxdomain_nsec(name(qname), records(owner, "ex.test.")).outcome is Outcome.NOT_PROVEN


def test_a_lone_apex_nsec_covers_every_name_below_the_apex() -> None:
    [record] = nsec_records([rrset("ex.test.", "NSEC", "ex.test. SOA NS RRSIG NSEC DNSKEY")], ZONE)

    assert record.covers(name("anything.ex.test."))
    assert not record.covers(name("ex.test."))
    assert prove_nxdomain_nsec(name("a.b.ex.test."), [record]).outcome is Outcome.NXDOMAIN


def test_records_of_other_zones_are_ignored() -> None:
    stray = [rrset("a.other.test.", "NSEC", "z.other.test. A"), rrset("a.ex.test.", "NSEC", "z.other.test. A")]

    assert nsec_records(stray, ZONE) == []


def test_a_wildcard_answer_needs_the_name_absent_and_the_right_encloser() -> None:
    chain = records()

    assert prove_wildcard_answer_nsec(name("q.w.ex.test."), name("w.ex.test."), chain).outcome is Outcome.WILDCARD
    # *.ex.test cannot have produced q.c.ex.test: c.ex.test exists (as an empty non-terminal).
    assert prove_wildcard_answer_nsec(name("q.c.ex.test."), name("ex.test."), chain).outcome is Outcome.NOT_PROVEN
    # Nor can any wildcard produce a name that exists.
    assert prove_wildcard_answer_nsec(name("a.ex.test."), name("ex.test."), chain).outcome is Outcome.NOT_PROVEN
