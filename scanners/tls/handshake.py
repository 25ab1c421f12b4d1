"""Complete TLS handshakes, for what raw probes cannot see.

Raw probes see the chain in clear up to TLS 1.2; under TLS 1.3 it is encrypted, and a session
ticket only comes after the client's Finished. A complete handshake is the connection layer's
pyOpenSSL-over-memory-BIO ``TlsStream`` on a connection from the engine's opener, so STARTTLS and
Direct TLS work alike. It asks for an OCSP staple, records the server's bytes (bounded) to read a
TLS ≤ 1.2 NewSessionTicket, which travels in clear, and can restrict the signature algorithms to
make a server with several certificates show each one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, cast

from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL
from OpenSSL._util import lib as _openssl  # pyOpenSSL has no wrapper for SSL_CTX_set1_sigalgs_list

from scanners.base import ErrorReason, ProbeError
from scanners.connection import TlsFailed, TlsStream, classify
from scanners.tls import registry
from scanners.tls.facts import TlsVersion
from scanners.tls.probe import Opener, enter_connection
from scanners.tls.wire import ContentType, HandshakeType, Reader

#: Enough for a chain, a staple and a ticket; beyond it nothing more is kept (the handshake goes on).
_RECORD_LIMIT = 256 * 1024
#: Servers refuse or carry out a renegotiation at once; silence beyond this is a refusal.
RENEGOTIATION_WAIT = 3.0
_VERSIONS = {
    "TLSv1": TlsVersion.TLS10,
    "TLSv1.1": TlsVersion.TLS11,
    "TLSv1.2": TlsVersion.TLS12,
    "TLSv1.3": TlsVersion.TLS13,
}
_PROTOCOL = {
    TlsVersion.TLS10: SSL.TLS1_VERSION,
    TlsVersion.TLS11: SSL.TLS1_1_VERSION,
    TlsVersion.TLS12: SSL.TLS1_2_VERSION,
    TlsVersion.TLS13: SSL.TLS1_3_VERSION,
}


@dataclass(frozen=True)
class HandshakeResult:
    version: TlsVersion
    cipher_suite: str
    chain: list[bytes]
    #: The DER OCSP response stapled, None when none was.
    ocsp_staple: bytes | None
    #: A NewSessionTicket was seen in clear (TLS ≤ 1.2), with its lifetime hint; None under TLS 1.3.
    ticket_issued: bool | None
    ticket_lifetime_hint: int | None
    #: A client-initiated renegotiation was asked for and carried out; None when not asked (or TLS 1.3).
    renegotiated: bool | None = None


class _Recorder:
    """A StreamReader stand-in that keeps a bounded copy of what it reads; with ``wait_limit``, no
    read waits longer than that (a server that goes quiet mid-handshake times out then)."""

    def __init__(self, reader: asyncio.StreamReader, wait_limit: float | None = None) -> None:
        self._reader = reader
        self._wait_limit = wait_limit
        self.data = bytearray()

    async def read(self, size: int = -1) -> bytes:
        async with asyncio.timeout(self._wait_limit):
            chunk = await self._reader.read(size)
        if len(self.data) < _RECORD_LIMIT:
            self.data += chunk[: _RECORD_LIMIT - len(self.data)]
        return chunk


def _connection(
    server_name: str | None,
    alpn: Sequence[str],
    *,
    min_version: TlsVersion | None,
    max_version: TlsVersion | None,
    sigalgs: str | None,
    staple: list[bytes],
) -> SSL.Connection:
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_min_proto_version(_PROTOCOL[min_version] if min_version else SSL.TLS1_VERSION)
    if max_version is not None:
        context.set_max_proto_version(_PROTOCOL[max_version])
    context.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
    # We record the chain; judging it is certificate analysis' job, so accept whatever comes.
    context.set_verify(SSL.VERIFY_NONE)
    if sigalgs and _openssl.SSL_CTX_set1_sigalgs_list(context._context, sigalgs.encode()) != 1:
        raise ValueError(f"OpenSSL refused the signature algorithms {sigalgs!r}")

    def keep_staple(_connection: SSL.Connection, ocsp: bytes, _data: Any) -> bool:
        if ocsp:
            staple.append(ocsp)
        return True  # the staple is recorded, never judged here

    context.set_ocsp_client_callback(keep_staple)
    connection = SSL.Connection(context, None)
    connection.set_connect_state()
    connection.request_ocsp()
    if server_name:
        connection.set_tlsext_host_name(server_name.encode("idna"))
    if alpn:
        connection.set_alpn_protos([protocol.encode() for protocol in alpn])
    return connection


async def full_handshake(
    opener: Opener,
    *,
    server_name: str | None,
    alpn: Sequence[str] = (),
    time_limit: float = 10.0,
    min_version: TlsVersion | None = None,
    max_version: TlsVersion | None = None,
    sigalgs: str | None = None,
    renegotiate: bool = False,
    wait_limit: float | None = None,
) -> HandshakeResult | ProbeError:
    """One complete handshake as a modern client (OpenSSL's defaults), or why it failed.

    ``sigalgs`` is an OpenSSL signature-algorithm list (``"ECDSA+SHA256:ECDSA+SHA384"``). With
    ``renegotiate``, a TLS ≤ 1.2 handshake is followed by a renegotiation the client starts.
    ``wait_limit`` bounds the connect and every single read, as for the raw probes: a server that
    accepts and then says nothing is given up after it, not after the whole ``time_limit``.
    """
    staple: list[bytes] = []
    async with AsyncExitStack() as stack:
        connect_limit = time_limit if wait_limit is None else min(time_limit, wait_limit)
        opened = await enter_connection(stack, opener, connect_limit)
        if isinstance(opened, ProbeError):
            return opened
        recorder = _Recorder(opened[0], wait_limit)
        try:
            connection = _connection(
                server_name, alpn, min_version=min_version, max_version=max_version, sigalgs=sigalgs, staple=staple
            )
        except (SSL.Error, ValueError) as exc:
            return ProbeError(phase="tls-handshake", reason=ErrorReason.INTERNAL, message=str(exc))
        stream = TlsStream(cast(asyncio.StreamReader, recorder), opened[1], connection)
        try:
            async with asyncio.timeout(time_limit):
                await stream.handshake()
        except Exception as exc:  # a failed handshake is a fact about the server
            return classify(exc, "tls-handshake")
        chain = connection.get_peer_cert_chain(as_cryptography=True) or []
        version = _VERSIONS.get(connection.get_protocol_version_name(), TlsVersion.TLS12)
        cipher = registry.iana_name(connection.get_cipher_name() or "")
        renegotiated = None
        if renegotiate and version != TlsVersion.TLS13:
            renegotiated = await _renegotiates(stream, min(time_limit, RENEGOTIATION_WAIT))
        await stream.close()
    issued, lifetime = (None, None) if version == TlsVersion.TLS13 else clear_ticket(bytes(recorder.data))
    return HandshakeResult(
        version=version,
        cipher_suite=cipher,
        chain=[certificate.public_bytes(Encoding.DER) for certificate in chain],
        ocsp_staple=staple[0] if staple else None,
        ticket_issued=issued,
        ticket_lifetime_hint=lifetime,
        renegotiated=renegotiated,
    )


async def _renegotiates(stream: TlsStream, wait: float) -> bool:
    """Whether the server carries out a renegotiation we start (OpenSSL 3 servers refuse by default).

    A refusal is a no_renegotiation alert (which OpenSSL turns into an error), a fatal alert, a
    hang-up, or silence until ``wait``.
    """
    connection = stream.connection
    try:
        if not connection.renegotiate():
            return False
        async with asyncio.timeout(wait):
            await stream.handshake()
    except (TlsFailed, TimeoutError, ConnectionError, OSError, SSL.Error):
        return False
    return not connection.renegotiate_pending()


def clear_ticket(server_bytes: bytes) -> tuple[bool, int | None]:
    """Whether the server's TLS ≤ 1.2 handshake bytes hold a NewSessionTicket, and its lifetime hint.

    Only what precedes the server's ChangeCipherSpec is read: after it, records are encrypted.
    Anything malformed ends the search (the handshake itself already succeeded).
    """
    reader = Reader(server_bytes)
    messages = bytearray()
    try:
        while reader.remaining() >= 5:
            content_type = reader.uint(1)
            reader.take(2)
            fragment = reader.vector(2)
            if content_type == ContentType.CHANGE_CIPHER_SPEC:
                break
            if content_type == ContentType.HANDSHAKE:
                messages += fragment
        body = Reader(bytes(messages))
        while body.remaining() >= 4:
            msg_type = body.uint(1)
            message = Reader(body.vector(3))
            if msg_type == HandshakeType.NEW_SESSION_TICKET:
                return True, message.uint(4)
    except ValueError:
        pass
    return False, None
