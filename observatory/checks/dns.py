"""Checks of DNS discovery and DNSSEC."""

from __future__ import annotations

from observatory.checks import EndpointContext, Outcome, ServiceContext, endpoint_check, service_check
from observatory.model import ServiceFacts
from scanners.base import Transport
from scanners.dns.facts import DnssecState, ServiceStatus, TargetFacts, TargetFlag


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


@service_check("dns.srv.missing")
def srv_missing(ctx: ServiceContext) -> Outcome:
    return ctx.service.status is ServiceStatus.FALLBACK


def _srv_targets(service: ServiceFacts) -> set[str]:
    """Names that real SRV records point at (not the fallback host, not a --connect name)."""
    return {record.target for lookup in service.srv for record in lookup.records}


def _flagged(targets: list[TargetFacts], flag: TargetFlag) -> list[str]:
    # A lookup that failed proves nothing about the records: that is an error, not a finding.
    return [target.name for target in targets if flag in target.flags and TargetFlag.LOOKUP_FAILED not in target.flags]


def _srv_targets_flagged(ctx: ServiceContext, flag: TargetFlag) -> Outcome:
    if ctx.service.status is not ServiceStatus.SRV:
        return False
    published = _srv_targets(ctx.service)
    names = _flagged([target for target in ctx.service.targets if target.name in published], flag)
    return ", ".join(names) if names else False


@service_check("dns.srv.target-cname")
def target_cname(ctx: ServiceContext) -> Outcome:
    return _srv_targets_flagged(ctx, TargetFlag.CNAME)


@service_check("dns.srv.target-no-address")
def target_no_address(ctx: ServiceContext) -> Outcome:
    return _srv_targets_flagged(ctx, TargetFlag.NO_ADDRESS)


@service_check("dns.fallback.no-address")
def fallback_no_address(ctx: ServiceContext) -> Outcome:
    """No SRV record, and the domain itself (the RFC 6120 §3.2.2 fallback host) has no address either."""
    service = ctx.service
    if service.status not in (ServiceStatus.FALLBACK, ServiceStatus.NONE) or _srv_targets(service):
        return False
    if any(lookup.error for lookup in service.srv):
        return False  # the SRV question went unanswered: whether a record exists is unknown
    names = _flagged([target for target in service.targets if target.name == ctx.domain], TargetFlag.NO_ADDRESS)
    return ", ".join(names) if names else False


@service_check("dns.directtls.absent")
def direct_tls_absent(ctx: ServiceContext) -> Outcome:
    service = ctx.service
    if service.status is not ServiceStatus.SRV:
        return False  # fallback and --connect say nothing about what the domain publishes
    return not any(endpoint.transport is Transport.DIRECTTLS for endpoint in service.endpoints)


@service_check("dns.dnssec.insecure")
def dnssec_insecure(ctx: ServiceContext) -> Outcome:
    insecure = [
        lookup.name
        for lookup in ctx.service.srv
        if lookup.records and lookup.dnssec is not None and lookup.dnssec.state is DnssecState.INSECURE
    ]
    return ", ".join(insecure) if insecure else False
