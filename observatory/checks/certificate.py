"""Checks of the certificate analysis and of DANE (both judged before findings)."""

from __future__ import annotations

from observatory.certificates import ChainProblemCode, DaneStatus
from observatory.checks import EndpointContext, Outcome, endpoint_check
from scanners.dns.facts import DnssecState


@endpoint_check("cert.untrusted")
def untrusted(ctx: EndpointContext) -> Outcome:
    cert = ctx.certificate
    if cert is None or cert.trusted is not False:
        return False
    return "; ".join(problem.detail for problem in cert.untrusted_reasons[:3]) or True


@endpoint_check("cert.identity.mismatch")
def identity_mismatch(ctx: EndpointContext) -> Outcome:
    cert = ctx.certificate
    if cert is None or cert.identity_matches is not False:
        return False
    return f"the certificate does not name {cert.reference_identity or ctx.domain}"


@endpoint_check("cert.identity.cn-only")
def identity_cn_only(ctx: EndpointContext) -> Outcome:
    cert = ctx.certificate
    return cert is not None and bool(cert.identity_matches) and cert.identity_via_cn


@endpoint_check("cert.expired")
def expired(ctx: EndpointContext) -> Outcome:
    quality = ctx.certificate.quality if ctx.certificate else None
    if quality is None:
        return False
    if quality.expired:
        return f"expired {-quality.days_remaining} days ago"
    return "not yet valid" if quality.not_yet_valid else False


@endpoint_check("cert.expires-soon")
def expires_soon(ctx: EndpointContext) -> Outcome:
    quality = ctx.certificate.quality if ctx.certificate else None
    if quality is None or not quality.expires_soon:
        return False
    return f"{quality.days_remaining} days left"


@endpoint_check("cert.key.weak")
def weak_key(ctx: EndpointContext) -> Outcome:
    quality = ctx.certificate.quality if ctx.certificate else None
    if quality is None or not quality.weak_keys:
        return False
    return "; ".join(f"{issue.certificate}: {issue.detail}" for issue in quality.weak_keys[:3])


@endpoint_check("cert.signature.weak")
def weak_signature(ctx: EndpointContext) -> Outcome:
    quality = ctx.certificate.quality if ctx.certificate else None
    if quality is None or not quality.weak_signatures:
        return False
    return "; ".join(f"{issue.certificate}: {issue.detail}" for issue in quality.weak_signatures[:3])


@endpoint_check("cert.self-signed")
def self_signed(ctx: EndpointContext) -> Outcome:
    quality = ctx.certificate.quality if ctx.certificate else None
    return quality is not None and quality.self_signed_leaf


@endpoint_check("cert.chain.incomplete")
def chain_incomplete(ctx: EndpointContext) -> Outcome:
    cert = ctx.certificate
    if cert is None:
        return False
    missing = [problem.detail for problem in cert.chain_problems if problem.code is ChainProblemCode.INCOMPLETE]
    return "; ".join(missing) if missing else False


@endpoint_check("dane.mismatch")
def dane_mismatch(ctx: EndpointContext) -> Outcome:
    if ctx.dane is None or ctx.dane.status is not DaneStatus.INVALID:
        return False
    return ctx.dane.reason or True


@endpoint_check("dane.tlsa-insecure")
def tlsa_insecure(ctx: EndpointContext) -> Outcome:
    tlsa = ctx.endpoint.tlsa
    return (
        tlsa is not None
        and bool(tlsa.records)
        and tlsa.dnssec is not None
        and tlsa.dnssec.state is DnssecState.INSECURE
    )
