"""Checks of DNS discovery and DNSSEC."""

from __future__ import annotations

from observatory.checks import EndpointContext, Outcome, endpoint_check
from scanners.dns.facts import DnssecState


@endpoint_check("dns.dnssec.bogus")
def dnssec_bogus(ctx: EndpointContext) -> Outcome:
    dnssec = ctx.endpoint.dnssec
    if dnssec is None:
        return False
    bogus = [
        f"{name}: {status.reason or 'bogus'}"
        for name, status in (("SRV", dnssec.srv), ("address", dnssec.address), ("TLSA", dnssec.tlsa))
        if status is not None and status.state is DnssecState.BOGUS
    ]
    return "; ".join(bogus) if bogus else False
