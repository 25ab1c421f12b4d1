"""Pacing for a whole fleet of scanners: the ``Limiter``'s per-address gates kept in Redis.

One ``Limiter`` paces the connections of one process. Several workers (processes, machines) scanning
at once would each keep their own gates, and an address scanned by two of them would see twice the
connections. ``SharedGates`` keeps the two rules in Redis instead, so they hold for every worker that
uses the same Redis and key prefix::

    gates = SharedGates("redis://127.0.0.1:6379/0")
    limiter = Limiter(LimiterSettings(max_in_flight=4, min_gap=0.1), policy, shared=gates)
    ...
    await gates.aclose()    # at the end of each event loop that used it

Per address there are two keys, sharing a hash tag so one script may touch both (Redis Cluster too)::

    {prefix}{<address>}:leases   a sorted set: one lease token per open connection, scored by its expiry
    {prefix}{<address>}:next     the earliest start of the next connection

Both times are microseconds of the *Redis server's* clock (``TIME`` inside the script), so the
workers' clocks never need to agree. Acquiring is one atomic Lua script: drop expired leases; if fewer
than ``max_in_flight`` remain and the next start has come, add the lease, set the next start to now +
``min_gap``, and say "granted"; otherwise say how long to wait. Releasing removes the lease token; it
runs in a ``finally`` (an exception or a cancellation inside the slot releases it too), shielded from a
second cancellation, and also after a cancellation *during* the acquisition (the script may have
granted a lease whose answer never arrived).

Leases, renewal and crashes: a lease lasts ``lease`` seconds (default 30) and, while its connection is
open, a small task renews it every ``lease / 3`` seconds. A connection may live as long as a probe's
deadline (up to the scan's time limit, minutes), so renewal, not a lease longer than any connection,
is what keeps a slot held; and a worker killed mid-connection (``kill -9``, a lost machine) stops
renewing, so its slots free themselves within ``lease`` seconds. A renewal only extends a lease that
is still there; a lease lost anyway (the worker's event loop blocked for a whole lease, Redis down
for one) lets one more connection in while the old one lives, which is logged.

Waiting: Redis cannot wake a waiter, so a waiter polls. When only the gap stands in the way the script
says exactly how long (the next start minus now) and the waiter sleeps that long (plus up to 2 ms of
jitter). When every slot is taken a release may come at any moment, so the waiter sleeps the shorter
of the time to the earliest lease expiry and ``poll`` (default 50 ms), times a random factor between
0.5 and 1 so waiters of several workers do not poll in step. Within one process, the ``Limiter``
still lets only one waiter per address poll at a time (its local semaphore and turn lock come first),
so Redis sees at most one poller per address per process. Waiting is not first-come first-served
across workers, only bounded: the rules are what is guaranteed, not the order.

Failures: the client has short socket timeouts (``timeout``, default 3 s) and one quick retry, so an
unreachable or silent Redis fails the acquisition promptly with ``SharedGatesUnavailable``, whose
message names the Redis URL (password hidden); ``classify`` makes it an INTERNAL probe error. A failed
release or renewal is logged, not raised: the lease then expires by itself.

Event loops: a ``redis.asyncio`` client belongs to the event loop it was first used in, so a
``SharedGates`` made from a URL keeps one client per running loop (a worker running ``asyncio.run``
per task gets a fresh one each time); ``aclose()`` closes the current loop's client. A client passed
in instead of a URL is used as it is, in its own loop, and never closed here. Workers sharing an
address should use the same ``LimiterSettings``: each acquisition applies its caller's numbers.
Needs Redis 5 or later (scripts replicated by their effects, so ``TIME`` may precede writes).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "observatory:pace:"
DEFAULT_LEASE = 30.0
DEFAULT_POLL = 0.05
DEFAULT_TIMEOUT = 3.0
#: Jitter added to an exact wait for the gap, so waiters that computed the same next start spread out.
GAP_JITTER = 0.002

#: KEYS: leases, next. ARGV: token, max_in_flight, min_gap (µs), lease (µs).
#: Returns {1, 0, 0} when the lease was added, else {0, wait in µs, 1 if every slot is taken}.
ACQUIRE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local max_in_flight = tonumber(ARGV[2])
local gap = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
local wait = 0
local next_start = tonumber(redis.call('GET', KEYS[2]) or '0')
if next_start > now then
  wait = next_start - now
end
if redis.call('ZCARD', KEYS[1]) >= max_in_flight then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local free_in = tonumber(first[2]) - now
  if free_in > wait then
    wait = free_in
  end
  return {0, math.max(1, math.ceil(wait)), 1}
end
if wait > 0 then
  return {0, math.ceil(wait), 0}
end
redis.call('ZADD', KEYS[1], string.format('%.0f', now + lease), ARGV[1])
local ttl = math.ceil(lease / 1000) + 1000
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
if gap > 0 then
  redis.call('SET', KEYS[2], string.format('%.0f', now + gap), 'PX', math.ceil(gap / 1000) + 1000)
end
return {1, 0, 0}
"""

