"""Small scripted XMPP servers on loopback, for what Prosody cannot produce.

A ``ScriptedServer`` runs one script per accepted connection in the test's own event loop and
counts connections (total and at once). Scripts are hostile (billion laughs, endless header, one
byte per second, a 50 MB features element, garbage, close mid-STARTTLS) or play a configurable,
deliberately crude XMPP server (``XmppScript``) that offers features Prosody 0.12 lacks: XEP-0440,
SASL2 with FAST, XEP-0474 in SCRAM, an ALPN choice on Direct TLS.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import ssl
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from tests.testbed.layout import DOMAIN
from tests.testbed.pki import Leaf

HOST = "127.0.0.1"
STREAMS_NS = "http://etherx.jabber.org/streams"
TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"
SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl"
SASL2_NS = "urn:xmpp:sasl:2"
#: What the hostile scripts send at most, so a client that never stops reading still ends.
HOSTILE_BYTES = 50 * 1024 * 1024
#: Seconds a script waits for the client before giving up.
PEER_TIMEOUT = 10


class Peer:
    """The server's side of one connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.sent = 0
        self.secure = False

    async def send(self, data: str | bytes) -> None:
        raw = data.encode() if isinstance(data, str) else data
        self.writer.write(raw)
        self.sent += len(raw)
        await self.writer.drain()

    async def read_until(self, marker: bytes) -> bytes:
        """Everything up to and including ``marker`` (bounded, so a test never hangs here)."""
        async with asyncio.timeout(PEER_TIMEOUT):
            return await self.reader.readuntil(marker)

    async def read_some(self) -> bytes:
        async with asyncio.timeout(PEER_TIMEOUT):
            return await self.reader.read(64 * 1024)

    async def start_tls(self, context: ssl.SSLContext) -> None:
        await self.writer.start_tls(context)
        self.secure = True

    async def flood(self, make_chunk: Callable[[int], bytes], total: int = HOSTILE_BYTES) -> None:
        """Send ``make_chunk(i)`` until ``total`` bytes went out or the client hung up."""
        index = 0
        with contextlib.suppress(ConnectionError):
            while self.sent < total:
                await self.send(make_chunk(index))
                index += 1


Script = Callable[[Peer], Awaitable[None]]


class ScriptedServer:
    """``async with ScriptedServer(script, port) as server:``; stops every script and connection on exit."""

    def __init__(self, script: Script, port: int, *, tls: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.port = port
        self.tls = tls
        self.connections = 0
        self.peers: list[Peer] = []
        self.failures: list[BaseException] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._scripts: set[asyncio.Task[None]] = set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        self.connections += 1
        peer = Peer(reader, writer)
        self.peers.append(peer)
        # The script runs in a task of its own: cancelling it at shutdown leaves this handler to end
        # normally (Python 3.11 logs a traceback for every cancelled start_server handler).
        script = asyncio.create_task(self.script(peer))
        self._scripts.add(script)
        try:
            await script
        except asyncio.CancelledError:
            if not script.cancelled():
                raise
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, ssl.SSLError):
            pass  # the client hung up or gave up: expected for most scripts
        except Exception as exc:  # a bug in the script: the test should see it
            self.failures.append(exc)
        finally:
            self._scripts.discard(script)
            await _close(writer)
            self._handlers.discard(handler)

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._handle, HOST, self.port, ssl=self.tls)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for script in list(self._scripts):
            script.cancel()
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=5)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await self._server.wait_closed()


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close politely (so the client reads everything sent), but never wait long for it."""
    writer.close()
    try:
        async with asyncio.timeout(1):
            await writer.wait_closed()
    except (TimeoutError, ConnectionError, ssl.SSLError):
        writer.transport.abort()


def server_context(leaf: Leaf, alpn: list[str] | None = None, sni: list[str] | None = None) -> ssl.SSLContext:
    """A TLS server context serving ``leaf``; records the SNI names it sees into ``sni``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(leaf.chain_path, leaf.key_path)
    if alpn:
        context.set_alpn_protocols(alpn)
    if sni is not None:

        def record(_sock: object, name: str | None, _context: object) -> None:
            sni.append(name or "")

        context.sni_callback = record  # type: ignore[assignment]
    return context


