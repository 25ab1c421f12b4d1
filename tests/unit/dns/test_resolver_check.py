"""The resolver check: one DNSKEY question for the anchor zone, and what counts as a resolver that cannot
resolve public names (NXDOMAIN, REFUSED, SERVFAIL, no answer, an answer without the keys)."""

from __future__ import annotations

import dns.name
import dns.rcode
import pytest

from scanners.dns.client import Reply
from scanners.dns.resolver_check import check_resolver, judge_reply
from scanners.dns.trust_anchors import parse_trust_anchors, root_trust_anchors
from tests.unit.dns.zonekit import ScriptedResolver, Zone, message

TEST_ANCHORS = parse_trust_anchors(Zone.named("test.").ds_rrset().to_text())
ROOT = dns.name.root


def test_the_anchor_covering_a_name_is_the_closest_one() -> None:
    both = parse_trust_anchors(
        "\n".join(Zone.named(zone).ds_rrset().to_text() for zone in ("test.", "deep.example.test."))
    )
    assert both.covering(dns.name.from_text("a.deep.example.test.")) == dns.name.from_text("deep.example.test.")
    assert both.covering(dns.name.from_text("example.test.")) == dns.name.from_text("test.")
    assert both.covering(dns.name.from_text("example.org.")) is None
    assert root_trust_anchors().covering(dns.name.from_text("example.org.")) == ROOT


def test_an_answer_with_the_keys_is_a_working_resolver() -> None:
    zone = Zone.named("test.")
    reply = Reply(message=message("test.", "DNSKEY", answer=[zone.dnskey_rrset()]))
    assert judge_reply(reply, dns.name.from_text("test."), "127.0.0.1:53") is None


@pytest.mark.parametrize(
    ("rcode", "said"),
    [(dns.rcode.NXDOMAIN, "NXDOMAIN"), (dns.rcode.REFUSED, "REFUSED"), (dns.rcode.SERVFAIL, "SERVFAIL")],
)
def test_a_denied_root_is_one_reason_naming_resolver_and_zone(rcode: int, said: str) -> None:
    failure = judge_reply(Reply(message=message(".", "DNSKEY", rcode=rcode)), ROOT, "192.0.2.53:53")

    assert failure is not None
    assert (failure.resolver, failure.zone, failure.rcode, failure.error) == ("192.0.2.53:53", ".", said, None)
    assert failure.message.startswith(
        "the resolver at 192.0.2.53:53 cannot resolve the trust anchor zone . (the DNS root)"
    )
    assert f"it answered {said} for . DNSKEY" in failure.message


def test_no_answer_and_an_empty_answer_are_failures_too() -> None:
    silent = judge_reply(Reply(error="127.0.0.1:5353: no answer within 3.0 s"), ROOT, "127.0.0.1:5353")
    assert silent is not None
    assert (silent.rcode, silent.error) == (None, "127.0.0.1:5353: no answer within 3.0 s")
    assert "no answer: 127.0.0.1:5353: no answer within 3.0 s" in silent.message

    empty = judge_reply(Reply(message=message(".", "DNSKEY")), ROOT, "r")
    assert empty is not None
    assert (empty.rcode, "without any DNSKEY record" in empty.message) == ("NOERROR", True)


async def test_the_check_asks_the_covering_zone_once_and_nothing_outside_any_anchor() -> None:
    resolver = ScriptedResolver()
    resolver.add("test.", "DNSKEY", rcode=dns.rcode.REFUSED)

    failure = await check_resolver(resolver, TEST_ANCHORS, dns.name.from_text("example.test."), "r")
    assert failure is not None
    assert "the zone of the given trust anchor" in failure.message
    assert resolver.asked == [("test.", "DNSKEY")]

    assert await check_resolver(resolver, TEST_ANCHORS, dns.name.from_text("example.org."), "r") is None
    assert resolver.asked == [("test.", "DNSKEY")]
