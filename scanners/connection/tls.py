"""A full TLS handshake with pyOpenSSL over asyncio streams, through memory BIOs.

``start_tls`` runs the client handshake on the (reader, writer) pair ``open_prelude`` returned:
ciphertext moves between OpenSSL's memory BIOs and the asyncio streams, so the event loop is never
blocked and whatever the server sent after ``<proceed/>`` reaches OpenSSL as TLS data. The result,
``TlsStream``, reads and writes the restarted XMPP stream, and exposes the pyOpenSSL connection
for everything else (peer chain, version, cipher, exporter for channel binding).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from OpenSSL import SSL

from scanners.base import ServiceKind, Transport
from scanners.connection.errors import TlsFailed
from scanners.connection.limits import Deadline
from scanners.connection.prelude import Endpoint

ALPN = {ServiceKind.C2S: b"xmpp-client", ServiceKind.S2S: b"xmpp-server"}
_RECORD = 16 * 1024 + 2048
#: How much of what the server sent during the handshake is kept for error reports.
_KEEP = 512


def client_context() -> SSL.Context:
    """What an ordinary client offers, widened to old versions so old servers still show features.

    Certificates are not verified here: the scanner records the chain and judges it elsewhere.
    """
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_min_proto_version(SSL.TLS1_VERSION)
    context.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
    context.set_verify(SSL.VERIFY_NONE)
    return context


class TlsStream:
    """A TLS connection over an asyncio (reader, writer); a ``ByteSource`` for ``XmlStream``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: SSL.Connection):
        self.reader = reader
        self.writer = writer
        #: The pyOpenSSL connection, for the peer chain, version, cipher and keying material.
        self.connection = connection
        self._received = bytearray()

    @property
    def version(self) -> str:
        return self.connection.get_protocol_version_name()

    @property
    def alpn(self) -> str | None:
        chosen = self.connection.get_alpn_proto_negotiated()
        return chosen.decode("ascii", "replace") if chosen else None

    async def _flush(self) -> None:
        while True:
            try:
                data = self.connection.bio_read(_RECORD)
            except SSL.WantReadError:
                break
            self.writer.write(data)
        await self.writer.drain()

    async def _fill(self) -> None:
        """Move what the server sent into OpenSSL; at EOF tell OpenSSL there is no more."""
        data = await self.reader.read(_RECORD)
        if len(self._received) < _KEEP:
            self._received += data[: _KEEP - len(self._received)]
        if data:
            self.connection.bio_write(data)
        else:
            self.connection.bio_shutdown()

    async def handshake(self) -> None:
        try:
            await self._handshake()
        except ConnectionError:
            # A reset (or a write into a closed socket) mid-handshake is the peer's answer to our
            # hello, as an EOF is; every caller handles TlsFailed, not socket errors.
            raise TlsFailed("the server reset the connection during the TLS handshake", bytes(self._received)) from None

    async def _handshake(self) -> None:
        while True:
            try:
                self.connection.do_handshake()
                break
            except SSL.WantReadError:
                await self._flush()
                await self._fill()
            except SSL.Error as exc:
                # Send our alert, if any, before reporting.
                with contextlib.suppress(Exception):
                    await self._flush()
                raise TlsFailed(_describe(exc), bytes(self._received)) from None
        await self._flush()

    async def read(self, max_bytes: int) -> bytes:
        """Decrypted bytes; ``b""`` once the server closed (close_notify or just TCP)."""
        while True:
            try:
                return self.connection.recv(max_bytes)
            except SSL.WantReadError:
                await self._flush()
                await self._fill()
            except SSL.ZeroReturnError:
                return b""
            except SSL.SysCallError:
                return b""  # EOF without close_notify: the stream simply ends here
            except SSL.Error as exc:
                raise TlsFailed(_describe(exc)) from None

    async def write(self, data: bytes) -> None:
        self.connection.sendall(data)
        await self._flush()

    async def close(self) -> None:
        """Send close_notify (best effort); the writer itself is closed by ``open_prelude``."""
        with contextlib.suppress(Exception):
            self.connection.shutdown()
            await self._flush()


def _describe(exc: SSL.Error) -> str:
    if isinstance(exc, SSL.SysCallError):
        return "the server closed the connection during the TLS handshake"
    reasons = [str(part[2]) for part in exc.args[0] if len(part) == 3] if exc.args and exc.args[0] else []
    return "TLS handshake failed: " + (", ".join(reasons) or type(exc).__name__)


async def start_tls(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    endpoint: Endpoint,
    deadline: Deadline,
    *,
    context: SSL.Context | None = None,
    alpn: Sequence[bytes] | None = None,
) -> TlsStream:
    """Run a client handshake: SNI is the XMPP domain; ALPN (Direct TLS only, unless given) names the service.

    Raises ``TlsFailed`` or ``TimeoutError``.
    """
    connection = SSL.Connection(context or client_context(), None)
    connection.set_connect_state()
    connection.set_tlsext_host_name(endpoint.domain.encode("idna"))
    if alpn is None and endpoint.transport is Transport.DIRECTTLS:
        alpn = [ALPN[endpoint.kind]]
    if alpn:
        connection.set_alpn_protos(list(alpn))
    stream = TlsStream(reader, writer, connection)
    async with deadline.timeout():
        await stream.handshake()
    return stream
