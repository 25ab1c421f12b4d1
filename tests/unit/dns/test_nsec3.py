"""NSEC3 proofs (RFC 5155 §8, RFC 9276) on complete hashed chains built in-test."""

from __future__ import annotations

import base64

import dns.rdatatype
import pytest

from scanners.dns.denial import Outcome
from scanners.dns.nsec3 import (
    MAX_ITERATIONS,
    Nsec3Chain,
    nsec3_chain,
    prove_nodata_nsec3,
    prove_nxdomain_nsec3,
    prove_wildcard_answer_nsec3,
)
from tests.unit.dns.zonekit import name
from tests.unit.dns.zonekit import nsec3_chain as build_chain

ZONE = "ex.test."
# Same shape as the NSEC tests: c and w are empty non-terminals (which get NSEC3 records of their
# own), d a signed delegation, e an unsigned one, f an alias, *.w a wildcard, x a DNAME.
NAMES = {
    "ex.test.": ["SOA", "NS", "DNSKEY", "NSEC3PARAM"],
    "a.ex.test.": ["A"],
    "c.ex.test.": [],
    "b.c.ex.test.": ["A"],
    "d.ex.test.": ["NS", "DS"],
    "e.ex.test.": ["NS"],
    "f.ex.test.": ["CNAME"],
    "w.ex.test.": [],
    "*.w.ex.test.": ["A"],
    "x.ex.test.": ["DNAME"],
}
A, TXT, DS = dns.rdatatype.A, dns.rdatatype.TXT, dns.rdatatype.DS


def chain(*, opt_out: bool = False, iterations: int = 0, salt: str = "") -> Nsec3Chain:
    records = build_chain(ZONE, NAMES, opt_out=opt_out, iterations=iterations, salt=salt)
    built = nsec3_chain(records.values(), name(ZONE))
    assert built is not None
    return built


def test_hashes_match_rfc5155_appendix_a() -> None:
    vectors = {
        "example.": "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
        "a.example.": "35mthgpgcu1qg68fab165klnsnk3dpvl",
        "ns1.example.": "2t7b4g4vsa5smi47k61mv5bv1a22bojr",
    }
    rfc_chain = Nsec3Chain(name("example."), [], salt=bytes.fromhex("aabbccdd"), iterations=12)

    for owner, digest in vectors.items():
        assert rfc_chain.hash(name(owner)) == base64.b32hexdecode(digest.upper())


@pytest.mark.parametrize(
    ("qname", "qtype", "outcome"),
    [
        ("a.ex.test.", TXT, Outcome.NODATA),
        ("a.ex.test.", A, Outcome.NOT_PROVEN),  # the type exists
        ("f.ex.test.", A, Outcome.NOT_PROVEN),  # an alias should have been returned
        ("c.ex.test.", A, Outcome.NODATA),  # empty non-terminal
        ("e.ex.test.", A, Outcome.INSECURE),  # unsigned delegation: the child answers, unsigned
        ("d.ex.test.", A, Outcome.NOT_PROVEN),  # parent side of a signed delegation
        ("q.w.ex.test.", TXT, Outcome.NODATA),  # wildcard without the type
        ("q.w.ex.test.", A, Outcome.NOT_PROVEN),  # the wildcard has it
        ("e.ex.test.", DS, Outcome.NO_DS),
        ("d.ex.test.", DS, Outcome.NOT_PROVEN),  # the NSEC3 lists DS
        ("a.ex.test.", DS, Outcome.NODATA),  # no cut there
        ("ex.test.", DS, Outcome.NOT_PROVEN),  # the child's apex NSEC3 cannot deny its DS
        ("nope.ex.test.", TXT, Outcome.NOT_PROVEN),  # does not exist: no NODATA proof
        ("nope.ex.test.", DS, Outcome.NOT_PROVEN),  # and no opt-out to excuse it
    ],
)
def test_nodata(qname: str, qtype: int, outcome: Outcome) -> None:
    proof = prove_nodata_nsec3(name(qname), qtype, chain())

    assert proof.outcome is outcome, proof.reason


