"""A small scripted web server for the testbed: HTTPS with a test-PKI certificate, and plain HTTP.

Real web servers cannot be told to misbehave on cue, so this one serves whatever a test puts in its
route tables, including hostile answers: a body that never ends, a body that trickles, a gzip bomb,
a server that never answers. It listens on 127.0.0.1 and ::1, runs its own event loop in one thread
(started and joined by the fixture, so nothing outlives the session), and records every request
with its ``Host`` header and TLS SNI so tests can check what a client really sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus

from tests.testbed.pki import Leaf, TestPKI
from tests.testbed.ports import PortAllocator
from tests.testbed.process import StartsAndStops

LOOPBACK = ("127.0.0.1", "::1")
_ENDLESS_CAP = 64 << 20  # even "endless" stops somewhere, should a client never hang up


@dataclass(frozen=True)
class Route:
    """One scripted answer."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    #: Seconds between single body bytes (a slow body); 0 sends the body at once.
    trickle: float = 0.0
    #: After the headers, send filler until the client hangs up (no Content-Length).
    endless: bool = False
    #: Read the request and never answer.
    hang: bool = False
    #: Send these bytes instead of an HTTP answer.
    raw: bytes | None = None

    @classmethod
    def json(cls, document: object, *, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Route:
        body = json.dumps(document).encode()
        return cls(status=status, body=body, headers=(("Content-Type", "application/json"), *headers))

    @classmethod
    def xml(cls, text: str, *, headers: tuple[tuple[str, str], ...] = ()) -> Route:
        return cls(body=text.encode(), headers=(("Content-Type", "application/xrd+xml"), *headers))

    @classmethod
    def redirect(cls, location: str, status: int = 301) -> Route:
        return cls(status=status, headers=(("Location", location),))


NOT_FOUND = Route(status=404, body=b"<html><body>not here</body></html>", headers=(("Content-Type", "text/html"),))


@dataclass(frozen=True)
class SeenRequest:
    scheme: str
    #: The address the request arrived on (which of the loopback listeners).
    local_address: str
    path: str
    host: str | None
    sni: str | None
    headers: dict[str, str] = field(repr=False)


class HttpsTestServer(StartsAndStops):
    """HTTPS (``https_port``) and plain HTTP (``http_port``) on both loopback addresses."""

    def __init__(self, leaf: Leaf, https_port: int, http_port: int) -> None:
        self.leaf = leaf
        self.https_port = https_port
        self.http_port = http_port
        #: path → answer, over HTTPS and over plain HTTP; anything else is a 404.
        self.routes: dict[str, Route] = {}
        self.http_routes: dict[str, Route] = {}
        self.requests: list[SeenRequest] = []
        #: Errors the event loop reported (e.g. handshakes a client refused), kept for debugging.
        self.loop_errors: list[str] = []
        self._sni: dict[int, str | None] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._lock = threading.Lock()

    # --- what tests call ---------------------------------------------------------------------

    def serve(self, routes: Mapping[str, Route], http_routes: Mapping[str, Route] | None = None) -> None:
        with self._lock:
            self.routes = dict(routes)
            self.http_routes = dict(http_routes or {})
            self.requests = []

    def reset(self) -> None:
        self.serve({})

    def url(self, path: str, host: str = "example.test", scheme: str = "https") -> str:
        port = self.https_port if scheme == "https" else self.http_port
        return f"{scheme}://{host}:{port}{path}"

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        ready = threading.Event()
        failure: list[BaseException] = []
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(lambda _loop, context: self.loop_errors.append(str(context.get("message"))))
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name=f"https-testbed-{self.https_port}", daemon=True
        )
        self._thread.start()
        if not ready.wait(10) or failure:
            self.stop()
            raise RuntimeError(f"the test web server did not start: {failure[0] if failure else 'timeout'}")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)
            if self._thread.is_alive():
                raise RuntimeError("the test web server thread did not stop")
        if self._loop is not None and not self._loop.is_closed():
            self._loop.close()

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main(ready))
        except BaseException as exc:  # reported to start() through `failure`
            failure.append(exc)
            ready.set()

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.leaf.chain_path, self.leaf.key_path)

        def remember_sni(sslobj: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
            self._sni[id(sslobj)] = name

        context.sni_callback = remember_sni  # type: ignore[assignment]
        return context

    async def _main(self, ready: threading.Event) -> None:
        self._stop = asyncio.Event()
        tls = self._tls_context()
        servers = []
        handlers: set[asyncio.Task[None]] = set()

        def handler(scheme: str) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                task = asyncio.current_task()
                assert task is not None
                handlers.add(task)
                try:
                    await self._handle(scheme, reader, writer)
                finally:
                    handlers.discard(task)

            return handle

        for host in LOOPBACK:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            servers.append(await asyncio.start_server(handler("https"), host, self.https_port, ssl=tls, family=family))
            servers.append(await asyncio.start_server(handler("http"), host, self.http_port, family=family))
        ready.set()
        try:
            await self._stop.wait()
        finally:
            for server in servers:
                server.close()
            for task in list(handlers):
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
            for server in servers:
                await server.wait_closed()

    async def _handle(self, scheme: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            _method, path, _version = request_line.split(" ", 2)
            headers = {}
            for line in header_lines:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            sslobj = writer.get_extra_info("ssl_object")
            local = writer.get_extra_info("sockname")
            with self._lock:
                self.requests.append(
                    SeenRequest(
                        scheme=scheme,
                        local_address=str(local[0]) if local else "",
                        path=path,
                        host=headers.get("host"),
                        sni=self._sni.pop(id(sslobj), None) if sslobj is not None else None,
                        headers=headers,
                    )
                )
                table = self.routes if scheme == "https" else self.http_routes
                route = table.get(path, NOT_FOUND)
            await self._answer(writer, route)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ssl.SSLError):
            pass  # the client hung up or gave up: exactly what the hostile routes provoke
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 2)

    async def _answer(self, writer: asyncio.StreamWriter, route: Route) -> None:
        if route.hang:
            await asyncio.sleep(3600)
        if route.raw is not None:
            writer.write(route.raw)
            await writer.drain()
            return
        lines = [f"HTTP/1.1 {route.status} {_phrase(route.status)}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in route.headers]
        if not route.endless:
            lines.append(f"Content-Length: {len(route.body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        if route.endless:
            filler = b"x" * 65536
            for _ in range(_ENDLESS_CAP // len(filler)):
                writer.write(filler)
                await writer.drain()
        elif route.trickle:
            for index in range(len(route.body)):
                writer.write(route.body[index : index + 1])
                await writer.drain()
                await asyncio.sleep(route.trickle)
        else:
            writer.write(route.body)
            await writer.drain()


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class HttpsServerPool:
    """One server per certificate variant, started on first use and all stopped together."""

    def __init__(self, pki: TestPKI, ports: PortAllocator) -> None:
        self._pki = pki
        self._ports = ports
        self._servers: dict[str, HttpsTestServer] = {}

    def get(self, leaf_name: str = "good") -> HttpsTestServer:
        if leaf_name not in self._servers:
            server = HttpsTestServer(self._pki.leaf(leaf_name), self._ports.take(), self._ports.take())
            server.start()
            self._servers[leaf_name] = server
        return self._servers[leaf_name]

    def stop_all(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
