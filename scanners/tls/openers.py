"""Where the engine's connections come from, and the entry point for an XMPP endpoint.

``endpoint_opener`` goes through the connection layer (limiter slot, TCP, XMPP STARTTLS up to
``<proceed/>`` or nothing for Direct TLS); ``tcp_opener`` is a bare TCP connection, for TLS on a
port that needs no prelude (and for tests). ``scan_endpoint`` puts it together::

    facts = await scan_endpoint(endpoint, limiter)   # TlsFacts
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from scanners.base import Transport
from scanners.connection import Deadline, Endpoint, Limiter, open_prelude
from scanners.connection.limits import DEFAULT_WAIT_LIMIT
from scanners.connection.tls import ALPN
from scanners.tls.enumeration import TlsScanOptions, scan_tls
from scanners.tls.facts import TlsFacts
from scanners.tls.probe import Opener, Streams


def endpoint_opener(
    endpoint: Endpoint, limiter: Limiter, time_limit: float = 10.0, wait_limit: float | None = DEFAULT_WAIT_LIMIT
) -> Opener:
    """Connections to ``endpoint`` paced by ``limiter``, each negotiated up to where TLS starts (each
    wait for the server at most ``wait_limit`` seconds)."""

    @asynccontextmanager
    async def open_connection() -> AsyncIterator[Streams]:
        async with open_prelude(endpoint, limiter, Deadline.after(time_limit, wait_limit)) as prelude:
            yield prelude.reader, prelude.writer

    return open_connection


def tcp_opener(host: str, port: int) -> Opener:
    @asynccontextmanager
    async def open_connection() -> AsyncIterator[Streams]:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            yield reader, writer
        finally:
            writer.close()
            try:
                async with asyncio.timeout(1):
                    await writer.wait_closed()
            except (TimeoutError, OSError):
                pass

    return open_connection


def endpoint_options(endpoint: Endpoint, **overrides: Any) -> TlsScanOptions:
    """Options for an XMPP endpoint: SNI is the XMPP domain; Direct TLS offers the service's ALPN (XEP-0368)."""
    alpn = (ALPN[endpoint.kind].decode(),) if endpoint.transport is Transport.DIRECTTLS else ()
    return TlsScanOptions(**{"server_name": endpoint.domain, "alpn": alpn, **overrides})


async def scan_endpoint(endpoint: Endpoint, limiter: Limiter, options: TlsScanOptions | None = None) -> TlsFacts:
    """Enumerate one XMPP endpoint's TLS through the connection layer (STARTTLS or Direct TLS)."""
    options = options or endpoint_options(endpoint)
    return await scan_tls(endpoint_opener(endpoint, limiter, options.probe_timeout), options)
