"""Opening an endpoint up to the point where TLS starts.

``open_prelude`` is what every probe that needs TLS on an XMPP endpoint builds on::

    async with open_prelude(endpoint, limiter, deadline) as (reader, writer, facts):
        ...  # write a ClientHello on writer, or: tls = await start_tls(reader, writer, endpoint, deadline)

It holds a limiter slot for the whole connection, connects, and on STARTTLS endpoints sends the
stream header, reads the header and features, sends ``<starttls/>`` and reads ``<proceed/>``. On
Direct TLS endpoints it only connects. The cleartext stream is read up to each ``>`` only, so the
reader's buffer is left exactly at the first byte after ``<proceed/>``: nothing the server sends
afterwards is lost or misread. Failures raise ``ProbeFailure`` with a ``ProbeError`` and the facts
seen so far (e.g. a stream error, or features without STARTTLS).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

from scanners.base import ErrorReason, ProbeError, ServiceKind, Transport
from scanners.connection.errors import PhaseClock, ProbeFailure, classify
from scanners.connection.limits import Deadline, Limiter
from scanners.stream.facts import StarttlsPolicy, StreamError, StreamFeatures, StreamHeader
from scanners.stream.features import FEATURES, TLS_NS, parse_features, qname
from scanners.stream.wire import STARTTLS, stream_header
from scanners.stream.xmlstream import CleartextSource, ProtocolViolation, StreamErrorReceived, XmlStream

#: The cleartext reader's buffer bound: a longer run of bytes without '>' is read in pieces of this size.
READ_LIMIT = 64 * 1024
PROCEED = qname(TLS_NS, "proceed")
FAILURE = qname(TLS_NS, "failure")


@dataclass(frozen=True)
class Endpoint:
    """One place to connect to, and who we are there."""

    kind: ServiceKind
    #: The XMPP domain: ``to`` in the stream header, SNI in TLS.
    domain: str
    #: The IP address (or host name) to connect to; the limiter paces per address.
    address: str
    port: int
    transport: Transport
    #: s2s only: the scanner's own domain, sent as ``from``.
    from_domain: str | None = None


@dataclass
class PreludeFacts:
    """What the cleartext part of a connection showed (filled in as it goes)."""

    header: StreamHeader | None = None
    features: StreamFeatures | None = None
    starttls: StarttlsPolicy | None = None
    stream_error: StreamError | None = None
    #: Seconds per phase: queue, connect, header, features, starttls.
    timings: dict[str, float] = field(default_factory=dict)


class Prelude(NamedTuple):
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    facts: PreludeFacts


@dataclass
class CleartextStream:
    """A cleartext stream opened up to its first features (used by the STARTTLS probes)."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    xml: XmlStream
    facts: PreludeFacts
    clock: PhaseClock


