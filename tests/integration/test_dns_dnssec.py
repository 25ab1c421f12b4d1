"""The scanner's own DNSSEC verdicts agree with unbound's on every layout of the testbed.

unbound validates with the same trust anchor: AD means secure, SERVFAIL bogus, an answer without
AD insecure. The scanner asks the same unbound with CD set, so it sees bogus data too, and judges
it itself; it must reach the same verdict (and an expected one, so agreement is never vacuous).
"""

from __future__ import annotations

import dns.flags
import dns.name
import dns.rcode
import dns.rdatatype
import pytest

from scanners.addresses import HostPort
from scanners.dns.answers import Answer
from scanners.dns.client import DnsClient
from scanners.dns.facts import DnssecState
from scanners.dns.trust_anchors import load_trust_anchors
from scanners.dns.validator import Validator
from tests.testbed.dns import DnsTestbed, ask
from tests.testbed.dns_zones import BOGUS_SRV_PORT
from tests.testbed.layout import Layout

pytestmark = pytest.mark.integration

SECURE, INSECURE, BOGUS = DnssecState.SECURE, DnssecState.INSECURE, DnssecState.BOGUS

# (testbed, name, type, expected); {c2s} is the strong server's c2s port.
CASES = [
    # The default layout: NSEC-signed example.test, a tampered zone, an unsigned delegation.
    ("dns_testbed", "_xmpp-client._tcp.example.test", "SRV", SECURE),
    ("dns_testbed", "xmpp.example.test", "A", SECURE),
    ("dns_testbed", "xmpp.example.test", "AAAA", SECURE),
    ("dns_testbed", "_{c2s}._tcp.xmpp.example.test", "TLSA", SECURE),
    ("dns_testbed", "_xmpp-client._tcp.weak.example.test", "SRV", SECURE),
    ("dns_testbed", "_nope._tcp.example.test", "SRV", SECURE),  # NXDOMAIN, NSEC
    ("dns_testbed", "xmpp.example.test", "TXT", SECURE),  # NODATA, NSEC
    ("dns_testbed", "_tcp.example.test", "SRV", SECURE),  # empty non-terminal
    ("dns_testbed", "_1._tcp.xmpp.example.test", "TLSA", SECURE),  # no TLSA, provably
    ("dns_testbed", "_xmpp-client._tcp.bogus.test", "SRV", BOGUS),
    ("dns_testbed", "xmpp.bogus.test", "A", BOGUS),
    ("dns_testbed", "xmpp.bogus.test", "AAAA", SECURE),  # left alone by the tampering
    ("dns_testbed", "_xmpp-client._tcp.unsigned.test", "SRV", INSECURE),
    ("dns_testbed", "nothing.unsigned.test", "A", INSECURE),
    # NSEC3 without opt-out, its wildcard, and an unsigned child below it.
    ("dns_cases", "_xmpp-client._tcp.nsec3.test", "SRV", SECURE),
    ("dns_cases", "_{c2s}._tcp.xmpp.nsec3.test", "TLSA", SECURE),
    ("dns_cases", "_nope._tcp.nsec3.test", "SRV", SECURE),
    ("dns_cases", "xmpp.nsec3.test", "TXT", SECURE),
    ("dns_cases", "_tcp.nsec3.test", "SRV", SECURE),
    ("dns_cases", "host.dyn.nsec3.test", "A", SECURE),  # wildcard answer, NSEC3 proof
    ("dns_cases", "host.dyn.nsec3.test", "TXT", SECURE),  # wildcard NODATA
    ("dns_cases", "_xmpp-client._tcp.island.nsec3.test", "SRV", INSECURE),
    ("dns_cases", "nothing.island.nsec3.test", "A", INSECURE),
    # NSEC3 with opt-out.
    ("dns_cases", "_xmpp-client._tcp.optout.test", "SRV", SECURE),
    ("dns_cases", "nothing.optout.test", "A", INSECURE),  # opt-out span: not a secure NXDOMAIN
    ("dns_cases", "_xmpp-client._tcp.plain.optout.test", "SRV", INSECURE),
    # NSEC zone with the discovery layouts.
    ("dns_cases", "_xmpp-client._tcp.weighted.cases.test", "SRV", SECURE),
    ("dns_cases", "noaddr.weighted.cases.test", "A", SECURE),
    ("dns_cases", "xmpp.alias.cases.test", "A", SECURE),  # CNAME in the same zone
    ("dns_cases", "away.alias.cases.test", "A", INSECURE),  # CNAME into an unsigned zone
    ("dns_cases", "xmpp.renamed.alias.cases.test", "A", SECURE),  # DNAME
    ("dns_cases", "_xmpp-client._tcp.dot.cases.test", "SRV", SECURE),
    ("dns_cases", "_xmpp-client._tcp.nosrv.cases.test", "SRV", SECURE),
    ("dns_cases", "host.dyn.cases.test", "A", SECURE),  # wildcard answer, NSEC proof
    ("dns_cases", "nothing.cases.test", "A", SECURE),
    # Broken on purpose.
    ("dns_cases", "_xmpp-client._tcp.expired.test", "SRV", BOGUS),
    ("dns_cases", "_xmpp-client._tcp.notyet.test", "SRV", BOGUS),
    ("dns_cases", "_xmpp-client._tcp.mismatch.test", "SRV", BOGUS),
    ("dns_cases", "_xmpp-client._tcp.stripped.test", "SRV", BOGUS),
    ("dns_cases", "_xmpps-client._tcp.stripped.test", "SRV", SECURE),
]


