"""A complete TLS handshake, for the certificate chain of servers that speak only TLS 1.3.

Raw probes see the chain in clear up to TLS 1.2; under TLS 1.3 it is encrypted. The handshake is
the connection layer's pyOpenSSL-over-memory-BIO ``TlsStream`` on a connection from the engine's
opener, so STARTTLS and Direct TLS work alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AsyncExitStack

from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL

from scanners.base import ProbeError
from scanners.connection import TlsStream, classify
from scanners.tls.probe import Opener, enter_connection


def _tls13_connection(server_name: str | None, alpn: Sequence[str]) -> SSL.Connection:
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_min_proto_version(SSL.TLS1_3_VERSION)
    # We record the chain; judging it is certificate analysis' job, so accept whatever comes.
    context.set_verify(SSL.VERIFY_NONE)
    connection = SSL.Connection(context, None)
    connection.set_connect_state()
    if server_name:
        connection.set_tlsext_host_name(server_name.encode("idna"))
    if alpn:
        connection.set_alpn_protos([protocol.encode() for protocol in alpn])
    return connection


async def fetch_tls13_chain(
    opener: Opener, *, server_name: str | None, alpn: Sequence[str] = (), time_limit: float = 10.0
) -> list[bytes] | ProbeError:
    """The chain a TLS 1.3 handshake delivers, DER in the order sent, or why there is none."""
    async with AsyncExitStack() as stack:
        opened = await enter_connection(stack, opener, time_limit)
        if isinstance(opened, ProbeError):
            return opened
        stream = TlsStream(*opened, _tls13_connection(server_name, alpn))
        try:
            async with asyncio.timeout(time_limit):
                await stream.handshake()
        except Exception as exc:  # a failed handshake is a fact about the server
            return classify(exc, "tls-handshake")
        chain = stream.connection.get_peer_cert_chain(as_cryptography=True) or []
        await stream.close()
        return [certificate.public_bytes(Encoding.DER) for certificate in chain]
