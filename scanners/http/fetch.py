"""Bounded GET requests: limited time, size and redirects, every failure turned into a ``ProbeError``."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import httpcore
import httpx

from scanners.base import ErrorReason, ProbeError
from scanners.http.facts import KEPT_BODY_BYTES, HttpFetch
from scanners.http.transport import (
    AddressFilter,
    AddressRefused,
    ConnectFailure,
    PinnedBackend,
    PinnedTransport,
    allow_any,
    normalise_host,
)

#: ``resolve(host) -> addresses``: our own resolver, for redirects and references to other hosts.
Resolver = Callable[[str], Awaitable[Sequence[str]]]

E = TypeVar("E", bound=BaseException)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class HttpSettings:
    """Ports, limits and timeouts of HTTP discovery (the ports are settable so tests need no root)."""

    https_port: int = 443
    http_port: int = 80
    connect_timeout: float = 5.0
    #: Longest silence while reading an answer.
    read_timeout: float = 5.0
    #: The whole of one request, connection to last byte: a trickling server cannot hold us longer.
    total_timeout: float = 10.0
    #: Largest body read (after decompression); host-meta and POSH files are a few hundred bytes.
    max_body_bytes: int = 64 * 1024
    user_agent: str = "xmpp-observatory"

    def url(self, scheme: str, host: str, path: str) -> str:
        port = self.https_port if scheme == "https" else self.http_port
        default = 443 if scheme == "https" else 80
        return f"{scheme}://{host}{'' if port == default else f':{port}'}{path}"


DEFAULT_SETTINGS = HttpSettings()


class BodyTooLarge(Exception):
    """The answer is larger than we read."""


@dataclass
class Retrieved:
    """The requests made for one URL (the first, then each redirect followed) and the final body."""

    fetches: list[HttpFetch] = field(default_factory=list)
    #: The body of the final answer when it was a 2xx.
    body: bytes | None = None
    #: Why a redirect was not followed.
    errors: list[ProbeError] = field(default_factory=list)

    @property
    def final(self) -> HttpFetch | None:
        return self.fetches[-1] if self.fetches else None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what caused it, and the members of exception groups, depth first."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        members = list(current.exceptions) if isinstance(current, BaseExceptionGroup) else []
        pending += [cause for cause in (current.__context__, current.__cause__, *members) if cause is not None]


def _first(exc: BaseException, kind: type[E]) -> E | None:
    return next((cause for cause in _causes(exc) if isinstance(cause, kind)), None)


def _tls_message(error: ssl.SSLError) -> str:
    # OpenSSL fills verify_message/reason; an SSLError raised elsewhere may lack them.
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"certificate verification failed: {getattr(error, 'verify_message', None) or error}"
    return f"TLS handshake failed: {getattr(error, 'reason', None) or error}"


def classify(exc: BaseException) -> ProbeError:
    """The one place where an exception of an HTTP request becomes a reason."""
    if isinstance(exc, AddressRefused):
        return ProbeError(phase="connect", reason=ErrorReason.POLICY, message=str(exc))
    if isinstance(exc, BodyTooLarge):
        return ProbeError(phase="body", reason=ErrorReason.HOSTILE_INPUT, message=str(exc))
    if isinstance(exc, httpx.ConnectTimeout | httpcore.ConnectTimeout):
        return ProbeError(phase="connect", reason=ErrorReason.TIMEOUT, message="connection timed out")
    if isinstance(exc, httpx.TimeoutException):
        return ProbeError(phase="http", reason=ErrorReason.TIMEOUT, message=f"no answer in time ({type(exc).__name__})")
    tls = _first(exc, ssl.SSLError)
    if tls is not None:
        return ProbeError(phase="tls", reason=ErrorReason.TLS, message=_tls_message(tls))
    if isinstance(exc, httpx.ConnectError | httpcore.ConnectError):
        refused = _first(exc, ConnectionRefusedError)
        if refused is not None:
            return ProbeError(phase="connect", reason=ErrorReason.REFUSED, message=str(refused))
        cause = _first(exc, OSError)
        return ProbeError(phase="connect", reason=ErrorReason.UNREACHABLE, message=str(cause or exc) or "unreachable")
    if isinstance(exc, httpx.HTTPError | httpx.InvalidURL):
        return ProbeError(phase="http", reason=ErrorReason.PROTOCOL, message=f"{type(exc).__name__}: {exc}")
    return ProbeError(phase="http", reason=ErrorReason.INTERNAL, message=f"{type(exc).__name__}: {exc}")


def _failure_error(failure: ConnectFailure) -> ProbeError:
    error = classify(failure.error)
    return error.model_copy(update={"message": f"{failure.address}: {error.message}"})


def _decompress(raw: bytes, encoding: str, limit: int) -> bytes:
    """Undo a Content-Encoding we did not ask for, never producing more than ``limit`` bytes."""
    if encoding in ("", "identity"):
        return raw
    if encoding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":
        wbits = zlib.MAX_WBITS
    else:
        raise httpx.DecodingError(f"unsupported Content-Encoding {encoding!r}")
    try:
        decoder = zlib.decompressobj(wbits)
        body = decoder.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise httpx.DecodingError(f"bad {encoding} body: {exc}") from None
    if len(body) > limit or decoder.unconsumed_tail:
        raise BodyTooLarge(f"{encoding} body inflates to more than {limit} bytes")
    return body


async def _read_body(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"Content-Length {declared} is more than the {limit} bytes we read")
    raw = bytearray()
    async for chunk in response.aiter_raw():
        raw += chunk
        if len(raw) > limit:
            raise BodyTooLarge(f"body larger than {limit} bytes")
    return _decompress(bytes(raw), response.headers.get("content-encoding", "").strip().lower(), limit)


def _peer(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    return str(peer[0]) if isinstance(peer, tuple) and peer else None


class Fetcher:
    """GETs for one domain: its addresses are given; other hosts only through ``resolve``."""

    def __init__(
        self,
        domain: str,
        addresses: Sequence[str],
        *,
        ssl_context: ssl.SSLContext,
        settings: HttpSettings = DEFAULT_SETTINGS,
        allow: AddressFilter = allow_any,
        resolve: Resolver | None = None,
    ) -> None:
        self.domain = domain.rstrip(".")  # no trailing dot in Host, SNI or certificate matching
        # Our resolver's answers, so a bad one is a caller's bug: refuse it here, not mid-scan.
        self.addresses = [str(ipaddress.ip_address(address)) for address in addresses]
        self.ssl_context = ssl_context
        self.settings = settings
        self.allow = allow
        self.resolve = resolve

    async def get(self, url: str, *, accept: str, redirects: int = 0) -> Retrieved:
        """GET ``url``, following at most ``redirects`` redirects (never from HTTPS down to HTTP)."""
        backend = PinnedBackend(self.allow)
        backend.pin(self.domain, self.addresses)
        retrieved = Retrieved()
        try:
            first = await self._pin(backend, httpx.URL(url).host)
        except (httpx.InvalidURL, ValueError) as exc:
            first = ProbeError(phase="http", reason=ErrorReason.PROTOCOL, message=f"{url!r:.200} is not a URL: {exc}")
        if first is not None:
            retrieved.errors.append(first)
            return retrieved
        timeout = httpx.Timeout(self.settings.read_timeout, connect=self.settings.connect_timeout)
        async with httpx.AsyncClient(
            transport=PinnedTransport(backend, self.ssl_context),
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": self.settings.user_agent, "Accept-Encoding": "identity"},
        ) as client:
            current = url
            for hop in range(redirects + 1):
                fetch, body = await self._fetch(client, backend, current, accept)
                retrieved.fetches.append(fetch)
                retrieved.body = body
                if fetch.location is None:
                    break
                if hop == redirects:
                    retrieved.errors.append(_redirect_error(f"not followed: at most {redirects} redirect(s)", fetch))
                    break
                following = await self._redirect_target(backend, current, fetch)
                if isinstance(following, ProbeError):
                    retrieved.errors.append(following)
                    break
                current = following
        return retrieved

    async def _fetch(
        self, client: httpx.AsyncClient, backend: PinnedBackend, url: str, accept: str
    ) -> tuple[HttpFetch, bytes | None]:
        fetch = HttpFetch(url=url, started_at=datetime.now(UTC))
        clock = time.monotonic()
        failures_before = len(backend.failures)
        body: bytes | None = None
        problem: ProbeError | None = None
        try:
            async with asyncio.timeout(self.settings.total_timeout):
                async with client.stream("GET", url, headers={"Accept": accept}) as response:
                    status = response.status_code
                    fetch = fetch.model_copy(
                        update={
                            "address": _peer(response),
                            "status": status,
                            "content_type": response.headers.get("content-type"),
                            "cors": response.headers.get("access-control-allow-origin"),
                            "location": response.headers.get("location") if status in _REDIRECTS else None,
                        }
                    )
                    if 200 <= status < 300:
                        body = await _read_body(response, self.settings.max_body_bytes)
        except TimeoutError:
            problem = ProbeError(
                phase="http",
                reason=ErrorReason.TIMEOUT,
                message=f"no complete answer within {self.settings.total_timeout:g} s",
            )
        except Exception as exc:  # a hostile server must give a fact, whatever breaks
            failures = backend.failures[failures_before:]
            # When every address failed, the last failure is re-raised: it is listed already.
            if not (failures and failures[-1].error in (exc, exc.__cause__)):
                problem = classify(exc)
        errors = [_failure_error(failure) for failure in backend.failures[failures_before:]]
        if problem is not None:
            errors.append(problem)
            body = None
        fetch = fetch.model_copy(
            update={
                "duration_seconds": round(time.monotonic() - clock, 6),
                "body": body[:KEPT_BODY_BYTES].decode("utf-8", errors="replace") if body is not None else None,
                "body_bytes": len(body) if body is not None else None,
                "errors": errors,
            }
        )
        return fetch, body

    async def _redirect_target(self, backend: PinnedBackend, current: str, fetch: HttpFetch) -> str | ProbeError:
        assert fetch.location is not None
        try:
            target = httpx.URL(current).join(fetch.location)
        except (httpx.InvalidURL, ValueError) as exc:
            return _redirect_error(f"Location is not a URL ({exc})", fetch)
        if target.scheme not in ("http", "https"):
            return _redirect_error(f"to a {target.scheme!r} URL, not followed", fetch)
        if httpx.URL(current).scheme == "https" and target.scheme == "http":
            return _redirect_error("from HTTPS down to plain HTTP, not followed", fetch)
        problem = await self._pin(backend, target.host)
        return problem if problem is not None else str(target)

    async def _pin(self, backend: PinnedBackend, host: str) -> ProbeError | None:
        if backend.known(host):
            return None
        addresses = await self._addresses_of(host)
        if isinstance(addresses, ProbeError):
            return addresses
        backend.pin(host, addresses)
        return None

    async def _addresses_of(self, host: str) -> list[str] | ProbeError:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        if self.resolve is None:
            return ProbeError(
                phase="redirect",
                reason=ErrorReason.POLICY,
                message=f"{host} is not the scanned domain and no resolver was given: not requested",
            )
        try:
            addresses = list(await self.resolve(normalise_host(host)))
        except Exception as exc:  # the caller's resolver: its failure is a fact about this host
            return ProbeError(phase="dns", reason=ErrorReason.DNS, message=f"{host}: {type(exc).__name__}: {exc}")
        if not addresses:
            return ProbeError(phase="dns", reason=ErrorReason.DNS, message=f"{host} has no address")
        try:
            return [str(ipaddress.ip_address(address)) for address in addresses]
        except ValueError as exc:
            return ProbeError(phase="dns", reason=ErrorReason.INTERNAL, message=f"resolver gave {exc}")


def _redirect_error(text: str, fetch: HttpFetch) -> ProbeError:
    return ProbeError(phase="redirect", reason=ErrorReason.PROTOCOL, message=f"redirect to {fetch.location}: {text}")
