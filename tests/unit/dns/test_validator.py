"""The validator on a small signed tree built in-test, answered by a scripted resolver.

``test.`` is the trust anchor; ``ex.test.`` a signed child; ``ins.test.`` an unsigned delegation.
The cases a real resolver cannot be made to produce (forged signer names, replayed parent NSECs,
stripped DS) are checked here; the integration tests compare the rest with unbound.
"""

from __future__ import annotations

import asyncio

import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from scanners.dns.facts import DnssecState
from scanners.dns.trust_anchors import parse_trust_anchors
from scanners.dns.validator import MAX_ALIASES, Validator
from tests.unit.dns.zonekit import DAY, NOW, ScriptedResolver, Zone, name, rrset

ROOT, EX = Zone.named("test."), Zone.named("ex.test.")
SRV_NAME = "_xmpp-client._tcp.ex.test."
SRV = rrset(SRV_NAME, "SRV", "0 5 5222 xmpp.ex.test.")
SOA_T = rrset("test.", "SOA", "ns.test. h.test. 1 3600 600 86400 60")
SOA_EX = rrset("ex.test.", "SOA", "ns.ex.test. h.ex.test. 1 3600 600 86400 60")


def _base() -> ScriptedResolver:
    """The anchor's keys, the secure delegation to ex.test, and ex.test's keys."""
    resolver = ScriptedResolver()
    resolver.add("test.", "DNSKEY", answer=ROOT.signed(ROOT.dnskey_rrset()))
    resolver.add("ex.test.", "DS", answer=ROOT.signed(EX.ds_rrset()))
    resolver.add("ex.test.", "DNSKEY", answer=EX.signed(EX.dnskey_rrset()))
    resolver.add(SRV_NAME, "SRV", answer=EX.signed(SRV))
    # ex.test's NSEC chain: the apex, the SRV owner, an alias, a wildcard.
    resolver.add("_tcp.ex.test.", "DS", authority=[*EX.signed(SOA_EX), *EX.nsec("ex.test.", SRV_NAME, "SOA NS DNSKEY")])
    resolver.add(SRV_NAME, "DS", authority=[*EX.signed(SOA_EX), *EX.nsec(SRV_NAME, "alias.ex.test.", "SRV")])
    # test.'s chain: ins.test is delegated without DS.
    resolver.add("ins.test.", "DS", authority=[*ROOT.signed(SOA_T), *ROOT.nsec("ins.test.", "test.", "NS")])
    return resolver


async def _lookup(resolver: ScriptedResolver, qname: str, qtype: str, now: int = NOW):
    anchors = parse_trust_anchors(ROOT.ds_rrset().to_text())
    validator = Validator(resolver, anchors, now=lambda: now)  # type: ignore[arg-type]
    return await validator.lookup(name(qname), dns.rdatatype.from_text(qtype))


async def test_a_signed_answer_is_secure_through_ds_and_dnskey() -> None:
    resolver = _base()

    answer = await _lookup(resolver, SRV_NAME, "SRV")

    assert answer.verdict.state is DnssecState.SECURE
    assert answer.rrset is not None
    assert sorted(resolver.asked) == sorted(
        [(SRV_NAME, "SRV"), ("ex.test.", "DS"), ("test.", "DNSKEY"), ("ex.test.", "DNSKEY")]
    )


async def test_changed_data_is_bogus() -> None:
    resolver = _base()
    forged = rrset(SRV_NAME, "SRV", "0 5 1 evil.example.")
    resolver.add(SRV_NAME, "SRV", answer=[forged, EX.sign(SRV)])

    answer = await _lookup(resolver, SRV_NAME, "SRV")

    assert answer.verdict.state is DnssecState.BOGUS
    assert "does not verify" in (answer.verdict.reason or "")


