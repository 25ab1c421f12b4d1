"""Turning what went wrong into facts: one classification of exceptions, and phase timing.

Probes never let a server's misbehaviour escape as an exception: ``classify`` is the one place
that maps an exception to a ``ProbeError`` reason.
"""

from __future__ import annotations

import asyncio
import errno
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from OpenSSL import SSL

from scanners.base import ErrorReason, ProbeError
from scanners.connection.shared_limits import SharedGatesUnavailable
from scanners.policy import AddressRefused
from scanners.stream.xml import XmlMalformed, XmlRefused
from scanners.stream.xmlstream import ConnectionClosed, ProtocolViolation, StreamErrorReceived

if TYPE_CHECKING:
    from scanners.connection.prelude import PreludeFacts

_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT}


class TlsFailed(Exception):
    """The TLS handshake or a TLS record failed; the message carries OpenSSL's reason."""

    def __init__(self, message: str, received: bytes = b"") -> None:
        super().__init__(message)
        #: The first bytes the server sent during the handshake (plaintext here means it never spoke TLS).
        self.received = received


class ProbeFailure(Exception):
    """A connection could not be set up; ``error`` says why, ``facts`` what was seen until then."""

    def __init__(self, error: ProbeError, facts: PreludeFacts | None = None) -> None:
        super().__init__(f"{error.phase}: {error.reason.value}: {error.message}")
        self.error = error
        self.facts = facts


def _reason(exc: BaseException) -> tuple[ErrorReason, str]:
    if isinstance(exc, AddressRefused):
        return ErrorReason.POLICY, str(exc)
    if isinstance(exc, SharedGatesUnavailable):
        return ErrorReason.INTERNAL, str(exc)  # our Redis, not the server: names the Redis URL
    if isinstance(exc, TimeoutError):
        return ErrorReason.TIMEOUT, "no answer before the deadline"
    if isinstance(exc, StreamErrorReceived):
        return ErrorReason.STREAM_ERROR, str(exc)
    if isinstance(exc, XmlRefused):
        return ErrorReason.HOSTILE_INPUT, str(exc)
    if isinstance(exc, XmlMalformed | ProtocolViolation):
        return ErrorReason.PROTOCOL, str(exc)
    if isinstance(exc, ConnectionClosed | asyncio.IncompleteReadError | ConnectionResetError | BrokenPipeError):
        return ErrorReason.PROTOCOL, f"the server closed the connection ({exc})"
    if isinstance(exc, TlsFailed | SSL.Error | ssl.SSLError):
        return ErrorReason.TLS, str(exc) or type(exc).__name__
    if isinstance(exc, ConnectionRefusedError):
        return ErrorReason.REFUSED, "connection refused"
    if isinstance(exc, OSError) and exc.errno in _UNREACHABLE:
        return ErrorReason.UNREACHABLE, exc.strerror or str(exc)
    if isinstance(exc, OSError):
        return ErrorReason.UNREACHABLE, str(exc)
    return ErrorReason.INTERNAL, f"{type(exc).__name__}: {exc}"


def classify(exc: BaseException, phase: str) -> ProbeError:
    """The ``ProbeError`` for an exception raised during ``phase``."""
    if isinstance(exc, ProbeFailure):
        return exc.error
    reason, message = _reason(exc)
    return ProbeError(phase=phase, reason=reason, message=message[:500])


class PhaseClock:
    """Names the phase in progress (for errors) and times each one."""

    def __init__(self) -> None:
        self.current = "queue"
        self.seconds: dict[str, float] = {}
        self._started = time.monotonic()

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.current = name
        started = time.monotonic()
        yield
        self.seconds[name] = round(time.monotonic() - started, 6)

    def total(self) -> float:
        return round(time.monotonic() - self._started, 6)
