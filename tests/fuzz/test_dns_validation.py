"""Fuzzing DNS answer handling and DNSSEC validation: a scripted resolver answers from a small
signed tree (``test.`` the anchor, ``ex.test.`` and ``x.test.`` signed children, ``ins.test.``
unsigned) whose answers are mutated: rcodes, failures, CNAME/DNAME chains (loops and self-references
included), DS and DNSKEY RRsets moved, forged or stripped, signatures by the wrong zone or expired,
NSEC records that lie. Every lookup and every service discovery ends (no task waits for itself),
raises nothing, and returns bounded results."""

from __future__ import annotations

import asyncio
import functools

import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
from hypothesis import given
from hypothesis import strategies as st

from scanners.base import ServiceKind
from scanners.dns.client import Reply
from scanners.dns.discovery import MAX_ENDPOINTS, MAX_TARGETS, DiscoveryOptions, _Discoverer
from scanners.dns.trust_anchors import parse_trust_anchors
from scanners.dns.validator import MAX_ALIASES, Validator
from tests.fuzz.profiles import fuzz
from tests.unit.dns.zonekit import DAY, NOW, ScriptedResolver, Zone, message, name, rrset

#: Seconds one lookup or discovery may take on scripted answers: generous, a hang is far beyond.
BOUND_SECONDS = 10.0
#: Questions one lookup may ask (the real client also stops at 400 per scan).
MAX_ASKED = 400
#: Signing is the costly part of an example: fewer of them than the parsers get.
WEIGHT = 0.5


@functools.cache
def zones() -> dict[str, Zone]:
    return {origin: Zone.named(origin) for origin in ("test.", "ex.test.", "x.test.")}


NAMES = [
    "test.",
    "ex.test.",
    "x.test.",
    "ins.test.",
    "a.ex.test.",
    "b.ex.test.",
    "a.x.test.",
    "c.ins.test.",
    "_xmpp-client._tcp.ex.test.",
    "_xmpps-client._tcp.ex.test.",
    "_xmpp-server._tcp.ex.test.",
    "_5222._tcp.a.ex.test.",
    "*.ex.test.",
]
TYPES = ["A", "AAAA", "SRV", "DS", "DNSKEY", "TLSA", "CNAME", "TXT"]
names = st.sampled_from(NAMES)


def signed_rrsets(data: dns.rrset.RRset, zone: Zone) -> list[dns.rrset.RRset]:
    return [data, zone.sign(data)]


def base() -> ScriptedResolver:
    """A correct tree: the anchor's keys, secure delegations to ex.test and x.test, records in both."""
    root, ex, x = (zones()[origin] for origin in ("test.", "ex.test.", "x.test."))
    resolver = ScriptedResolver()
    resolver.add("test.", "DNSKEY", answer=root.signed(root.dnskey_rrset()))
    for child in (ex, x):
        resolver.add(child.origin.to_text(), "DS", answer=root.signed(child.ds_rrset()))
        resolver.add(child.origin.to_text(), "DNSKEY", answer=child.signed(child.dnskey_rrset()))
    resolver.add(
        "_xmpp-client._tcp.ex.test.",
        "SRV",
        answer=ex.signed(rrset("_xmpp-client._tcp.ex.test.", "SRV", "0 5 5222 a.ex.test.")),
    )
    resolver.add("a.ex.test.", "A", answer=ex.signed(rrset("a.ex.test.", "A", "192.0.2.1")))
    resolver.add("a.x.test.", "A", answer=x.signed(rrset("a.x.test.", "A", "192.0.2.2")))
    soa = rrset("test.", "SOA", "ns.test. h.test. 1 3600 600 86400 60")
    resolver.add("ins.test.", "DS", authority=[*root.signed(soa), *root.nsec("ins.test.", "x.test.", "NS")])
    resolver.add("c.ins.test.", "A", answer=[rrset("c.ins.test.", "A", "192.0.2.3")])
    return resolver


@st.composite
def records(draw: st.DrawFn, owner: str) -> dns.rrset.RRset:
    """One RRset at (or near) ``owner``, of a type that steers the validator."""
    # Aliases twice as often: chains and loops through them are where validation recursed.
    kind = draw(st.sampled_from(["CNAME", "CNAME", "DNAME", "DS", "DNSKEY", "A", "SRV", "TLSA", "TXT"]))
    target = draw(names)
    if kind == "CNAME":
        return rrset(owner, "CNAME", target)
    if kind == "DNAME":
        return rrset(draw(names), "DNAME", target)
    if kind == "DS":
        zone = zones()[draw(st.sampled_from(sorted(zones())))]
        ds = zone.ds_rrset(draw(st.sampled_from(["SHA256", "SHA1", "SHA384"])))
        return dns.rrset.from_rdata_list(owner, 300, list(ds))
    if kind == "DNSKEY":
        zone = zones()[draw(st.sampled_from(sorted(zones())))]
        return dns.rrset.from_rdata_list(owner, 300, list(zone.dnskey_rrset()))
    if kind == "A":
        return rrset(owner, "A", f"192.0.2.{draw(st.integers(0, 255))}")
    if kind == "SRV":
        srv_target = draw(st.one_of(names, st.just(".")))
        return rrset(
            owner,
            "SRV",
            f"{draw(st.integers(0, 3))} {draw(st.integers(0, 9))} {draw(st.integers(0, 65535))} {srv_target}",
        )
    if kind == "TLSA":
        return rrset(owner, "TLSA", f"3 1 1 {draw(st.binary(min_size=32, max_size=32)).hex()}")
    return rrset(owner, "TXT", '"' + draw(st.text(alphabet="abc=;", max_size=20)) + '"')


