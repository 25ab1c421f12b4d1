"""An httpx transport that connects only to the addresses our own resolver produced.

httpcore asks its network backend to ``connect_tcp(host, port)`` with the URL's host name; our
backend ignores the machine's resolver and tries, in order, the IP addresses it was given for that
host, checking the address policy on each one just before connecting (so a rebinding resolver
cannot slip a refused address in later). TLS is then started by httpcore with SNI = the URL's host
and verified against the caller's ``ssl.SSLContext``, and the ``Host`` header is the URL's: the
server sees exactly what a browser resolving the name itself would send.
"""

from __future__ import annotations

import contextlib
import ipaddress
import ssl
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import certifi
import httpcore
import httpx

#: ``allow(address) -> bool``: may we connect to this address? Checked at connect time.
AddressFilter = Callable[[str], bool]


def allow_any(address: str) -> bool:
    del address
    return True


class AddressRefused(Exception):
    """No address may be connected to: the policy refused them all, or the host has none."""


@dataclass(frozen=True)
class ConnectFailure:
    address: str
    error: BaseException


def normalise_host(host: str) -> str:
    """The form httpcore hands to ``connect_tcp``: IDNA A-labels, lower case, no trailing dot."""
    host = host.rstrip(".").lower()
    try:
        return httpx.URL(f"http://{host}/").raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError):
        return host  # an IPv6 literal, or a name httpx would refuse anyway


def _ip_literal(address: str) -> str:
    # Only literals reach the socket layer, so getaddrinfo never needs a name server.
    return str(ipaddress.ip_address(address))


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Resolves host names from a fixed table and records each address that could not be reached."""

    def __init__(self, allow: AddressFilter = allow_any) -> None:
        self.allow = allow
        self.addresses: dict[str, list[str]] = {}
        self.failures: list[ConnectFailure] = []
        self._inner = httpcore.AnyIOBackend()

    def pin(self, host: str, addresses: Iterable[str]) -> None:
        self.addresses[normalise_host(host)] = [_ip_literal(address) for address in addresses]

    def known(self, host: str) -> bool:
        return normalise_host(host) in self.addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's backend interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        candidates = self.addresses.get(normalise_host(host))
        if not candidates:
            raise AddressRefused(f"no address of ours for {host} (the system resolver is never asked)")
        last: Exception | None = None
        for address in candidates:
            # Asked here, immediately before this address is connected to, whatever came earlier.
            if not self.allow(address):
                last = AddressRefused("refused by the address policy")
                self.failures.append(ConnectFailure(address, last))
                continue
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                self.failures.append(ConnectFailure(address, exc))
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's backend interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("unix sockets are never used")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


_HTTPCORE_TO_HTTPX: tuple[tuple[type[Exception], type[httpx.RequestError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.TimeoutException, httpx.TimeoutException),
)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    """httpx's clients expect httpx exceptions from a transport; keep the httpcore one as the cause."""
    try:
        yield
    except Exception as exc:
        for source, target in _HTTPCORE_TO_HTTPX:
            if isinstance(exc, source):
                raise target(str(exc)) from exc
        raise


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        with _httpx_errors():
            await self._stream.aclose()


class PinnedTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over ``PinnedBackend``; no proxies, no environment settings, no retries."""

    def __init__(self, backend: PinnedBackend, ssl_context: ssl.SSLContext) -> None:
        self.backend = backend
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            network_backend=backend,
            http1=True,
            http2=False,
            retries=0,
            max_connections=4,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = await self._pool.handle_async_request(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        with _httpx_errors():
            await self._pool.aclose()


def make_ssl_context(extra_ca_files: Sequence[Path] = (), *, public_roots: bool = True) -> ssl.SSLContext:
    """Verify server certificates against Mozilla's roots (certifi) plus the given PEM bundles."""
    if public_roots:
        context = ssl.create_default_context(cafile=certifi.where())
    else:
        # Not create_default_context(): without a cafile it would load the machine's store.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for path in extra_ca_files:
        context.load_verify_locations(cafile=str(path))
    return context
