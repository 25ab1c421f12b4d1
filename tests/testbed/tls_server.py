"""A real TLS server on loopback (pyOpenSSL over asyncio), for what needs complete handshakes.

The scripted peer (``scripted_tls``) never completes a handshake; some facts only exist after
one: a TLS 1.2 NewSessionTicket's lifetime hint, an OCSP staple in a TLS 1.3 Certificate, a
choice between several certificates by signature algorithm. Prosody cannot be told a ticket
lifetime or handed a staple, so this server can: ``session_timeout`` (OpenSSL sends it as the
TLS 1.2 ticket lifetime hint), ``ocsp_staple`` (DER, stapled when asked), and several
(certificate chain, key) pairs, one per key type. Direct TLS only (no XMPP prelude).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from OpenSSL import SSL

from tests.testbed.loopback_server import LoopbackServer

_RECORD = 16 * 1024 + 2048


@dataclass(frozen=True)
class TlsServerPolicy:
    #: (chain PEM path, key PEM path) pairs; OpenSSL keeps one per key type (RSA, ECDSA …).
    identities: Sequence[tuple[Path, Path]]
    max_version: int = SSL.TLS1_3_VERSION
    min_version: int = SSL.TLS1_2_VERSION
    session_timeout: int | None = None
    tickets: bool = True
    ocsp_staple: bytes | None = None
    cipher_list: bytes = b"ECDHE+AESGCM:ECDHE+CHACHA20"
    extra: dict[str, Any] = field(default_factory=dict)


class RealTlsServer(LoopbackServer):
    """``async with RealTlsServer(policy, port) as server``: completes handshakes, then waits."""

    def __init__(self, policy: TlsServerPolicy, port: int, host: str = "127.0.0.1") -> None:
        super().__init__(port, host)
        self.policy = policy
        self.handshakes = 0
        self._context = self._make_context()

    def _make_context(self) -> SSL.Context:
        policy = self.policy
        context = SSL.Context(SSL.TLS_SERVER_METHOD)
        context.set_min_proto_version(policy.min_version)
        context.set_max_proto_version(policy.max_version)
        context.set_cipher_list(policy.cipher_list)
        for chain_path, key_path in policy.identities:
            # Each pair fills the slot of its key type, chain included (SSL_CTX_use_certificate_chain_file).
            context.use_certificate_chain_file(str(chain_path))
            context.use_privatekey_file(str(key_path))
        if policy.session_timeout is not None:
            context.set_timeout(policy.session_timeout)
        if not policy.tickets:
            context.set_options(SSL.OP_NO_TICKET)
        if policy.ocsp_staple is not None:
            staple = policy.ocsp_staple
            context.set_ocsp_server_callback(lambda _connection, _data: staple)
        return context

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = SSL.Connection(self._context, None)
        connection.set_accept_state()
        try:
            async with asyncio.timeout(5):
                while True:
                    try:
                        connection.do_handshake()
                        break
                    except SSL.WantReadError:
                        await self._flush(connection, writer)
                        data = await reader.read(_RECORD)
                        if not data:
                            return
                        connection.bio_write(data)
                self.handshakes += 1
                await self._flush(connection, writer)
                while await reader.read(_RECORD):  # until the client hangs up
                    pass
        except (TimeoutError, ConnectionError, SSL.Error):
            pass

    @staticmethod
    async def _flush(connection: SSL.Connection, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                data = connection.bio_read(_RECORD)
            except SSL.WantReadError:
                break
            writer.write(data)
        await writer.drain()
