"""Openers: where the engine's connections come from.

``endpoint_opener`` goes through the connection layer (limiter slot, TCP, XMPP STARTTLS up to
``<proceed/>`` or nothing for Direct TLS); ``tcp_opener`` is a bare TCP connection, for TLS on a
port that needs no prelude (and for tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from scanners.connection import Deadline, Endpoint, Limiter, open_prelude
from scanners.tls.probe import Opener, Streams


def endpoint_opener(endpoint: Endpoint, limiter: Limiter, time_limit: float = 10.0) -> Opener:
    """Connections to ``endpoint`` paced by ``limiter``, each negotiated up to where TLS starts."""

    @asynccontextmanager
    async def open_connection() -> AsyncIterator[Streams]:
        async with open_prelude(endpoint, limiter, Deadline.after(time_limit)) as prelude:
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