async def test_expired_keys_make_everything_below_bogus() -> None:
    resolver = _base()
    resolver.add(
        "ex.test.", "DNSKEY", answer=EX.signed(EX.dnskey_rrset(), inception=NOW - 9 * DAY, expiration=NOW - DAY)
    )

    answer = await _lookup(resolver, SRV_NAME, "SRV")

    assert answer.verdict.state is DnssecState.BOGUS
    assert "ex.test. DNSKEY: signature expired on" in (answer.verdict.reason or "")


async def test_a_ds_that_fits_no_key_is_bogus() -> None:
    resolver = _base()
    resolver.add("ex.test.", "DS", answer=ROOT.signed(Zone.named("ex.test.").ds_rrset()))

    answer = await _lookup(resolver, SRV_NAME, "SRV")

    assert answer.verdict.state is DnssecState.BOGUS
    assert "no DNSKEY of ex.test. matches its DS" in (answer.verdict.reason or "")


async def test_a_stripped_signature_in_a_signed_zone_is_bogus() -> None:
    resolver = _base()
    resolver.add(SRV_NAME, "SRV", answer=[SRV])

    answer = await _lookup(resolver, SRV_NAME, "SRV")

    assert answer.verdict.state is DnssecState.BOGUS
    assert answer.verdict.reason == f"{SRV_NAME} SRV has no signature, but it is in the signed zone ex.test."


async def test_unsigned_data_below_an_unsigned_delegation_is_insecure() -> None:
    resolver = _base()
    resolver.add("_xmpp-client._tcp.ins.test.", "SRV", answer=[rrset("_xmpp-client._tcp.ins.test.", "SRV", "0 0 1 x.")])

    answer = await _lookup(resolver, "_xmpp-client._tcp.ins.test.", "SRV")

    assert answer.verdict.state is DnssecState.INSECURE
    assert "ins.test. is delegated without DS" in (answer.verdict.reason or "")


async def test_a_stripped_ds_cannot_pass_for_an_unsigned_delegation() -> None:
    # Someone on the path drops the DS and shows the parent's NSEC for ex.test, which lists DS.
    resolver = _base()
    resolver.add("ex.test.", "DS", authority=[*ROOT.signed(SOA_T), *ROOT.nsec("ex.test.", "ins.test.", "NS DS")])
    resolver.add(SRV_NAME, "SRV", answer=[SRV])

    answer = await _lookup(resolver, SRV_NAME, "SRV")

    assert answer.verdict.state is DnssecState.BOGUS
    assert "lists DS" in (answer.verdict.reason or "")


async def test_a_signer_that_is_not_a_zone_is_bogus() -> None:
    # Forged data signed by keys "of" _tcp.ex.test, a name the signed zone shows is no zone cut.
    resolver = _base()
    fake = Zone.named("_tcp.ex.test.")
    resolver.add(SRV_NAME, "SRV", answer=fake.signed(rrset(SRV_NAME, "SRV", "0 5 1 evil.example.")))
    resolver.add("_tcp.ex.test.", "DNSKEY", answer=fake.signed(fake.dnskey_rrset()))

    answer = await _lookup(resolver, SRV_NAME, "SRV")

    assert answer.verdict.state is DnssecState.BOGUS
    assert "_tcp.ex.test. signs records but is not a zone" in (answer.verdict.reason or "")


async def test_the_parents_nsec_at_a_cut_cannot_deny_names_in_the_child() -> None:
    # test.'s NSEC at ex.test sorts just before every name of ex.test; replayed, it must not
    # prove that foo.ex.test does not exist.
    resolver = _base()
    replay = [
        *ROOT.signed(SOA_T),
        *ROOT.nsec("ex.test.", "ins.test.", "NS DS"),
        *ROOT.nsec("test.", "ex.test.", "SOA NS"),
    ]
    resolver.add("foo.ex.test.", "A", authority=replay, rcode=dns.rcode.NXDOMAIN)

    answer = await _lookup(resolver, "foo.ex.test.", "A")

    assert answer.verdict.state is DnssecState.BOGUS
    assert "missing proof" in (answer.verdict.reason or "")


