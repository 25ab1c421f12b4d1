"""Small builders of endpoint facts for check and grading tests."""

from __future__ import annotations

from typing import Any

from observatory.model import EndpointFacts, endpoint_id
from scanners.base import ServiceKind, Transport
from scanners.stream.facts import StarttlsPolicy, StreamFacts, StreamFeatures
from scanners.tls.facts import TlsFacts, TlsVersion

MODERN_12 = ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"]
MODERN_13 = ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"]


def tls(versions: dict[TlsVersion, list[str]], server_order: bool = True) -> TlsFacts:
    return TlsFacts(
        versions=list(versions),
        cipher_suites=versions,
        server_order=dict.fromkeys(versions, server_order),
    )


def strong_tls() -> TlsFacts:
    return tls({TlsVersion.TLS12: MODERN_12, TlsVersion.TLS13: MODERN_13})


def endpoint(
    *,
    kind: ServiceKind = ServiceKind.C2S,
    transport: Transport = Transport.STARTTLS,
    tls_facts: TlsFacts | None = None,
    starttls: StarttlsPolicy | None = StarttlsPolicy.REQUIRED,
    before: list[str] | None = None,
    after: list[str] | None = None,
    **stream: Any,
) -> EndpointFacts:
    if transport is Transport.DIRECTTLS:
        starttls = StarttlsPolicy.NOT_APPLICABLE
    return EndpointFacts(
        id=endpoint_id(kind, transport, "xmpp.example.org", 5222, "192.0.2.1"),
        kind=kind,
        target="xmpp.example.org",
        port=5222,
        address="192.0.2.1",
        transport=transport,
        tls=tls_facts if tls_facts is not None else strong_tls(),
        stream=StreamFacts(
            starttls=starttls,
            features_before_tls=StreamFeatures(sasl_mechanisms=before or []),
            features_after_tls=StreamFeatures(
                sasl_mechanisms=after if after is not None else ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]
            ),
            **stream,
        ),
    )