def unbound_verdict(testbed: DnsTestbed, name: str, rdtype: str) -> DnssecState:
    reply = ask(testbed.resolver, name, rdtype)
    if reply.rcode() == dns.rcode.SERVFAIL:
        return BOGUS
    return SECURE if reply.flags & dns.flags.AD else INSECURE


async def scanner_lookup(testbed: DnsTestbed, name: str, rdtype: str) -> Answer:
    client = DnsClient([HostPort(*testbed.resolver)])
    validator = Validator(client, load_trust_anchors(testbed.trust_anchor_path))
    return await validator.lookup(dns.name.from_text(name), dns.rdatatype.from_text(rdtype))


@pytest.mark.parametrize(("bed", "name", "rdtype", "expected"), CASES)
async def test_verdict_agrees_with_unbound(
    request: pytest.FixtureRequest, layout: Layout, bed: str, name: str, rdtype: str, expected: DnssecState
) -> None:
    testbed: DnsTestbed = request.getfixturevalue(bed)
    qname = name.format(c2s=layout.strong.c2s)

    answer = await scanner_lookup(testbed, qname, rdtype)

    assert answer.verdict.state is expected, answer.verdict.reason
    assert unbound_verdict(testbed, qname, rdtype) is expected
    if expected is not SECURE:
        assert answer.verdict.reason


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("_xmpp-client._tcp.expired.test", "expired.test. DNSKEY: signature expired on 2020-02-01 00:00:00 UTC"),
        ("_xmpp-client._tcp.notyet.test", "notyet.test. DNSKEY: signature not valid before"),
        ("_xmpp-client._tcp.mismatch.test", "no DNSKEY of mismatch.test. matches its DS"),
        ("_xmpp-client._tcp.stripped.test", "has no signature, but it is in the signed zone stripped.test."),
        ("_xmpp-client._tcp.island.nsec3.test", "island.nsec3.test. is delegated without DS (NSEC3 proves"),
        ("nothing.optout.test", "an opt-out NSEC3 span covers nothing.optout.test."),
        ("_xmpp-client._tcp.plain.optout.test", "an opt-out NSEC3 span covers plain.optout.test."),
    ],
)
async def test_reasons_say_what_is_wrong(dns_cases: DnsTestbed, name: str, reason: str) -> None:
    answer = await scanner_lookup(dns_cases, name, "SRV" if name.startswith("_") else "A")

    assert reason in (answer.verdict.reason or "")


async def test_bogus_data_is_still_examined(dns_testbed: DnsTestbed) -> None:
    # unbound answers SERVFAIL without CD; the scanner asks with CD and sees what was served.
    answer = await scanner_lookup(dns_testbed, "_xmpp-client._tcp.bogus.test", "SRV")

    assert answer.verdict.state is BOGUS
    assert [srv.port for srv in answer.rrset or []] == [BOGUS_SRV_PORT]
    assert "signature does not verify" in (answer.verdict.reason or "")


async def test_unsigned_zone_reason_names_the_delegation(dns_testbed: DnsTestbed) -> None:
    answer = await scanner_lookup(dns_testbed, "_xmpp-client._tcp.unsigned.test", "SRV")

    assert answer.verdict.reason == (
        "unsigned.test. is delegated without DS (NSEC at unsigned.test. proves a delegation without DS)"
    )


async def test_a_wrong_trust_anchor_makes_everything_bogus(dns_testbed: DnsTestbed, dns_cases: DnsTestbed) -> None:
    # The cases testbed's test. has other keys than the default one's.
    client = DnsClient([HostPort(*dns_testbed.resolver)])
    validator = Validator(client, load_trust_anchors(dns_cases.trust_anchor_path))

    answer = await validator.lookup(dns.name.from_text("_xmpp-client._tcp.example.test"), dns.rdatatype.SRV)

    assert answer.verdict.state is BOGUS
    assert "no DNSKEY of test. matches the trust anchor" in (answer.verdict.reason or "")
