"""Checks of the XMPP stream: STARTTLS, SASL before and after TLS, compression."""

from __future__ import annotations

from observatory.checks import EndpointContext, Outcome, endpoint_check
from scanners.base import ServiceKind, Transport
from scanners.stream.facts import InjectionOutcome, StarttlsPolicy

#: Mechanisms that send the password itself (RFC 4616 PLAIN, the non-standard LOGIN).
CLEARTEXT_MECHANISMS = frozenset({"PLAIN", "LOGIN"})


def _starttls(ctx: EndpointContext) -> StarttlsPolicy | None:
    stream = ctx.endpoint.stream
    if ctx.endpoint.transport is not Transport.STARTTLS or stream is None:
        return None
    return stream.starttls


@endpoint_check("xmpp.starttls.absent")
def starttls_absent(ctx: EndpointContext) -> Outcome:
    return _starttls(ctx) is StarttlsPolicy.ABSENT


@endpoint_check("xmpp.starttls.optional")
def starttls_optional(ctx: EndpointContext) -> Outcome:
    return _starttls(ctx) is StarttlsPolicy.OPTIONAL


@endpoint_check("xmpp.starttls.not-enforced")
def starttls_not_enforced(ctx: EndpointContext) -> Outcome:
    stream = ctx.endpoint.stream
    if stream is None or stream.enforcement is None or stream.enforcement.accepted is not True:
        return False
    return f"{stream.enforcement.request} was answered with {stream.enforcement.answer}"


@endpoint_check("xmpp.starttls.injection")
def starttls_injection(ctx: EndpointContext) -> Outcome:
    stream = ctx.endpoint.stream
    if stream is None or stream.injection is None:
        return False
    # Only an answer inside TLS proves the injection; a server that answers in clear text never
    # started TLS on that connection (Prosody 0.12 answers a stream error there), which a client sees.
    return stream.injection.outcome is InjectionOutcome.ANSWERED_IN_TLS


def _mechanisms_before_tls(ctx: EndpointContext) -> list[str]:
    stream = ctx.endpoint.stream
    if ctx.endpoint.transport is not Transport.STARTTLS or stream is None or stream.features_before_tls is None:
        return []
    return stream.features_before_tls.sasl_mechanisms


@endpoint_check("xmpp.sasl.plain-before-tls")
def plain_before_tls(ctx: EndpointContext) -> Outcome:
    offered = sorted(CLEARTEXT_MECHANISMS.intersection(_mechanisms_before_tls(ctx)))
    return ", ".join(offered) if offered else False


@endpoint_check("xmpp.sasl.mechanisms-before-tls")
def mechanisms_before_tls(ctx: EndpointContext) -> Outcome:
    mechanisms = _mechanisms_before_tls(ctx)
    # PLAIN/LOGIN have their own, more severe finding; this one is about authentication in clear at all.
    if not mechanisms or CLEARTEXT_MECHANISMS.intersection(mechanisms):
        return False
    return ", ".join(mechanisms)


def _mechanisms_after_tls(ctx: EndpointContext) -> list[str] | None:
    stream = ctx.endpoint.stream
    if ctx.endpoint.kind is not ServiceKind.C2S or stream is None or stream.features_after_tls is None:
        return None
    features = stream.features_after_tls
    mechanisms = list(features.sasl_mechanisms)
    if features.sasl2 is not None:
        mechanisms += features.sasl2.mechanisms
    return mechanisms


@endpoint_check("xmpp.sasl.no-scram")
def no_scram(ctx: EndpointContext) -> Outcome:
    mechanisms = _mechanisms_after_tls(ctx)
    if not mechanisms:  # no SASL at all after TLS is a different problem (or an s2s stream)
        return False
    return not any(m.startswith("SCRAM-") for m in mechanisms)


@endpoint_check("xmpp.sasl.no-channel-binding")
def no_channel_binding(ctx: EndpointContext) -> Outcome:
    mechanisms = _mechanisms_after_tls(ctx)
    if not mechanisms:
        return False
    return not any(m.endswith("-PLUS") for m in mechanisms)


@endpoint_check("xmpp.compression.offered")
def compression_offered(ctx: EndpointContext) -> Outcome:
    stream = ctx.endpoint.stream
    if stream is None:
        return False
    methods = {
        method
        for features in (stream.features_before_tls, stream.features_after_tls)
        if features is not None
        for method in features.compression_methods
    }
    return ", ".join(sorted(methods)) if methods else False


@endpoint_check("endpoint.unreachable")
def unreachable(ctx: EndpointContext) -> Outcome:
    endpoint = ctx.endpoint
    if endpoint.tls is not None and endpoint.tls.versions:
        return False
    stream = endpoint.stream
    if stream is not None and (stream.header is not None or stream.tls_version is not None or stream.stream_error):
        return False  # it answered: whatever failed later is another finding's business
    errors = [*endpoint.errors, *(stream.errors if stream else []), *(endpoint.tls.errors if endpoint.tls else [])]
    if not errors:
        return False
    first = errors[0]
    return f"{first.phase}: {first.reason.value}: {first.message}"
