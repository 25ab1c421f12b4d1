"""The DNS testbed is real: BIND serves signed zones and unbound validates them with the test anchor."""

from __future__ import annotations

from typing import Any

import dns.dnssec
import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.NSEC3
import dns.rrset
import dns.zonefile
import pytest

from tests.testbed.dns import DnsTestbed, Nsec3, ZoneSpec, ask
from tests.testbed.dns_zones import BOGUS_ADDRESS, BOGUS_SRV_PORT, LOOPBACK, PARENT
from tests.testbed.fixtures_dns import DnsFactory
from tests.testbed.layout import Layout

pytestmark = pytest.mark.integration

SRV_SERVICES = {
    "_xmpp-client._tcp": "c2s",
    "_xmpps-client._tcp": "c2s_direct",
    "_xmpp-server._tcp": "s2s",
    "_xmpps-server._tcp": "s2s_direct",
}


def _answer(reply: dns.message.Message, name: str, rdtype: str) -> dns.rrset.RRset:
    return reply.find_rrset(reply.answer, dns.name.from_text(name), dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))


def _authenticated(reply: dns.message.Message) -> bool:
    return bool(reply.flags & dns.flags.AD)


def _ede_codes(reply: dns.message.Message) -> list[int]:
    return [option.code for option in reply.options if isinstance(option, dns.edns.EDEOption)]


@pytest.mark.parametrize(("service", "kind"), SRV_SERVICES.items())
def test_srv_records_validate_and_point_at_the_strong_ports(
    dns_testbed: DnsTestbed, layout: Layout, service: str, kind: str
) -> None:
    reply = ask(dns_testbed.resolver, f"{service}.example.test", "SRV")

    assert reply.rcode() == dns.rcode.NOERROR
    assert _authenticated(reply)
    [srv] = _answer(reply, f"{service}.example.test.", "SRV")
    assert srv.port == getattr(layout.strong, kind)
    assert srv.target == dns.name.from_text("xmpp.example.test.")


@pytest.mark.parametrize("server", ["resolver", "resolver_v6"])
def test_srv_target_addresses_are_loopback_on_both_families(dns_testbed: DnsTestbed, server: str) -> None:
    for rdtype, address in zip(("A", "AAAA"), LOOPBACK, strict=True):
        reply = ask(getattr(dns_testbed, server), "xmpp.example.test", rdtype)
        assert _authenticated(reply)
        assert [r.address for r in _answer(reply, "xmpp.example.test.", rdtype)] == [address]


def test_tlsa_validates_and_pins_the_served_key(
    dns_testbed: DnsTestbed, layout: Layout, dns_tlsa_spki_sha256: str
) -> None:
    for port in (layout.strong.c2s, layout.strong.c2s_direct, layout.strong.s2s, layout.strong.s2s_direct):
        name = f"_{port}._tcp.xmpp.example.test."
        reply = ask(dns_testbed.resolver, name, "TLSA")
        assert _authenticated(reply)
        [tlsa] = _answer(reply, name, "TLSA")
        assert (tlsa.usage, tlsa.selector, tlsa.mtype) == (3, 1, 1)
        assert tlsa.cert.hex() == dns_tlsa_spki_sha256.lower()


def test_weak_subdomain_has_its_own_srv_and_a_non_matching_tlsa(
    dns_testbed: DnsTestbed, layout: Layout, dns_tlsa_spki_sha256: str
) -> None:
    for service, kind in SRV_SERVICES.items():
        reply = ask(dns_testbed.resolver, f"{service}.weak.example.test", "SRV")
        assert _authenticated(reply)
        [srv] = _answer(reply, f"{service}.weak.example.test.", "SRV")
        assert (srv.port, srv.target.to_text()) == (getattr(layout.weak, kind), "xmppweak.example.test.")

    name = f"_{layout.weak.c2s}._tcp.xmppweak.example.test."
    reply = ask(dns_testbed.resolver, name, "TLSA")
    assert _authenticated(reply)
    [tlsa] = _answer(reply, name, "TLSA")
    assert (tlsa.usage, tlsa.selector, tlsa.mtype) == (3, 1, 1)
    assert tlsa.cert.hex() != dns_tlsa_spki_sha256.lower()


