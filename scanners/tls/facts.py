"""What the TLS engine observes on an endpoint."""

from __future__ import annotations

from enum import StrEnum

from scanners.base import B64Bytes, FactModel, ProbeError


class TlsVersion(StrEnum):
    SSL2 = "SSLv2"
    SSL3 = "SSLv3"
    TLS10 = "TLSv1.0"
    TLS11 = "TLSv1.1"
    TLS12 = "TLSv1.2"
    TLS13 = "TLSv1.3"


class TlsFacts(FactModel):
    #: Accepted protocol versions, oldest first.
    versions: list[TlsVersion] = []
    #: Version → accepted suites (IANA names; ``SSL_CK_…`` for SSLv2; ``UNKNOWN_0x…`` for codes no
    #: registry lists), in the server's order where it enforces one, else in the order offered.
    cipher_suites: dict[TlsVersion, list[str]] = {}
    #: Version → whether the server enforces its own suite order (absent when fewer than two
    #: suites were accepted, and for SSLv2, where the client chooses).
    server_order: dict[TlsVersion, bool] = {}
    #: The certificate chain as sent, DER, in the order the server sent it.
    certificate_chain: list[B64Bytes] = []
    #: The version of the handshake the chain was taken from: the clear Certificate message of the
    #: highest version up to TLS 1.2, or a complete TLS 1.3 handshake when only TLS 1.3 is offered.
    certificate_chain_version: TlsVersion | None = None
    #: TCP connections opened (each one a full XMPP stream negotiation on STARTTLS endpoints).
    connections: int = 0
    duration_seconds: float | None = None
    #: Probes that failed or met malformed replies; results above may then be incomplete.
    errors: list[ProbeError] = []
