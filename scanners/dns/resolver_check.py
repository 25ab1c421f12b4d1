"""Can the resolver be used at all? One question before discovery: the trust anchor zone's DNSKEY.

Offline, or behind a resolver that denies the root (a filtering or captive resolver answering
NXDOMAIN or REFUSED for everything it does not serve itself), every lookup fails the same way, and
read one by one that looks like "no SRV record and no address". The DNSKEY RRset of the zone the
trust anchor covers (the root, normally) exists whatever domain is scanned, so a resolver that
cannot produce it cannot resolve public names, and nothing it says about the domain is evidence.

The validator asks this very question for its first verdict, and the client asks each question
once per scan, so a scan through a working resolver sends no extra query.
"""

from __future__ import annotations

import dns.name
import dns.rcode
import dns.rdatatype

from scanners.dns.answers import find
from scanners.dns.client import Querier, Reply
from scanners.dns.facts import ResolverFailure
from scanners.dns.records import name_text
from scanners.dns.trust_anchors import TrustAnchors


async def check_resolver(
    client: Querier, anchors: TrustAnchors, domain: dns.name.Name, resolver: str
) -> ResolverFailure | None:
    """None when the resolver answers the DNSKEY of the anchor zone covering ``domain``, else why not.

    A domain no anchor covers is not checked: its answers are insecure whatever the anchor zone says.
    """
    zone = anchors.covering(domain)
    if zone is None:
        return None
    return judge_reply(await client.query(zone, dns.rdatatype.DNSKEY), zone, resolver)


def judge_reply(reply: Reply, zone: dns.name.Name, resolver: str) -> ResolverFailure | None:
    """The failure shown by the reply to ``<zone> DNSKEY``, or None when it carries that RRset.

    Only the resolver's ability to answer is judged here; whether the keys match the anchor is the
    validator's question (a wrong key makes answers bogus, which is a finding, not a broken resolver).
    """
    rcode = dns.rcode.to_text(reply.message.rcode()) if reply.message is not None else None
    if reply.message is None:
        why = f"no answer: {reply.error or 'unknown error'}"
    elif reply.message.rcode() != dns.rcode.NOERROR:
        why = f"it answered {rcode}"
    elif find(reply.message.answer, zone, dns.rdatatype.DNSKEY) is None:
        why = "it answered without any DNSKEY record"
    else:
        return None
    shown = name_text(zone)
    what = "the DNS root" if zone == dns.name.root else "the zone of the given trust anchor"
    message = (
        f"the resolver at {resolver} cannot resolve the trust anchor zone {shown} ({what}) — {why} "
        f"for {shown} DNSKEY; it cannot resolve public names (offline, or a resolver that denies them), "
        "so nothing was learnt about the domain"
    )
    return ResolverFailure(resolver=resolver, zone=shown, rcode=rcode, error=reply.error, message=message)