def starttls_policy(features: StreamFeatures) -> StarttlsPolicy:
    if not features.starttls:
        return StarttlsPolicy.ABSENT
    return StarttlsPolicy.REQUIRED if features.starttls_required else StarttlsPolicy.OPTIONAL


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close, letting what we wrote go out, but never wait long for a peer that does not read."""
    writer.close()
    try:
        async with asyncio.timeout(1):
            await writer.wait_closed()
    except Exception:
        writer.transport.abort()


async def _connect(
    stack: AsyncExitStack, endpoint: Endpoint, limiter: Limiter, deadline: Deadline, facts: PreludeFacts
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, PhaseClock]:
    """Take a limiter slot and connect; both are released when ``stack`` closes."""
    clock = PhaseClock()
    facts.timings = clock.seconds
    try:
        with clock.phase("queue"):
            async with deadline.whole():
                await stack.enter_async_context(limiter.slot(endpoint.address))
        with clock.phase("connect"):
            async with deadline.timeout():
                reader, writer = await asyncio.open_connection(endpoint.address, endpoint.port, limit=READ_LIMIT)
    except Exception as exc:
        raise ProbeFailure(classify(exc, clock.current), facts) from None
    stack.push_async_callback(_close, writer)
    return reader, writer, clock


async def _read_features(stream: CleartextStream, endpoint: Endpoint) -> None:
    facts, clock, xml = stream.facts, stream.clock, stream.xml
    try:
        with clock.phase("header"):
            xml.phase = "header"
            stream.writer.write(stream_header(endpoint.kind, endpoint.domain, endpoint.from_domain))
            await stream.writer.drain()
            facts.header = await xml.open()
        if facts.header.version is None:
            raise ProtocolViolation("the server's header has no version: pre-XMPP-1.0, no stream features")
        with clock.phase("features"):
            xml.phase = "features"
            facts.features = parse_features(await xml.expect(FEATURES))
            facts.starttls = starttls_policy(facts.features)
    except StreamErrorReceived as exc:
        facts.stream_error = exc.error
        raise ProbeFailure(classify(exc, clock.current), facts) from None
    except Exception as exc:
        raise ProbeFailure(classify(exc, clock.current), facts) from None


@asynccontextmanager
async def open_cleartext_stream(
    endpoint: Endpoint, limiter: Limiter, deadline: Deadline
) -> AsyncIterator[CleartextStream]:
    """Connect and read the header and first features of a cleartext stream (STARTTLS endpoints)."""
    async with AsyncExitStack() as stack:
        facts = PreludeFacts()
        reader, writer, clock = await _connect(stack, endpoint, limiter, deadline, facts)
        stream = CleartextStream(reader, writer, XmlStream(CleartextSource(reader), deadline), facts, clock)
        await _read_features(stream, endpoint)
        yield stream


async def request_starttls(stream: CleartextStream, extra: bytes = b"") -> None:
    """Send ``<starttls/>`` (with ``extra`` in the same write) and read ``<proceed/>``; raises ``ProbeFailure``."""
    facts = stream.facts
    try:
        with stream.clock.phase("starttls"):
            stream.xml.phase = "starttls"
            stream.writer.write(STARTTLS + extra)
            await stream.writer.drain()
            answer = await stream.xml.expect(PROCEED, FAILURE)
    except StreamErrorReceived as exc:
        facts.stream_error = exc.error
        raise ProbeFailure(classify(exc, "starttls"), facts) from None
    except Exception as exc:
        raise ProbeFailure(classify(exc, "starttls"), facts) from None
    if answer.tag == FAILURE:
        error = ProbeError(phase="starttls", reason=ErrorReason.PROTOCOL, message="the server answered <failure/>")
        raise ProbeFailure(error, facts)


@asynccontextmanager
async def open_prelude(endpoint: Endpoint, limiter: Limiter, deadline: Deadline) -> AsyncIterator[Prelude]:
    """Connect and, on STARTTLS endpoints, negotiate up to ``<proceed/>``; see the module docstring.

    The connection (and its limiter slot) is held until the ``async with`` block ends. Raises
    ``ProbeFailure``; an endpoint that offers no STARTTLS fails with the facts' ``starttls`` ABSENT.
    Exceptions raised inside the block pass through unchanged.
    """
    if endpoint.transport is Transport.DIRECTTLS:
        async with AsyncExitStack() as stack:
            facts = PreludeFacts(starttls=StarttlsPolicy.NOT_APPLICABLE)
            reader, writer, _ = await _connect(stack, endpoint, limiter, deadline, facts)
            yield Prelude(reader, writer, facts)
        return
    async with open_cleartext_stream(endpoint, limiter, deadline) as stream:
        if stream.facts.starttls is StarttlsPolicy.ABSENT:
            error = ProbeError(phase="features", reason=ErrorReason.PROTOCOL, message="the server offers no STARTTLS")
            raise ProbeFailure(error, stream.facts)
        await request_starttls(stream)
        yield Prelude(stream.reader, stream.writer, stream.facts)
