"""Pacing and time bounds: one limiter per target address, and deadlines.

XMPP servers throttle new connections per client address (server limits, fail2ban on stream
errors), so every probe of a scan opens its connections through one shared ``Limiter``: at most
``max_in_flight`` connections open at once to one address, and new connections to it started at
least ``min_gap`` seconds apart. Those gates live in this process unless the ``Limiter`` is given
``SharedGates`` (``shared_limits``): then they live in Redis and hold for every worker using it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanners.policy import AddressPolicy

if TYPE_CHECKING:
    from scanners.connection.shared_limits import SharedGates

#: Defaults: about 10 new connections per second and 4 at once per address, enough for the TLS
#: engine's enumeration while staying below common per-address limits (sslyze: 5 at once).
DEFAULT_MAX_IN_FLIGHT = 4
DEFAULT_MIN_GAP = 0.1


@dataclass
class ConnectionCount:
    """Connections opened (slots granted) by the code running under ``counting_connections``."""

    opened: int = 0


#: The running scan's count; a context variable, so scans sharing one ``Limiter`` count apart.
_COUNT: ContextVar[ConnectionCount | None] = ContextVar("connection_count", default=None)


@contextmanager
def counting_connections() -> Iterator[ConnectionCount]:
    """Count every connection opened inside the block and in the tasks it starts."""
    count = ConnectionCount()
    token = _COUNT.set(count)
    try:
        yield count
    finally:
        _COUNT.reset(token)


def _counted() -> None:
    count = _COUNT.get()
    if count is not None:
        count.opened += 1


@dataclass(frozen=True)
class LimiterSettings:
    #: Connections open at the same time to one address.
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    #: Seconds between the starts of two new connections to one address.
    min_gap: float = DEFAULT_MIN_GAP

    def __post_init__(self) -> None:
        if self.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if self.min_gap < 0:
            raise ValueError("min_gap cannot be negative")


class _AddressGate:
    def __init__(self, settings: LimiterSettings) -> None:
        self.in_flight = asyncio.Semaphore(settings.max_in_flight)
        self.turn = asyncio.Lock()
        self.next_start = 0.0


class Limiter:
    """Shared by every probe of one scan (and one event loop); one gate per target address.

    Every connection of a scan takes a slot here just before it is opened, so this is also where the
    address policy is enforced: on the very address about to be dialled, however it was found.

    With ``shared``, the rules are kept in Redis for the whole fleet of workers (see ``shared_limits``);
    the local gate still comes first, so one process has at most one waiter per address asking Redis.
    """

    def __init__(
        self,
        settings: LimiterSettings | None = None,
        policy: AddressPolicy | None = None,
        shared: SharedGates | None = None,
    ) -> None:
        self.settings = settings or LimiterSettings()
        self.policy = policy or AddressPolicy()
        self.shared = shared
        self._gates: dict[str, _AddressGate] = {}

    @staticmethod
    def _key(address: str) -> str:
        try:
            return str(ipaddress.ip_address(address))
        except ValueError:
            return address.lower()

    @asynccontextmanager
    async def slot(self, address: str) -> AsyncIterator[float]:
        """Hold one connection slot to ``address``; yields the seconds spent waiting for it.

        Raises ``AddressRefused`` when the policy refuses the address (no slot is taken then), and
        ``SharedGatesUnavailable`` when shared gates cannot reach Redis.
        """
        self.policy.check(address)
        key = self._key(address)
        gate = self._gates.setdefault(key, _AddressGate(self.settings))
        started = time.monotonic()
        if self.shared is not None:
            async with gate.in_flight, AsyncExitStack() as held:
                async with gate.turn:
                    await held.enter_async_context(
                        self.shared.hold(key, self.settings.max_in_flight, self.settings.min_gap)
                    )
                _counted()
                yield time.monotonic() - started
            return
        async with gate.in_flight:
            async with gate.turn:
                wait = gate.next_start - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                gate.next_start = time.monotonic() + self.settings.min_gap
            _counted()
            yield time.monotonic() - started


#: The longest one wait for the server may take (a connect, one read, a TLS handshake): a peer that
#: accepts TCP and says nothing is given up after this, not after the probe's whole time.
DEFAULT_WAIT_LIMIT = 6.0


@dataclass(frozen=True)
class Deadline:
    """A point in time (``time.monotonic()``) by which a probe must be done, and the longest a single
    wait for the server may take within it (``wait_limit``, None: no such bound)."""

    at: float
    wait_limit: float | None = None

    @classmethod
    def after(cls, seconds: float, wait_limit: float | None = None) -> Deadline:
        return cls(time.monotonic() + seconds, wait_limit)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() == 0.0

    def timeout(self) -> asyncio.Timeout:
        """``async with deadline.timeout():`` around one wait for the server: raises ``TimeoutError`` when
        the deadline passes or the wait exceeds ``wait_limit``."""
        remaining = self.remaining()
        return asyncio.timeout(remaining if self.wait_limit is None else min(remaining, self.wait_limit))

    def whole(self) -> asyncio.Timeout:
        """Like ``timeout`` but bounded by the deadline alone (waiting for our own pacing, say)."""
        return asyncio.timeout(self.remaining())
