"""Reading one XMPP stream from a byte source, bounded in time by a deadline.

A byte source is the cleartext asyncio reader (read up to each ``>`` only, so nothing after
``<proceed/>`` is ever taken from it) or a TLS stream. Stream errors become ``StreamErrorReceived``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Protocol

from scanners.stream.facts import StreamError, StreamHeader
from scanners.stream.features import ERROR, parse_header, parse_stream_error
from scanners.stream.xml import Event, StreamClosed, StreamElement, StreamOpened, StreamParser, XmlLimits

if TYPE_CHECKING:
    from scanners.connection.limits import Deadline

CHUNK = 16 * 1024


class ByteSource(Protocol):
    async def read(self, max_bytes: int) -> bytes:
        """Some bytes, or ``b""`` at the end of the stream."""
        ...


class ConnectionClosed(Exception):
    """The server closed the connection where the protocol expected more."""


class ProtocolViolation(Exception):
    """The server sent valid XML that breaks the protocol (e.g. an unexpected element)."""


class StreamErrorReceived(Exception):
    def __init__(self, error: StreamError) -> None:
        super().__init__(f"stream error {error.condition}" + (f": {error.text}" if error.text else ""))
        self.error = error


class CleartextSource:
    """An asyncio reader read up to each ``>``: never a byte past the element being parsed."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def read(self, max_bytes: int) -> bytes:
        try:
            return await self._reader.readuntil(b">")
        except asyncio.IncompleteReadError as exc:
            return exc.partial
        except asyncio.LimitOverrunError:
            # No '>' within the reader's limit: no element can end in these bytes, so taking them is safe.
            return await self._reader.read(max_bytes)


class XmlStream:
    """Header, then top-level elements, of one stream; a new one is needed after each restart."""

    def __init__(self, source: ByteSource, deadline: Deadline, limits: XmlLimits | None = None) -> None:
        self._source = source
        self._deadline = deadline
        self._parser = StreamParser(limits)
        self._events: deque[Event] = deque()
        #: The phase name given to stream errors (set by the caller as it goes).
        self.phase = "stream"

    @property
    def bytes_read(self) -> int:
        return self._parser.total

    async def _next(self) -> Event:
        while not self._events:
            async with self._deadline.timeout():
                data = await self._source.read(CHUNK)
            if not data:
                raise ConnectionClosed("the server closed the connection")
            self._events.extend(self._parser.feed(data))
        return self._events.popleft()

    async def open(self) -> StreamHeader:
        """Read the server's stream header."""
        event = await self._next()
        assert isinstance(event, StreamOpened)  # the parser raises for any other first element
        return parse_header(event)

    async def element(self) -> StreamElement:
        """The next top-level element; a ``<stream:error>`` or the stream's end raises."""
        event = await self._next()
        if isinstance(event, StreamClosed):
            raise ConnectionClosed("the server closed the stream")
        assert isinstance(event, StreamElement)
        if event.tag == ERROR:
            raise StreamErrorReceived(parse_stream_error(event, self.phase))
        return event

    async def expect(self, *tags: str) -> StreamElement:
        """The next element, which must be one of ``tags``."""
        event = await self.element()
        if event.tag not in tags:
            expected = " or ".join(tags)
            raise ProtocolViolation(f"expected {expected}, got {event.raw[:200].decode('utf-8', 'replace')}")
        return event