@pytest.mark.parametrize(
    ("qname", "outcome"),
    [
        ("nope.ex.test.", Outcome.NXDOMAIN),
        ("deep.down.a.ex.test.", Outcome.NXDOMAIN),  # closest encloser a.ex.test, next closer down.a
        ("a.ex.test.", Outcome.NOT_PROVEN),  # exists
        ("c.ex.test.", Outcome.NOT_PROVEN),  # exists, as an empty non-terminal
        ("q.w.ex.test.", Outcome.NOT_PROVEN),  # the wildcard would have answered
        ("www.e.ex.test.", Outcome.INSECURE),  # below an unsigned delegation
        ("www.d.ex.test.", Outcome.NOT_PROVEN),  # below a signed one: expected a referral
        ("y.x.ex.test.", Outcome.NOT_PROVEN),  # below a DNAME
    ],
)
def test_nxdomain(qname: str, outcome: Outcome) -> None:
    proof = prove_nxdomain_nsec3(name(qname), chain())

    assert proof.outcome is outcome, proof.reason


def _subset(full: Nsec3Chain, *records: object) -> Nsec3Chain:
    return Nsec3Chain(full.zone, [r for r in full.records if r in records], full.salt, full.iterations)


def test_nxdomain_needs_each_of_the_three_records() -> None:
    full = chain()
    # A name whose next closer and wildcard fall in different spans, so the three records differ.
    qname = next(
        q for q in (name(f"n{i}.ex.test.") for i in range(50)) if full.cover(q) != full.cover(name("*.ex.test."))
    )
    encloser, next_closer, wildcard = full.match(name(ZONE)), full.cover(qname), full.cover(name("*.ex.test."))

    assert prove_nxdomain_nsec3(qname, _subset(full, encloser, next_closer, wildcard)).outcome is Outcome.NXDOMAIN
    for missing in (encloser, next_closer, wildcard):
        rest = [r for r in (encloser, next_closer, wildcard) if r is not missing]
        assert prove_nxdomain_nsec3(qname, _subset(full, *rest)).outcome is Outcome.NOT_PROVEN


def test_opt_out_makes_a_denial_insecure() -> None:
    opt_out = chain(opt_out=True)

    # RFC 5155 §9.2: the span may hide an unsigned delegation, so neither NXDOMAIN nor a missing DS
    # is proven securely.
    assert prove_nxdomain_nsec3(name("nope.ex.test."), opt_out).outcome is Outcome.INSECURE
    assert prove_nodata_nsec3(name("unsigned.ex.test."), DS, opt_out).outcome is Outcome.INSECURE
    # A matching record is still a plain proof.
    assert prove_nodata_nsec3(name("a.ex.test."), TXT, opt_out).outcome is Outcome.NODATA
    assert prove_nodata_nsec3(name("e.ex.test."), DS, opt_out).outcome is Outcome.NO_DS


def test_too_many_iterations_are_insecure_without_hashing() -> None:
    costly = chain(iterations=MAX_ITERATIONS + 1, salt="ab")

    assert prove_nxdomain_nsec3(name("nope.ex.test."), costly).outcome is Outcome.INSECURE
    assert prove_nodata_nsec3(name("a.ex.test."), TXT, costly).outcome is Outcome.INSECURE
    assert prove_nodata_nsec3(name("a.ex.test."), TXT, chain(iterations=MAX_ITERATIONS, salt="ab")).holds


def test_unknown_flags_foreign_owners_and_other_parameters_are_ignored() -> None:
    flagged = build_chain(ZONE, NAMES, flags=2)
    assert nsec3_chain(flagged.values(), name(ZONE)) is None

    foreign = build_chain("other.test.", {"other.test.": ["SOA"]})
    assert nsec3_chain(foreign.values(), name(ZONE)) is None

    salted = build_chain(ZONE, NAMES, salt="cafe")
    plain = build_chain(ZONE, NAMES)
    mixed = nsec3_chain([salted["a.ex.test."], *plain.values()], name(ZONE))
    assert mixed is not None
    assert (mixed.salt, len(mixed.records)) == (bytes.fromhex("cafe"), 1)


def test_wildcard_answer_needs_the_next_closer_name_covered() -> None:
    full = chain()

    assert prove_wildcard_answer_nsec3(name("q.w.ex.test."), name("w.ex.test."), full).outcome is Outcome.WILDCARD
    # a.ex.test exists: no wildcard produced it.
    assert prove_wildcard_answer_nsec3(name("a.ex.test."), name("ex.test."), full).outcome is Outcome.NOT_PROVEN
    assert prove_wildcard_answer_nsec3(name("ex.test."), name("ex.test."), full).outcome is Outcome.NOT_PROVEN