#: KEYS: leases. ARGV: token, lease (µs). Extends a lease still present; returns 1 if it was, else 0.
RENEW_SCRIPT = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local lease = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], string.format('%.0f', now + lease), ARGV[1])
local ttl = math.ceil(lease / 1000) + 1000
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
"""


class SharedGatesUnavailable(Exception):
    """Redis could not be asked for a slot (unreachable, silent, or failing); the message names its URL."""

    def __init__(self, url: str, cause: BaseException) -> None:
        detail = str(cause) or type(cause).__name__
        super().__init__(f"the shared pacing store {url} is unavailable: {detail}")
        self.url = url


def redacted(url: str) -> str:
    """``url`` without its password (``redis://user:***@host:6379/0``), for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def gate_keys(prefix: str, address: str) -> tuple[str, str]:
    """The leases and next-start keys of one (normalised) address; the braces make a Redis Cluster hash tag."""
    return f"{prefix}{{{address}}}:leases", f"{prefix}{{{address}}}:next"


def pause(wait: float, full: bool, poll: float, rng: random.Random | None = None) -> float:
    """Seconds to sleep before asking again, after the script said ``wait`` seconds (``full``: no free slot)."""
    uniform = (rng or random).uniform
    if full:
        return min(wait, poll) * uniform(0.5, 1.0)
    return wait + uniform(0.0, GAP_JITTER)


def _describe(client: Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    scheme = "rediss" if client.connection_pool.connection_class.__name__ == "SSLConnection" else "redis"
    return f"{scheme}://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


@dataclass
class _Bound:
    client: Redis
    acquire: AsyncScript
    renew: AsyncScript
    owned: bool


class SharedGates:
    """Fleet-wide per-address gates in Redis, for ``Limiter(..., shared=SharedGates(url))``.

    ``redis``: a URL (``redis://host:6379/0``, ``rediss://…``, ``unix://…``) or a ``redis.asyncio.Redis``
    client. ``prefix``: the start of every key (one prefix per fleet). ``lease``: seconds a lease lasts
    without renewal, which is how long a crashed worker's slots stay taken. ``poll``: the longest sleep
    between two asks while every slot is taken. ``timeout``: socket connect and read timeout for a URL.
    """

    def __init__(
        self,
        redis: str | Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        lease: float = DEFAULT_LEASE,
        poll: float = DEFAULT_POLL,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if lease <= 0 or poll <= 0 or timeout <= 0:
            raise ValueError("lease, poll and timeout must be positive")
        self.prefix = prefix
        self.lease = lease
        self.poll = poll
        self.timeout = timeout
        if isinstance(redis, str):
            self._url: str | None = redis
            self._client: Redis | None = None
            self.url = redacted(redis)
        else:
            self._url = None
            self._client = redis
            self.url = _describe(redis)
        self._bound: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Bound] = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"SharedGates({self.url!r}, prefix={self.prefix!r}, lease={self.lease:g})"

    def _bind(self) -> _Bound:
        loop = asyncio.get_running_loop()
        bound = self._bound.get(loop)
        if bound is None:
            if self._client is not None:
                client, owned = self._client, False
            else:
                from redis.asyncio import Redis
                from redis.asyncio.retry import Retry
                from redis.backoff import ConstantBackoff

                assert self._url is not None
                client = Redis.from_url(
                    self._url,
                    socket_timeout=self.timeout,
                    socket_connect_timeout=self.timeout,
                    retry=Retry(ConstantBackoff(0.05), 1),
                )
                owned = True
            bound = _Bound(client, client.register_script(ACQUIRE_SCRIPT), client.register_script(RENEW_SCRIPT), owned)
            self._bound[loop] = bound
        return bound

    async def aclose(self) -> None:
        """Close the client this object opened for the running event loop (a passed-in client stays open)."""
        bound = self._bound.pop(asyncio.get_running_loop(), None)
        if bound is not None and bound.owned:
            await bound.client.aclose()

    async def __aenter__(self) -> SharedGates:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @asynccontextmanager
    async def hold(self, address: str, max_in_flight: int, min_gap: float) -> AsyncIterator[None]:
        """Hold one fleet-wide slot to ``address`` (already normalised) while the block runs.

        Raises ``SharedGatesUnavailable`` when Redis cannot be asked; no slot is held then.
        """
        from redis.exceptions import RedisError

        bound = self._bind()
        keys = gate_keys(self.prefix, address)
        token = uuid.uuid4().hex
        try:
            await self._acquire(bound, keys, token, max_in_flight, min_gap)
        except (RedisError, OSError) as exc:
            raise SharedGatesUnavailable(self.url, exc) from None
        except BaseException:
            # Cancelled (a deadline) while asking: the lease may have been granted unseen.
            await self._release(bound, keys[0], token)
            raise
        renewer = asyncio.create_task(self._renew(bound, keys[0], token, address))
        try:
            yield
        finally:
            renewer.cancel()
            try:
                await asyncio.wait([renewer])
            finally:
                await self._release(bound, keys[0], token)

    async def _acquire(self, bound: _Bound, keys: tuple[str, str], token: str, max_in_flight: int, gap: float) -> None:
        args: list[Any] = [token, max_in_flight, round(gap * 1_000_000), round(self.lease * 1_000_000)]
        while True:
            granted, wait_us, full = await bound.acquire(keys=list(keys), args=args)
            if granted:
                return
            await asyncio.sleep(pause(wait_us / 1_000_000, bool(full), self.poll))

    async def _renew(self, bound: _Bound, key: str, token: str, address: str) -> None:
        from redis.exceptions import RedisError

        lease_us = round(self.lease * 1_000_000)
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                if not await bound.renew(keys=[key], args=[token, lease_us]):
                    log.warning("the lease on a connection to %s expired before its renewal (%s)", address, self.url)
                    return
            except (RedisError, OSError) as exc:
                log.warning("renewing a lease on a connection to %s at %s failed: %s", address, self.url, exc)

    async def _release(self, bound: _Bound, key: str, token: str) -> None:
        from redis.exceptions import RedisError

        async def release() -> None:
            try:
                await bound.client.zrem(key, token)
            except (RedisError, OSError) as exc:
                log.warning("releasing a lease at %s failed (it expires by itself): %s", self.url, exc)

        # Shielded: a second cancellation must not leave the slot taken until its lease runs out.
        await asyncio.shield(asyncio.ensure_future(release()))