@st.composite
def signed(draw: st.DrawFn, data: dns.rrset.RRset) -> list[dns.rrset.RRset]:
    """``data`` unsigned, signed by the right or a wrong zone, with a wrong signer name, or expired."""
    how = draw(st.sampled_from(["none", "none", "zone", "zone", "signer", "expired", "forged"]))
    if how == "none":
        return [data]
    zone = zones()[draw(st.sampled_from(sorted(zones())))]
    if how == "signer":
        return [data, zone.sign(data, signer=name(draw(names)))]
    if how == "expired":
        return [data, zone.sign(data, inception=NOW - 9 * DAY, expiration=NOW - DAY)]
    signature = zone.sign(data)
    if how == "forged":
        return [rrset(data.name.to_text(), "TXT", '"forged"') if data.rdtype != dns.rdatatype.TXT else data, signature]
    return [data, signature]


@st.composite
def denials(draw: st.DrawFn) -> list[dns.rrset.RRset]:
    """NSEC records (with SOA) from some zone, covering or matching names they may or may not cover."""
    zone = zones()[draw(st.sampled_from(sorted(zones())))]
    authority: list[dns.rrset.RRset] = []
    if draw(st.booleans()):
        authority += zone.signed(rrset(zone.origin.to_text(), "SOA", "ns.test. h.test. 1 3600 600 86400 60"))
    for _ in range(draw(st.integers(0, 3))):
        types = " ".join(
            draw(st.lists(st.sampled_from(["NS", "DS", "A", "SOA", "CNAME", "SRV"]), max_size=3, unique=True))
        )
        owner, following = draw(names), draw(names)
        record = rrset(owner, "NSEC", f"{following} {types} RRSIG NSEC".replace("  ", " "))
        authority += draw(signed(record))
    return authority


@st.composite
def scripts(draw: st.DrawFn) -> ScriptedResolver:
    resolver = base()
    for _ in range(draw(st.integers(1, 6))):
        # Half the time one of the questions every validation asks: a zone's DS or DNSKEY.
        if draw(st.booleans()):
            qname, qtype = draw(st.sampled_from(NAMES[:4])), draw(st.sampled_from(["DS", "DNSKEY"]))
        else:
            qname, qtype = draw(names), draw(st.sampled_from(TYPES))
        key = (name(qname), dns.rdatatype.from_text(qtype))
        how = draw(st.sampled_from(["answer", "answer", "denial", "rcode", "fail"]))
        if how == "fail":
            resolver.answers[key] = Reply(error="timed out")
            continue
        rcode = dns.rcode.NOERROR
        answer: list[dns.rrset.RRset] = []
        authority: list[dns.rrset.RRset] = []
        if how == "answer":
            for _ in range(draw(st.integers(1, 3))):
                owner = draw(st.one_of(st.just(qname), st.just(qname), st.sampled_from(NAMES[:4])))
                answer += draw(signed(draw(records(owner))))
        elif how == "denial":
            rcode = draw(st.sampled_from([dns.rcode.NOERROR, dns.rcode.NXDOMAIN]))
            authority = draw(denials())
        else:
            rcode = draw(
                st.sampled_from([dns.rcode.SERVFAIL, dns.rcode.REFUSED, dns.rcode.NXDOMAIN, dns.rcode.FORMERR])
            )
        resolver.answers[key] = Reply(message=message(qname, qtype, answer=answer, authority=authority, rcode=rcode))
    return resolver


def anchors():  # type: ignore[no-untyped-def]
    return parse_trust_anchors(zones()["test."].ds_rrset().to_text())


@fuzz(WEIGHT)
@given(scripts(), names, st.sampled_from(TYPES))
def test_every_lookup_ends_with_a_bounded_verdict(resolver: ScriptedResolver, qname: str, qtype: str) -> None:
    async def lookup():  # type: ignore[no-untyped-def]
        validator = Validator(resolver, anchors(), now=lambda: NOW)  # type: ignore[arg-type]
        return await asyncio.wait_for(validator.lookup(name(qname), dns.rdatatype.from_text(qtype)), BOUND_SECONDS)

    answer = asyncio.run(lookup())
    assert len(answer.links) <= MAX_ALIASES + 1
    assert len(answer.verdict.reason or "") < 2000
    assert len(resolver.asked) <= MAX_ASKED


@fuzz(WEIGHT)
@given(scripts(), st.sampled_from([ServiceKind.C2S, ServiceKind.S2S]))
def test_every_discovery_ends_with_bounded_endpoints(resolver: ScriptedResolver, kind: ServiceKind) -> None:
    async def discover():  # type: ignore[no-untyped-def]
        options = DiscoveryOptions(trust_anchors=anchors(), now=lambda: NOW)
        validator = Validator(resolver, anchors(), now=lambda: NOW)  # type: ignore[arg-type]
        # Straight to the discoverer, not through discover(): its guard would turn a crash into a finding.
        return await asyncio.wait_for(_Discoverer("ex.test", options, validator).service(kind), BOUND_SECONDS)

    service = asyncio.run(discover())
    assert len(service.endpoints) <= MAX_ENDPOINTS
    assert len(service.targets) <= MAX_TARGETS
    assert len(resolver.asked) <= MAX_ASKED
