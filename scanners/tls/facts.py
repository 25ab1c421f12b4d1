"""What the TLS engine observes on an endpoint."""

from __future__ import annotations

from enum import StrEnum

from scanners.base import B64Bytes, FactModel


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
    #: Version → accepted suites (IANA names), in the server's order where it enforces one.
    cipher_suites: dict[TlsVersion, list[str]] = {}
    #: Version → whether the server enforces its own suite order.
    server_order: dict[TlsVersion, bool] = {}
    #: The certificate chain as sent, DER, in the order the server sent it.
    certificate_chain: list[B64Bytes] = []
    connections: int = 0
    duration_seconds: float | None = None