def header(content_ns: str = "jabber:client", stream_id: str = "scripted-1", extra: str = "") -> str:
    return (
        f"<?xml version='1.0'?><stream:stream xmlns='{content_ns}' xmlns:stream='{STREAMS_NS}'"
        f" from='{DOMAIN}' id='{stream_id}' version='1.0' xml:lang='en'{extra}>"
    )


def features(inner: str) -> str:
    return f"<stream:features>{inner}</stream:features>"


STARTTLS_REQUIRED = f"<starttls xmlns='{TLS_NS}'><required/></starttls>"
STARTTLS_OPTIONAL = f"<starttls xmlns='{TLS_NS}'/>"
PROCEED = f"<proceed xmlns='{TLS_NS}'/>"


def mechanisms(*names: str) -> str:
    return f"<mechanisms xmlns='{SASL_NS}'>" + "".join(f"<mechanism>{n}</mechanism>" for n in names) + "</mechanisms>"


@dataclass
class XmppScript:
    """A crude but protocol-shaped XMPP server; each field changes one behaviour."""

    features_before: str = STARTTLS_REQUIRED
    features_after: str = field(default_factory=lambda: mechanisms("SCRAM-SHA-1", "PLAIN"))
    #: Needed for STARTTLS (and given to ``ScriptedServer(tls=…)`` for Direct TLS instead).
    tls: ssl.SSLContext | None = None
    content_ns: str = "jabber:client"
    #: A ``<stream:error>`` sent right after the header instead of features.
    stream_error: str | None = None
    #: Bytes sent right after ``<proceed/>`` (they reach the client's TLS layer).
    after_proceed: bytes = b""
    #: The answer to ``<auth>`` on the cleartext stream.
    cleartext_auth_answer: str = f"<failure xmlns='{SASL_NS}'><not-authorized/></failure>"
    #: The server-first-message answered to a SCRAM ``<auth>`` over TLS (None: a not-authorized failure).
    scram_server_first: str | None = None
    #: True: plaintext pipelined after ``<starttls/>`` is answered over TLS (a vulnerable server).
    process_injected: bool = False
    #: True: with plaintext pipelined after ``<starttls/>``, complete the handshake, then hang up
    #: (what ejabberd does now and then when its TLS layer takes the plaintext after the hello).
    hang_up_on_injected: bool = False
    #: Every chunk the client sent, for the test to look at.
    received: list[bytes] = field(default_factory=list)

    async def __call__(self, peer: Peer) -> None:
        secure = peer.writer.get_extra_info("ssl_object") is not None
        await self._stream(peer, secure)

    async def _stream(self, peer: Peer, secure: bool) -> None:
        self.received.append(await peer.read_until(b">"))
        if b"<stream:stream" not in self.received[-1]:  # the XML declaration came first
            self.received.append(await peer.read_until(b">"))
        await peer.send(header(self.content_ns, stream_id="scripted-tls" if secure else "scripted-1"))
        if self.stream_error:
            await peer.send(f"<stream:error>{self.stream_error}</stream:error></stream:stream>")
            return
        await peer.send(features(self.features_after if secure else self.features_before))
        while True:
            data = await peer.read_some()
            if not data:
                return
            self.received.append(data)
            if b"<starttls" in data and not secure:
                await self._starttls(peer, data.split(b"/>", 1)[1])
                return
            if b"<auth" in data:
                await peer.send(self._auth_answer(data, secure))
            elif b"<abort" in data:
                await peer.send(f"<failure xmlns='{SASL_NS}'><aborted/></failure>")
            elif b"<db:verify" in data:
                await peer.send("<db:verify from='example.test' to='scanner.test' id='x' type='invalid'/>")
            if b"</stream:stream>" in data:
                await peer.send("</stream:stream>")
                return

    async def _starttls(self, peer: Peer, pipelined: bytes) -> None:
        assert self.tls is not None, "STARTTLS needs XmppScript(tls=…)"
        await peer.send(PROCEED.encode() + self.after_proceed)
        await peer.start_tls(self.tls)
        if self.hang_up_on_injected and pipelined.strip():
            return
        if self.process_injected and pipelined.strip():
            await peer.send(b"<iq type='error' id='answer-to-injected'>" + pipelined + b"</iq>")
        await self._stream(peer, secure=True)

    def _auth_answer(self, data: bytes, secure: bool) -> str:
        if not secure:
            return self.cleartext_auth_answer
        namespace = SASL2_NS if SASL2_NS.encode() in data else SASL_NS
        if self.scram_server_first is not None and b"SCRAM" in data:
            challenge = base64.b64encode(self.scram_server_first.encode()).decode()
            return f"<challenge xmlns='{namespace}'>{challenge}</challenge>"
        return f"<failure xmlns='{namespace}'><not-authorized xmlns='{SASL_NS}'/></failure>"


