"""Slow and silent servers on loopback, on the testbed's ``LoopbackServer`` lifecycle.

``DelayProxy`` makes a real server slow: what the server sends first on each connection is held
``first_delay`` seconds, everything after it ``delay`` seconds (in order). ``SilentServer`` is the
other extreme: it accepts and never says a word.
"""

from __future__ import annotations

import asyncio
import contextlib

from tests.testbed.loopback_server import LoopbackServer


class DelayProxy(LoopbackServer):
    def __init__(self, target_port: int, port: int, *, first_delay: float, delay: float = 0.0) -> None:
        super().__init__(port)
        self.target_port = target_port
        self.first_delay = first_delay
        self.delay = delay

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            return
        try:
            await asyncio.gather(
                _pipe(reader, server_writer, first=0.0, later=0.0),
                _pipe(server_reader, writer, first=self.first_delay, later=self.delay),
            )
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            server_writer.close()


class SilentServer(LoopbackServer):
    """Accepts connections and reads what comes, never answering."""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while await reader.read(65536):
                pass


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, first: float, later: float) -> None:
    delay = first
    while data := await reader.read(65536):
        if delay:
            await asyncio.sleep(delay)
        delay = later
        writer.write(data)
        await writer.drain()
    with contextlib.suppress(OSError):
        writer.write_eof()
