"""Asking a recursive resolver, with DO and CD set, each question at most once per scan.

CD (checking disabled) makes a validating resolver hand over data it considers bogus, so the
scanner's own validator can examine it and say why. Every failure is returned as a :class:`Reply`
with an error text, never raised: timeouts, SERVFAIL and malformed answers are facts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdatatype
import dns.resolver

from scanners.addresses import HostPort
from scanners.dns.tasks import shared

#: The EDNS buffer size of DNS Flag Day 2020: no IP fragmentation; larger answers come over TCP.
EDNS_PAYLOAD = 1232
DEFAULT_TIMEOUT = 3.0
#: Distinct questions one scan may ask; a real domain needs a few dozen.
DEFAULT_MAX_QUERIES = 400
DEFAULT_CONCURRENCY = 16


@dataclass(frozen=True)
class Reply:
    """The resolver's answer, or why there is none."""

    message: dns.message.Message | None = None
    error: str | None = None

    @property
    def rcode(self) -> int | None:
        return self.message.rcode() if self.message is not None else None


class Querier(Protocol):
    """What the validator needs from a client: one reply per question."""

    async def query(self, name: dns.name.Name, rdtype: int) -> Reply: ...


@dataclass
class ClientStats:
    queries: int = 0
    tcp: int = 0
    failed: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


def system_resolvers() -> list[HostPort]:
    """The resolvers the system is configured with (``/etc/resolv.conf``), or none."""
    try:
        resolver = dns.resolver.Resolver(configure=True)
    except (dns.resolver.NoResolverConfiguration, OSError):
        return []
    return [HostPort(host=str(server), port=resolver.port) for server in resolver.nameservers]


class DnsClient:
    """Queries ``servers`` in turn (the next only when one does not answer), bounded in count and time."""

    def __init__(
        self,
        servers: Sequence[HostPort],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        attempts: int = 2,
        max_queries: int = DEFAULT_MAX_QUERIES,
        concurrency: int = DEFAULT_CONCURRENCY,
        time_limit: float | None = None,
    ) -> None:
        self.servers = tuple(servers)
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.max_queries = max_queries
        self.stats = ClientStats()
        #: Set once a question was refused because the time limit had passed.
        self.deadline_reached = False
        self._deadline = time.monotonic() + time_limit if time_limit is not None else None
        self._semaphore = asyncio.Semaphore(concurrency)
        self._pending: dict[tuple[dns.name.Name, int], asyncio.Task[Reply]] = {}

    @property
    def description(self) -> str:
        return ", ".join(str(server) for server in self.servers) or "no resolver"

    async def query(self, name: dns.name.Name, rdtype: int) -> Reply:
        """The reply to ``name``/``rdtype``; the same question is sent once and its reply shared."""
        return await shared(self._pending, (name.canonicalize(), int(rdtype)), lambda: self._ask(name, rdtype))

    def close(self) -> None:
        """Cancel questions still in flight (after a caller's own time limit struck)."""
        for task in self._pending.values():
            task.cancel()

    def _remaining(self) -> float | None:
        return None if self._deadline is None else self._deadline - time.monotonic()

    async def _ask(self, name: dns.name.Name, rdtype: int) -> Reply:
        if not self.servers:
            return self._failed("no resolver is configured")
        if self.stats.queries >= self.max_queries:
            return self._failed(f"the limit of {self.max_queries} DNS queries per scan was reached")
        self.stats.queries += 1
        type_text = dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))
        self.stats.by_type[type_text] = self.stats.by_type.get(type_text, 0) + 1
        query = dns.message.make_query(name, rdtype, want_dnssec=True, use_edns=0, payload=EDNS_PAYLOAD)
        query.flags |= dns.flags.CD
        errors = []
        async with self._semaphore:
            for server in self.servers:
                for _ in range(self.attempts):
                    remaining = self._remaining()
                    if remaining is not None and remaining <= 0:
                        self.deadline_reached = True
                        return self._failed("the time limit for DNS lookups was reached")
                    timeout = self.timeout if remaining is None else min(self.timeout, remaining)
                    try:
                        response, used_tcp = await dns.asyncquery.udp_with_fallback(
                            query, server.host, timeout=timeout, port=server.port
                        )
                    except dns.exception.Timeout:
                        errors.append(f"{server}: no answer within {timeout:.1f} s")
                        continue
                    except OSError as exc:
                        errors.append(f"{server}: {exc.strerror or exc}")
                        break
                    except EOFError:
                        errors.append(f"{server}: the connection was closed before the answer")
                        break
                    except dns.exception.DNSException as exc:
                        errors.append(f"{server}: malformed answer ({exc})")
                        break
                    if used_tcp:
                        self.stats.tcp += 1
                    return Reply(message=response)
        return self._failed("; ".join(errors))

    def _failed(self, error: str) -> Reply:
        self.stats.failed += 1
        return Reply(error=error)