# --- Hostile scripts ------------------------------------------------------------------------------


async def billion_laughs(peer: Peer) -> None:
    entities = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    await peer.read_until(b">")
    await peer.send(f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">{entities}]>')
    await peer.send(header()[len("<?xml version='1.0'?>") :] + "<stream:features>&lol9;</stream:features>")
    await peer.read_some()


async def endless_header(peer: Peer) -> None:
    await peer.read_until(b">")
    await peer.send(f"<?xml version='1.0'?><stream:stream xmlns:stream='{STREAMS_NS}' xmlns='jabber:client'")
    await peer.flood(lambda i: f" a{i}='{'x' * 1000}'".encode())


async def one_byte_per_second(peer: Peer) -> None:
    await peer.read_until(b">")
    for byte in (header() + features(STARTTLS_REQUIRED)).encode():
        await peer.send(bytes([byte]))
        await asyncio.sleep(1)


async def huge_features(peer: Peer) -> None:
    await peer.read_until(b">")
    await peer.send(header() + "<stream:features>")
    await peer.flood(lambda i: b"<x xmlns='urn:example:filler'>" + b"y" * 4000 + b"</x>")


async def garbage(peer: Peer) -> None:
    await peer.read_until(b">")
    await peer.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n\x00\xff\xfe<<>>")
    await peer.read_some()


async def deep_nesting(peer: Peer) -> None:
    await peer.read_until(b">")
    await peer.send(header() + "<stream:features>" + "<a>" * 10_000)
    await peer.read_some()


def close_mid_starttls(*, after_proceed: bool) -> Script:
    """Offer STARTTLS, then hang up: right after reading ``<starttls/>``, or right after ``<proceed/>``."""

    async def script(peer: Peer) -> None:
        await peer.read_until(b">")
        await peer.send(header() + features(STARTTLS_REQUIRED))
        await peer.read_until(b"/>")
        if after_proceed:
            await peer.send(PROCEED)

    return script


def reset_after_client_hello() -> Script:
    """Offer STARTTLS, say ``<proceed/>``, read the ClientHello, then reset the connection (RST).

    What a server whose TLS layer crashes on the hello looks like: the client sees a TCP reset,
    not an EOF, in the middle of its handshake.
    """

    async def script(peer: Peer) -> None:
        await peer.read_until(b">")
        await peer.send(header() + features(STARTTLS_REQUIRED))
        await peer.read_until(b"/>")
        await peer.send(PROCEED)
        received = b""
        while b"\x16\x03" not in received:  # a handshake record; an injected stanza may come first
            chunk = await peer.read_some()
            if not chunk:
                return
            received += chunk
        sock = peer.writer.get_extra_info("socket")
        # Linger 0: close() sends RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.writer.transport.abort()

    return script


@dataclass
class ConnectionCounter:
    """Counts connections open at once, as the server sees them, and when each one arrived."""

    active: int = 0
    max_active: int = 0
    arrivals: list[float] = field(default_factory=list)

    def script(self, hold: float) -> Script:
        """Keep each connection ``hold`` seconds; then the client says ``bye`` and waits for ``ok``.

        The count drops before ``ok`` is sent, so it never includes a connection the client has
        already let go of.
        """

        async def run(peer: Peer) -> None:
            self.arrivals.append(time.monotonic())
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            try:
                await asyncio.sleep(hold)
                await peer.read_until(b"bye")
            finally:
                self.active -= 1
            await peer.send("ok")

        return run