async def test_a_proven_nxdomain_is_secure() -> None:
    resolver = _base()
    proof = [
        *EX.signed(SOA_EX),
        *EX.nsec("alias.ex.test.", "ex.test.", "CNAME"),
        *EX.nsec("ex.test.", SRV_NAME, "SOA NS"),
    ]
    resolver.add("zz.ex.test.", "A", authority=proof, rcode=dns.rcode.NXDOMAIN)

    answer = await _lookup(resolver, "zz.ex.test.", "A")

    assert (answer.verdict.state, answer.rcode) == (DnssecState.SECURE, "NXDOMAIN")


async def test_an_alias_chain_is_as_strong_as_its_weakest_link() -> None:
    resolver = _base()
    alias = rrset("alias.ex.test.", "CNAME", "xmpp.ins.test.")
    resolver.add("alias.ex.test.", "A", answer=EX.signed(alias))
    resolver.add("xmpp.ins.test.", "A", answer=[rrset("xmpp.ins.test.", "A", "192.0.2.1")])

    answer = await _lookup(resolver, "alias.ex.test.", "A")

    assert [(str(link.owner), str(link.target), link.verdict.state) for link in answer.links] == [
        ("alias.ex.test.", "xmpp.ins.test.", DnssecState.SECURE)
    ]
    assert answer.verdict.state is DnssecState.INSECURE
    assert [r.address for r in answer.rrset or []] == ["192.0.2.1"]


async def test_alias_loops_and_long_chains_end() -> None:
    resolver = _base()
    resolver.add("a.ex.test.", "A", answer=EX.signed(rrset("a.ex.test.", "CNAME", "b.ex.test.")))
    resolver.add("b.ex.test.", "A", answer=EX.signed(rrset("b.ex.test.", "CNAME", "a.ex.test.")))
    for i in range(MAX_ALIASES + 2):
        owner = f"c{i}.ex.test."
        resolver.add(owner, "A", answer=EX.signed(rrset(owner, "CNAME", f"c{i + 1}.ex.test.")))

    loop = await _lookup(resolver, "a.ex.test.", "A")
    long = await _lookup(resolver, "c0.ex.test.", "A")

    assert (loop.verdict.state, loop.error) == (DnssecState.BOGUS, "alias loop at a.ex.test.")
    assert long.verdict.state is DnssecState.INDETERMINATE
    assert long.error == f"more than {MAX_ALIASES} aliases"


def _wildcard_answer() -> list[dns.rrset.RRset]:
    """host.dyn.ex.test A, expanded from *.dyn.ex.test (the RRSIG's label count says so)."""
    source = rrset("*.dyn.ex.test.", "A", "192.0.2.7")
    sig = EX.sign(source)
    expanded = rrset("host.dyn.ex.test.", "A", "192.0.2.7")
    sigs = dns.rrset.RRset(expanded.name, dns.rdataclass.IN, dns.rdatatype.RRSIG, dns.rdatatype.A)
    sigs.update_ttl(300)
    sigs.add(next(iter(sig)))
    return [expanded, sigs]


@pytest.mark.parametrize("with_proof", [True, False])
async def test_a_wildcard_answer_needs_proof_that_the_name_does_not_exist(with_proof: bool) -> None:
    resolver = _base()
    proof = EX.nsec("*.dyn.ex.test.", "ex.test.", "A") if with_proof else []
    resolver.add("host.dyn.ex.test.", "A", answer=_wildcard_answer(), authority=proof)

    answer = await _lookup(resolver, "host.dyn.ex.test.", "A")

    if with_proof:
        assert answer.verdict.state is DnssecState.SECURE
    else:
        assert answer.verdict.state is DnssecState.BOGUS
        assert "comes from a wildcard" in (answer.verdict.reason or "")


