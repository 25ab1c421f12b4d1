"""Checks of DNS discovery and DNSSEC."""

from __future__ import annotations

from observatory.checks import EndpointContext, Outcome, ServiceContext, endpoint_check, service_check
from scanners.base import Transport
from scanners.dns.facts import DnssecState, ServiceStatus, TargetFlag


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


def _targets_flagged(ctx: ServiceContext, flag: TargetFlag) -> Outcome:
    # A lookup that failed proves nothing about the records: that is an error, not a finding.
    names = [
        target.name
        for target in ctx.service.targets
        if flag in target.flags and TargetFlag.LOOKUP_FAILED not in target.flags
    ]
    return ", ".join(names) if names else False


@service_check("dns.srv.target-cname")
def target_cname(ctx: ServiceContext) -> Outcome:
    return _targets_flagged(ctx, TargetFlag.CNAME)


@service_check("dns.srv.target-no-address")
def target_no_address(ctx: ServiceContext) -> Outcome:
    return _targets_flagged(ctx, TargetFlag.NO_ADDRESS)


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
