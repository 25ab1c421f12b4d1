"""One raw probe: open a connection, write a ClientHello, read the server's first flight, close.

The connection comes from an *opener*: a callable returning an async context manager that yields
``(reader, writer)`` positioned where TLS starts (after XMPP STARTTLS's ``<proceed/>``, or at once
for Direct TLS), so this module knows nothing about XMPP. Every read is bounded in size (by the
parser) and in time (by a deadline).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from enum import StrEnum

from scanners.base import ErrorReason, ProbeError
from scanners.connection import classify
from scanners.tls.parser import (
    Alert,
    Certificate,
    CertificateStatus,
    EncryptedRecord,
    FlightParser,
    OtherHandshake,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
    Sslv2Error,
    Sslv2ServerHello,
    TlsBoundExceeded,
    TlsParseError,
)
from scanners.tls.wire import HandshakeType

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
#: Opens one connection positioned where TLS starts; leaving the block closes it (and frees any
#: limiter slot the connection layer holds for it).
Opener = Callable[[], AbstractAsyncContextManager[Streams]]

_READ_CHUNK = 16384


class Outcome(StrEnum):
    SERVER_HELLO = "server-hello"
    ALERT = "alert"
    CLOSED = "closed"
    SSLV2_HELLO = "sslv2-hello"
    SSLV2_ERROR = "sslv2-error"
    TIMEOUT = "timeout"
    #: The opener failed: no TLS was attempted (refused, STARTTLS refused, timeout before TLS …).
    CONNECT_FAILED = "connect-failed"
    MALFORMED = "malformed"


@dataclass(frozen=True)
class ProbeResult:
    outcome: Outcome
    server_hello: ServerHello | None = None
    alert: Alert | None = None
    certificates: tuple[bytes, ...] | None = None
    server_key_exchange: bytes | None = None
    ocsp_response: bytes | None = None
    sslv2: Sslv2ServerHello | None = None
    sslv2_error: int | None = None
    #: The flight asked for a client certificate (s2s listeners often do): a client that goes on
    #: must send a Certificate message, if an empty one, before its key exchange.
    certificate_request: bool = False
    error: ProbeError | None = None
    #: What a follow-up exchange on the same connection returned (see ``run_probe``).
    follow_up: object = None


#: Continues on the probe's connection once the server's flight is in: (reader, writer, what came
#: back, deadline) → anything, stored as ``ProbeResult.follow_up``. It must bound its own reads.
FollowUp = Callable[[asyncio.StreamReader, asyncio.StreamWriter, ProbeResult, float], Awaitable[object]]


async def enter_connection(stack: AsyncExitStack, opener: Opener, time_limit: float) -> Streams | ProbeError:
    """Open a connection inside ``stack`` within ``time_limit``; a failure is returned as a fact."""
    try:
        async with asyncio.timeout(time_limit):
            return await stack.enter_async_context(opener())
    except Exception as exc:  # any opener failure is a fact about the endpoint, never a crash
        return classify(exc, "tls-connect")


async def run_probe(
    opener: Opener,
    hello: bytes,
    *,
    time_limit: float,
    read_flight: bool = False,
    follow_up: FollowUp | None = None,
    wait_limit: float | None = None,
) -> ProbeResult:
    """Send ``hello`` on a fresh connection and report what came back within ``time_limit`` seconds.

    With ``read_flight`` a TLS ≤ 1.2 reply is read up to ServerHelloDone (certificate chain, key
    exchange, OCSP staple); otherwise the connection is closed as soon as the ServerHello is in.
    ``follow_up`` then runs on the same connection when a ServerHello came and no error occurred.
    ``wait_limit``: the longest one read may wait (a silent server times out after it).
    """
    deadline = time.monotonic() + time_limit
    async with AsyncExitStack() as stack:
        opened = await enter_connection(stack, opener, time_limit)
        if isinstance(opened, ProbeError):
            return ProbeResult(Outcome.CONNECT_FAILED, error=opened)
        reader, writer = opened
        writer.write(hello)
        result = await _read_reply(reader, writer, deadline, read_flight, wait_limit)
        if follow_up is None or result.outcome is not Outcome.SERVER_HELLO or result.error or result.alert:
            return result
        return dataclasses.replace(result, follow_up=await follow_up(reader, writer, result, deadline))


async def _read_reply(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    deadline: float,
    read_flight: bool,
    wait_limit: float | None = None,
) -> ProbeResult:
    parser = FlightParser()
    state = _Flight()
    try:
        await writer.drain()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            wait = remaining if wait_limit is None else min(remaining, wait_limit)
            data = await asyncio.wait_for(reader.read(_READ_CHUNK), wait)
            if not data:
                return _result(Outcome.CLOSED, state)
            for event in parser.feed(data):
                finished = _absorb(event, state, read_flight)
                if finished is not None:
                    return _result(finished, state)
    except TimeoutError:
        outcome = Outcome.SERVER_HELLO if state.server_hello is not None else Outcome.TIMEOUT
        error = ProbeError(phase="tls-read", reason=ErrorReason.TIMEOUT, message="no complete reply in time")
        return _result(outcome, state, error)
    except TlsParseError as exc:
        reason = ErrorReason.HOSTILE_INPUT if isinstance(exc, TlsBoundExceeded) else ErrorReason.PROTOCOL
        error = ProbeError(phase="tls-read", reason=reason, message=str(exc))
        return _result(Outcome.SERVER_HELLO if state.server_hello is not None else Outcome.MALFORMED, state, error)
    except ConnectionResetError:
        return _result(Outcome.CLOSED, state)  # some servers refuse a hello with a reset: not an error
    except (ConnectionError, OSError) as exc:
        return _result(Outcome.CLOSED, state, ProbeError(phase="tls-read", reason=ErrorReason.TLS, message=str(exc)))


@dataclass
class _Flight:
    server_hello: ServerHello | None = None
    alert: Alert | None = None
    certificates: tuple[bytes, ...] | None = None
    server_key_exchange: bytes | None = None
    ocsp_response: bytes | None = None
    sslv2: Sslv2ServerHello | None = None
    sslv2_error: int | None = None
    certificate_request: bool = False


def _absorb(event: object, state: _Flight, read_flight: bool) -> Outcome | None:
    """Record ``event``; return the outcome once nothing more is needed from this connection."""
    match event:
        case ServerHello():
            state.server_hello = event
            more = read_flight and event.version <= 0x0303 and not event.is_hello_retry_request
            return None if more else Outcome.SERVER_HELLO
        case Alert() if not event.fatal and state.server_hello is None:
            return None  # a warning (e.g. unrecognized_name) before the ServerHello: keep reading
        case Alert():
            state.alert = event
            return Outcome.SERVER_HELLO if state.server_hello is not None else Outcome.ALERT
        case Certificate():
            state.certificates = event.chain
        case ServerKeyExchange():
            state.server_key_exchange = event.body
        case CertificateStatus():
            state.ocsp_response = event.response
        case OtherHandshake(msg_type=HandshakeType.CERTIFICATE_REQUEST):
            state.certificate_request = True
        case ServerHelloDone() | EncryptedRecord():
            return Outcome.SERVER_HELLO if state.server_hello is not None else Outcome.MALFORMED
        case Sslv2ServerHello():
            state.sslv2 = event
            return Outcome.SSLV2_HELLO
        case Sslv2Error():
            state.sslv2_error = event.code
            return Outcome.SSLV2_ERROR
    return None


def _result(outcome: Outcome, state: _Flight, error: ProbeError | None = None) -> ProbeResult:
    if outcome is Outcome.CLOSED and state.server_hello is not None:
        outcome = Outcome.SERVER_HELLO
    return ProbeResult(outcome, error=error, **vars(state))