def test_unsigned_zone_answers_without_authentication(dns_testbed: DnsTestbed, layout: Layout) -> None:
    reply = ask(dns_testbed.resolver, "_xmpp-client._tcp.unsigned.test", "SRV")

    assert reply.rcode() == dns.rcode.NOERROR
    assert not _authenticated(reply)
    [srv] = _answer(reply, "_xmpp-client._tcp.unsigned.test.", "SRV")
    assert srv.port == layout.strong.c2s


def test_bogus_zone_fails_validation_but_cd_reveals_the_tampered_data(dns_testbed: DnsTestbed) -> None:
    name = "_xmpp-client._tcp.bogus.test"
    reply = ask(dns_testbed.resolver, name, "SRV")
    assert reply.rcode() == dns.rcode.SERVFAIL
    assert dns.edns.EDECode.DNSSEC_BOGUS in _ede_codes(reply)

    unchecked = ask(dns_testbed.resolver, name, "SRV", checking_disabled=True)
    assert unchecked.rcode() == dns.rcode.NOERROR
    assert not _authenticated(unchecked)
    assert [srv.port for srv in _answer(unchecked, f"{name}.", "SRV")] == [BOGUS_SRV_PORT]
    address = ask(dns_testbed.resolver, "xmpp.bogus.test", "A", checking_disabled=True)
    assert [a.address for a in _answer(address, "xmpp.bogus.test.", "A")] == [BOGUS_ADDRESS]


def test_nonexistent_name_is_an_authenticated_denial(dns_testbed: DnsTestbed) -> None:
    reply = ask(dns_testbed.resolver, "_nope._tcp.example.test", "SRV")

    assert reply.rcode() == dns.rcode.NXDOMAIN
    assert _authenticated(reply)


@pytest.mark.parametrize("server", ["authoritative", "authoritative_v6"])
def test_authoritative_server_returns_signatures(dns_testbed: DnsTestbed, server: str) -> None:
    reply = ask(getattr(dns_testbed, server), "_xmpp-client._tcp.example.test", "SRV", recursion=False)

    assert reply.flags & dns.flags.AA
    assert not reply.flags & dns.flags.RA  # recursion is off: the authoritative server only answers
    sigs = [rdata for rrset in reply.answer if rrset.rdtype == dns.rdatatype.RRSIG for rdata in rrset]
    assert {(sig.type_covered, sig.signer.to_text()) for sig in sigs} == {(dns.rdatatype.SRV, "example.test.")}


def test_trust_anchor_file_is_the_parents_ds_set(dns_testbed: DnsTestbed) -> None:
    # The dsset file has neither TTL nor $TTL, so a reader has to supply a default.
    text = dns_testbed.trust_anchor_path.read_text()
    [anchor] = dns.zonefile.read_rrsets(text, rdclass=None, default_ttl=3600)
    assert anchor.name == dns.name.from_text(f"{PARENT}.")
    assert anchor.rdtype == dns.rdatatype.DS

    keys = _answer(ask(dns_testbed.authoritative, PARENT, "DNSKEY", recursion=False), f"{PARENT}.", "DNSKEY")
    expected = {dns.dnssec.make_ds(f"{PARENT}.", key, "SHA256") for key in keys if key.flags & 0x0001}
    assert set(anchor) == expected


def test_zone_files_are_served_and_signed_at_setup(dns_testbed: DnsTestbed) -> None:
    files = dns_testbed.zone_files
    assert set(files) == {PARENT, "example.test", "bogus.test", "unsigned.test", "scanner.test"}
    assert files["example.test"].suffix == ".signed"
    assert files["bogus.test"].suffix == ".tampered"
    assert files["unsigned.test"].suffix == ".zone"
    assert {"keygen", "sign", "named_start", "unbound_start"} <= set(dns_testbed.timings)


