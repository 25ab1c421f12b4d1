"""A TCP proxy on loopback that makes a server slow: what the server sends first on each connection
is held ``first_delay`` seconds, everything after it ``delay`` seconds (in order). For tests of
slow-but-working servers; ``silent_listener`` is the other extreme, a server that accepts and never
says a word."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

HOST = "127.0.0.1"


class DelayProxy:
    def __init__(self, target_port: int, *, first_delay: float, delay: float = 0.0) -> None:
        self.target_port = target_port
        self.first_delay = first_delay
        self.delay = delay
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, port: int) -> None:
        self._server = await asyncio.start_server(self._accept, HOST, port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            server_reader, server_writer = await asyncio.open_connection(HOST, self.target_port)
        except OSError:
            client_writer.close()
            self._tasks.discard(task)
            return
        try:
            await asyncio.gather(
                self._pipe(client_reader, server_writer, first=0.0, later=0.0),
                self._pipe(server_reader, client_writer, first=self.first_delay, later=self.delay),
            )
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for writer in (client_writer, server_writer):
                writer.close()
            self._tasks.discard(task)

    @staticmethod
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


@contextlib.asynccontextmanager
async def delay_proxy(
    target_port: int, port: int, *, first_delay: float, delay: float = 0.0
) -> AsyncIterator[DelayProxy]:
    proxy = DelayProxy(target_port, first_delay=first_delay, delay=delay)
    await proxy.start(port)
    try:
        yield proxy
    finally:
        await proxy.stop()


@contextlib.asynccontextmanager
async def silent_listener(port: int) -> AsyncIterator[list[int]]:
    """Accepts connections and reads what comes, never answering; yields a list of one count per connection."""
    accepted: list[int] = []
    held: set[asyncio.StreamWriter] = set()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        held.add(writer)
        with contextlib.suppress(OSError):
            while await reader.read(65536):
                pass
        held.discard(writer)

    server = await asyncio.start_server(accept, HOST, port)
    try:
        yield accepted
    finally:
        server.close()
        for writer in list(held):
            writer.close()
