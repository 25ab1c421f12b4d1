"""Where a batch keeps the TLS enumerations its hosted domains share (``scanners.tls.shared``).

A store holds one *template* per endpoint key for ``ttl`` seconds, and hands out the right to make
it: the first scan to ask for a key gets a claim and enumerates; scans asking meanwhile wait for
its template (up to ``wait`` seconds, then they enumerate on their own rather than hold up their
scan). ``MemoryTemplates`` serves the scans of one event loop (``scan --from-file`` here);
``RedisTemplates`` serves a fleet of workers, so an endpoint is enumerated once for all of them.
A claim is a lease: a worker that dies while enumerating frees its key after ``lease`` seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from scanners.base import FactModel
from scanners.tls.facts import TlsFacts
from scanners.tls.prober import TlsScanOptions

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: A template older than this is not used: a batch's scans of one server are minutes apart, and a
#: server's configuration may change between batches.
DEFAULT_TTL = 900.0
#: How long a scan waits for another scan's enumeration of its endpoint before doing its own.
DEFAULT_WAIT = 120.0
#: A claim's lifetime: longer than an endpoint's enumeration at a polite pace.
DEFAULT_LEASE = 300.0
_POLL = 0.25


class Template(FactModel):
    """One endpoint's complete enumeration, as made for one of the domains it hosts."""

    facts: TlsFacts
    enumerated_at: datetime

    @classmethod
    def of(cls, facts: TlsFacts) -> Template:
        return cls(facts=facts, enumerated_at=datetime.now(UTC).replace(microsecond=0))


@dataclass(frozen=True)
class Lookup:
    #: The endpoint's template; None when the caller is to enumerate.
    template: Template | None
    #: The caller's claim (to ``put`` a template and ``release``); None when it has none (another
    #: scan's claim outlived the wait): enumerate, but leave the key alone.
    token: str | None


class TemplateStore(Protocol):
    async def get_or_claim(self, key: str) -> Lookup: ...

    async def put(self, key: str, template: Template) -> None: ...

    async def release(self, key: str, token: str) -> None: ...


def endpoint_key(kind: str, transport: str, address: str, port: int, options: TlsScanOptions) -> str:
    """What makes two enumerations comparable: the endpoint, and every option but the name sent."""
    settings = {name: value for name, value in asdict(options).items() if name != "server_name"}
    digest = hashlib.sha256(repr(sorted(settings.items())).encode()).hexdigest()[:16]
    return f"{kind}/{transport}/{address}/{port}/{digest}"


class MemoryTemplates:
    """Templates for the scans of one process and event loop."""

    def __init__(self, *, ttl: float = DEFAULT_TTL, wait: float = DEFAULT_WAIT) -> None:
        self.ttl = ttl
        self.wait = wait
        self._templates: dict[str, tuple[float, Template]] = {}
        self._claims: dict[str, tuple[str, asyncio.Event]] = {}

    def _fresh(self, key: str) -> Template | None:
        found = self._templates.get(key)
        if found is None or time.monotonic() - found[0] > self.ttl:
            return None
        return found[1]

    async def get_or_claim(self, key: str) -> Lookup:
        deadline = time.monotonic() + self.wait
        while True:
            template = self._fresh(key)
            if template is not None:
                return Lookup(template, None)
            claim = self._claims.get(key)
            if claim is None:
                token = uuid.uuid4().hex
                self._claims[key] = (token, asyncio.Event())
                return Lookup(None, token)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Lookup(None, None)
            try:
                await asyncio.wait_for(claim[1].wait(), timeout=remaining)
            except TimeoutError:
                return Lookup(None, None)

    async def put(self, key: str, template: Template) -> None:
        self._templates[key] = (time.monotonic(), template)

    async def release(self, key: str, token: str) -> None:
        claim = self._claims.get(key)
        if claim is not None and claim[0] == token:
            del self._claims[key]
            claim[1].set()


_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisTemplates:
    """Templates shared by every worker using the same Redis and ``prefix``.

    Keys: ``{prefix}{key}`` the template (JSON, expiring after ``ttl``), ``{prefix}{key}:claim`` the
    claim (a token, expiring after ``lease``). The client belongs to the event loop that made it:
    make one store per loop and ``aclose()`` it.
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "observatory:tls:",
        ttl: float = DEFAULT_TTL,
        wait: float = DEFAULT_WAIT,
        lease: float = DEFAULT_LEASE,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl = ttl
        self.wait = wait
        self.lease = lease

    @classmethod
    def from_url(cls, url: str, **settings: object) -> RedisTemplates:
        from redis.asyncio import Redis

        client = Redis.from_url(url, socket_timeout=3.0, socket_connect_timeout=3.0)
        return cls(client, **settings)  # type: ignore[arg-type]

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _template(self, key: str) -> Template | None:
        raw = await self.client.get(self.prefix + key)
        if raw is None:
            return None
        try:
            return Template.model_validate_json(raw)
        except ValueError:
            return None  # written by another version: enumerate and replace it

    async def get_or_claim(self, key: str) -> Lookup:
        deadline = time.monotonic() + self.wait
        token = uuid.uuid4().hex
        while True:
            template = await self._template(key)
            if template is not None:
                return Lookup(template, None)
            if await self.client.set(self.prefix + key + ":claim", token, nx=True, px=int(self.lease * 1000)):
                # It may have been put between the two asks.
                template = await self._template(key)
                if template is not None:
                    await self.release(key, token)
                    return Lookup(template, None)
                return Lookup(None, token)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Lookup(None, None)
            await asyncio.sleep(min(_POLL, remaining))

    async def put(self, key: str, template: Template) -> None:
        await self.client.set(self.prefix + key, template.model_dump_json(), px=int(self.ttl * 1000))

    async def release(self, key: str, token: str) -> None:
        await self.client.eval(_RELEASE, 1, self.prefix + key + ":claim", token)