async def test_unanswered_questions_are_indeterminate() -> None:
    resolver = _base()
    resolver.fail(SRV_NAME, "SRV", "127.0.0.1:53: no answer within 3.0 s")
    resolver.fail("ex.test.", "DNSKEY", "127.0.0.1:53: no answer within 3.0 s")

    unanswered = await _lookup(resolver, SRV_NAME, "SRV")
    resolver.add(SRV_NAME, "SRV", answer=EX.signed(SRV))
    no_keys = await _lookup(resolver, SRV_NAME, "SRV")
    resolver.add(SRV_NAME, "SRV", rcode=dns.rcode.SERVFAIL)
    servfail = await _lookup(resolver, SRV_NAME, "SRV")

    assert (unanswered.verdict.state, unanswered.error) == (
        DnssecState.INDETERMINATE,
        "127.0.0.1:53: no answer within 3.0 s",
    )
    assert no_keys.verdict.state is DnssecState.INDETERMINATE
    assert (servfail.verdict.state, servfail.rcode) == (DnssecState.INDETERMINATE, "SERVFAIL")


async def test_a_resolver_that_drops_signatures_is_not_called_bogus() -> None:
    resolver = _base()
    resolver.add("test.", "DNSKEY", answer=[ROOT.dnskey_rrset()])

    answer = await _lookup(resolver, SRV_NAME, "SRV")

    assert answer.verdict.state is DnssecState.INDETERMINATE
    assert "does it support DNSSEC" in (answer.verdict.reason or "")


async def test_a_zone_whose_ds_uses_only_unknown_algorithms_is_insecure() -> None:
    resolver = _base()
    old = rrset("old.test.", "DS", "12345 3 2 " + "AB" * 32)  # algorithm 3 (DSA) is not validated
    resolver.add("old.test.", "DS", answer=ROOT.signed(old))
    zone = Zone.named("old.test.")
    resolver.add("x.old.test.", "A", answer=zone.signed(rrset("x.old.test.", "A", "192.0.2.9")))

    answer = await _lookup(resolver, "x.old.test.", "A")

    assert answer.verdict.state is DnssecState.INSECURE
    assert "only algorithms or digests we do not support" in (answer.verdict.reason or "")


async def test_keys_and_delegations_are_fetched_once_per_scan() -> None:
    resolver = _base()
    other = "_xmpps-client._tcp.ex.test."
    resolver.add(other, "SRV", answer=EX.signed(rrset(other, "SRV", "0 5 5223 xmpp.ex.test.")))
    anchors = parse_trust_anchors(ROOT.ds_rrset().to_text())
    validator = Validator(resolver, anchors, now=lambda: NOW)  # type: ignore[arg-type]

    first = await validator.lookup(name(SRV_NAME), dns.rdatatype.SRV)
    second = await validator.lookup(name(other), dns.rdatatype.SRV)

    assert first.verdict.secure
    assert second.verdict.secure
    assert resolver.asked.count(("ex.test.", "DNSKEY")) == 1
    assert resolver.asked.count(("ex.test.", "DS")) == 1


async def test_an_unsigned_cname_where_a_ds_was_asked_does_not_wait_for_itself() -> None:
    # Regression (fuzzing): the parent answering "x.test. DS" with an unsigned CNAME at x.test made the
    # cut of x.test wait for the cut of x.test (a task awaiting itself through the shared cache).
    resolver = _base()
    resolver.add("a.x.test.", "A", answer=[rrset("a.x.test.", "A", "192.0.2.1")])
    resolver.add("x.test.", "DS", answer=[rrset("x.test.", "CNAME", "x.test.")])

    answer = await asyncio.wait_for(_lookup(resolver, "a.x.test.", "A"), 5)

    assert answer.verdict.state is DnssecState.BOGUS
    assert answer.verdict.reason == "x.test. CNAME has no signature, but it is in the signed zone test."