def test_resolver_refuses_names_outside_the_test_tree(dns_testbed: DnsTestbed) -> None:
    # Refused locally: proof that unbound would never walk to the root servers.
    reply = ask(dns_testbed.resolver, "example.com", "A")

    assert reply.rcode() == dns.rcode.REFUSED


def _simple_zone(name: str, **knobs: Any) -> ZoneSpec:
    return ZoneSpec(name, records=["_xmpp-client._tcp SRV 0 5 5222 xmpp", "xmpp A 127.0.0.1"], **knobs)


def _nsec3_proof(testbed: DnsTestbed, name: str) -> list[dns.rdtypes.ANY.NSEC3.NSEC3]:
    reply = ask(testbed.authoritative, name, "A", recursion=False)
    assert not [rrset for rrset in reply.authority if rrset.rdtype == dns.rdatatype.NSEC]
    return [rdata for rrset in reply.authority if rrset.rdtype == dns.rdatatype.NSEC3 for rdata in rrset]


def test_factory_nsec3_zones_validate(dns_factory: DnsFactory) -> None:
    hashed = _simple_zone("hashed.test", nsec3=Nsec3(salt="C0FFEE", iterations=0))
    optout = _simple_zone("optout.test", nsec3=Nsec3(opt_out=True))
    parent = ZoneSpec(PARENT, nsec3=Nsec3(opt_out=True))
    testbed = dns_factory([hashed, optout, _simple_zone("plain.test", signed=False)], parent=parent)

    for zone in ("hashed.test", "optout.test"):
        positive = ask(testbed.resolver, f"_xmpp-client._tcp.{zone}", "SRV")
        assert positive.rcode() == dns.rcode.NOERROR
        assert _authenticated(positive)

    denial = ask(testbed.resolver, "nothing.hashed.test", "A")
    assert denial.rcode() == dns.rcode.NXDOMAIN
    assert _authenticated(denial)
    proof = _nsec3_proof(testbed, "nothing.hashed.test")
    assert proof
    assert {(n.salt.hex().upper(), n.iterations, n.flags) for n in proof} == {("C0FFEE", 0, 0)}

    # An opt-out span might hide an unsigned delegation, so unbound calls such a denial insecure
    # rather than secure: NXDOMAIN without AD (RFC 5155 §9.2).
    assert {n.flags for n in _nsec3_proof(testbed, "nothing.optout.test")} == {1}
    optout_denial = ask(testbed.resolver, "nothing.optout.test", "A")
    assert optout_denial.rcode() == dns.rcode.NXDOMAIN
    assert not _authenticated(optout_denial)

    # Under the opt-out parent, the unsigned child is still an insecure delegation.
    insecure = ask(testbed.resolver, "_xmpp-client._tcp.plain.test", "SRV")
    assert insecure.rcode() == dns.rcode.NOERROR
    assert not _authenticated(insecure)


def test_factory_wrong_ds_makes_the_zone_bogus(dns_factory: DnsFactory) -> None:
    testbed = dns_factory([_simple_zone("mismatch.test", wrong_ds=True)])

    reply = ask(testbed.resolver, "_xmpp-client._tcp.mismatch.test", "SRV")

    assert reply.rcode() == dns.rcode.SERVFAIL
    unchecked = ask(testbed.resolver, "_xmpp-client._tcp.mismatch.test", "SRV", checking_disabled=True)
    assert unchecked.rcode() == dns.rcode.NOERROR


def test_factory_testbed_can_replace_its_zones_and_stops_cleanly(dns_factory: DnsFactory) -> None:
    testbed = dns_factory([_simple_zone("first.test")])
    first_anchor = testbed.trust_anchor_path.read_text()

    testbed.replace_zones([_simple_zone("second.test")])

    assert testbed.trust_anchor_path.read_text() != first_anchor  # fresh keys for the new tree
    assert ask(testbed.resolver, "_xmpp-client._tcp.first.test", "SRV").rcode() == dns.rcode.NXDOMAIN
    reply = ask(testbed.resolver, "_xmpp-client._tcp.second.test", "SRV")
    assert reply.rcode() == dns.rcode.NOERROR
    assert _authenticated(reply)

    testbed.stop()
    assert not testbed.running
