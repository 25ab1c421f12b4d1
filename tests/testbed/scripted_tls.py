"""A scripted TLS peer: answers ClientHellos with chosen ServerHellos, alerts or SSL 2.0 hellos.

Debian's OpenSSL cannot serve SSL 2.0, SSL 3.0, RC4, 3DES or export suites, so detections of
those are proven here. The peer decodes ClientHellos itself (independently of the scanner's
builder) and encodes server messages itself (independently of the scanner's parser). It never
completes a handshake: after its first flight it waits for the client to hang up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal, Self

HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
SSL2, SSL3, TLS10, TLS11, TLS12, TLS13 = 0x0002, 0x0300, 0x0301, 0x0302, 0x0303, 0x0304
_KEY_LENGTHS = {29: 32, 30: 56, 23: 65, 24: 97, 25: 133}


# --- Decoding what the client sent -------------------------------------------------------------


@dataclass
class ClientHelloSeen:
    """A decoded ClientHello (TLS) or CLIENT-HELLO (SSL 2.0)."""

    sslv2: bool
    legacy_version: int
    cipher_suites: list[int]
    random: bytes = b""
    session_id: bytes = b""
    compression_methods: bytes = b"\x00"
    extensions: list[tuple[int, bytes]] = field(default_factory=list)
    record_version: int = 0
    length: int = 0

    def extension(self, kind: int) -> bytes | None:
        return next((data for ext, data in self.extensions if ext == kind), None)

    @property
    def supported_versions(self) -> list[int]:
        data = self.extension(43)
        if data is None:
            return []
        return [int.from_bytes(data[1 + i : 3 + i], "big") for i in range(0, data[0], 2)]

    @property
    def server_name(self) -> str | None:
        data = self.extension(0)
        return data[5:].decode() if data is not None else None

    @property
    def groups(self) -> list[int]:
        data = self.extension(10) or b"\x00\x00"
        return [int.from_bytes(data[2 + i : 4 + i], "big") for i in range(0, len(data) - 2, 2)]

    @property
    def signature_algorithms(self) -> list[int]:
        data = self.extension(13) or b"\x00\x00"
        return [int.from_bytes(data[2 + i : 4 + i], "big") for i in range(0, len(data) - 2, 2)]

    @property
    def key_shares(self) -> dict[int, bytes]:
        data = self.extension(51)
        shares: dict[int, bytes] = {}
        position = 2
        while data is not None and position < len(data):
            group = int.from_bytes(data[position : position + 2], "big")
            size = int.from_bytes(data[position + 2 : position + 4], "big")
            shares[group] = data[position + 4 : position + 4 + size]
            position += 4 + size
        return shares

    @property
    def alpn(self) -> list[str]:
        data = self.extension(16)
        names, position = [], 2
        while data is not None and position < len(data):
            names.append(data[position + 1 : position + 1 + data[position]].decode())
            position += 1 + data[position]
        return names


def decode_client_hello(data: bytes) -> ClientHelloSeen:
    """Decode the first ClientHello in ``data`` (records reassembled); raises ValueError if incomplete."""
    if data[0] & 0x80:
        length = ((data[0] & 0x7F) << 8) | data[1]
        body = data[2 : 2 + length]
        if len(body) < length or body[0] != 1:
            raise ValueError("incomplete or not an SSL 2.0 CLIENT-HELLO")
        version = int.from_bytes(body[1:3], "big")
        specs_length, sid_length = int.from_bytes(body[3:5], "big"), int.from_bytes(body[5:7], "big")
        specs = body[9 : 9 + specs_length]
        kinds = [int.from_bytes(specs[i : i + 3], "big") for i in range(0, specs_length, 3)]
        challenge = body[9 + specs_length + sid_length :]
        return ClientHelloSeen(True, version, kinds, random=challenge, length=2 + length)
    message, position, record_version = b"", 0, 0
    while position + 5 <= len(data):
        record_version = int.from_bytes(data[position + 1 : position + 3], "big")
        size = int.from_bytes(data[position + 3 : position + 5], "big")
        if data[position] != 22 or position + 5 + size > len(data):
            break
        message += data[position + 5 : position + 5 + size]
        position += 5 + size
        if len(message) >= 4 and len(message) >= 4 + int.from_bytes(message[1:4], "big"):
            break
    if len(message) < 4 or message[0] != 1 or len(message) < 4 + int.from_bytes(message[1:4], "big"):
        raise ValueError("incomplete ClientHello")
    body = message[4 : 4 + int.from_bytes(message[1:4], "big")]
    hello = ClientHelloSeen(False, int.from_bytes(body[0:2], "big"), [], record_version=record_version)
    hello.random, cursor = body[2:34], 34
    hello.session_id = body[cursor + 1 : cursor + 1 + body[cursor]]
    cursor += 1 + body[cursor]
    suites_length = int.from_bytes(body[cursor : cursor + 2], "big")
    suites = body[cursor + 2 : cursor + 2 + suites_length]
    hello.cipher_suites = [int.from_bytes(suites[i : i + 2], "big") for i in range(0, suites_length, 2)]
    cursor += 2 + suites_length
    hello.compression_methods = body[cursor + 1 : cursor + 1 + body[cursor]]
    cursor += 1 + body[cursor]
    if cursor < len(body):
        end = cursor + 2 + int.from_bytes(body[cursor : cursor + 2], "big")
        cursor += 2
        while cursor < end:
            kind, size = (
                int.from_bytes(body[cursor : cursor + 2], "big"),
                int.from_bytes(body[cursor + 2 : cursor + 4], "big"),
            )
            hello.extensions.append((kind, body[cursor + 4 : cursor + 4 + size]))
            cursor += 4 + size
    hello.length = position
    return hello


# --- Encoding what the server sends ------------------------------------------------------------


def _vec(data: bytes, size: int) -> bytes:
    return len(data).to_bytes(size, "big") + data


def record(content_type: int, payload: bytes, version: int = TLS12) -> bytes:
    return bytes([content_type]) + version.to_bytes(2, "big") + _vec(payload, 2)


def handshake(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + _vec(body, 3)


def server_hello(
    version: int, suite: int, *, extensions: Sequence[tuple[int, bytes]] = (), random: bytes | None = None
) -> bytes:
    body = version.to_bytes(2, "big") + (random or os.urandom(32)) + _vec(os.urandom(32), 1)
    body += suite.to_bytes(2, "big") + b"\x00"
    if extensions:
        body += _vec(b"".join(kind.to_bytes(2, "big") + _vec(data, 2) for kind, data in extensions), 2)
    return handshake(2, body)


def certificate(chain: Sequence[bytes]) -> bytes:
    return handshake(11, _vec(b"".join(_vec(der, 3) for der in chain), 3))


def server_hello_done() -> bytes:
    return handshake(14, b"")


def alert(description: int, level: int = 2, version: int = TLS12) -> bytes:
    return record(21, bytes([level, description]), version)


def sslv2_server_hello(kinds: Sequence[int], certificate_der: bytes) -> bytes:
    specs = b"".join(kind.to_bytes(3, "big") for kind in kinds)
    connection_id = os.urandom(16)
    body = b"\x04\x00\x01" + SSL2.to_bytes(2, "big")
    body += (
        len(certificate_der).to_bytes(2, "big") + len(specs).to_bytes(2, "big") + len(connection_id).to_bytes(2, "big")
    )
    body += certificate_der + specs + connection_id
    return (0x8000 | len(body)).to_bytes(2, "big") + body


# --- The peer ----------------------------------------------------------------------------------

Refusal = Literal["alert", "close", "handshake-failure"]


@dataclass
class PeerPolicy:
    """How the peer behaves: accepted suites per version (wire code → codes in its preference order)."""

    suites: dict[int, list[int]]
    server_order: bool = True
    #: SSL 2.0 cipher kinds served (None: SSL 2.0 is refused like any unsupported version).
    sslv2_kinds: list[int] | None = None
    chain: list[bytes] = field(default_factory=lambda: [b"\x30\x03\x02\x01\x01"])
    #: How an unsupported version is refused: protocol_version alert, handshake_failure alert, or a hang-up.
    version_refusal: Refusal = "alert"
    #: How "no shared suite" is refused.
    suite_refusal: Refusal = "handshake-failure"
    #: TLS 1.3: answer with a HelloRetryRequest for this group when the client sent no share for it.
    hrr_group: int | None = None
    #: Send a warning-level unrecognized_name alert before every ServerHello.
    warn_first: bool = False
    #: Bugs on purpose: choose this suite whatever was offered; reply with these bytes instead of TLS.
    always_choose: int | None = None
    raw_reply: bytes | None = None
    #: Never answer: read the hello and wait for the client to give up.
    silent: bool = False


class ScriptedTlsServer:
    """``async with ScriptedTlsServer(policy, port) as server``: one asyncio server on 127.0.0.1."""

    def __init__(self, policy: PeerPolicy, port: int, host: str = "127.0.0.1") -> None:
        self.policy = policy
        self.host = host
        self.port = port
        self.hellos: list[ClientHelloSeen] = []
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            data = b""
            while True:
                chunk = await asyncio.wait_for(reader.read(65536), 5)
                if not chunk:
                    return
                data += chunk
                with contextlib.suppress(ValueError, IndexError):
                    hello = decode_client_hello(data)
                    break
            self.hellos.append(hello)
            if self.policy.silent:
                await reader.read(65536)
                return
            reply = self.reply(hello)
            if reply:
                writer.write(reply)
                await writer.drain()
                await asyncio.wait_for(reader.read(65536), 5)  # until the client hangs up
        except (TimeoutError, ConnectionError):
            pass
        finally:
            self.open_now -= 1
            writer.close()
            self._tasks.discard(task)

    def reply(self, hello: ClientHelloSeen) -> bytes:
        policy = self.policy
        if policy.raw_reply is not None:
            return policy.raw_reply
        if hello.sslv2 and hello.legacy_version == SSL2:
            if policy.sslv2_kinds is None:
                return self._refuse(policy.version_refusal, TLS10)
            kinds = [kind for kind in policy.sslv2_kinds if kind in hello.cipher_suites]
            return sslv2_server_hello(kinds, policy.chain[0])
        offered = hello.supported_versions or [v for v in policy.suites if v <= hello.legacy_version]
        version = max((v for v in policy.suites if v in offered), default=None)
        if version is None:
            return self._refuse(policy.version_refusal, min(hello.legacy_version, TLS12))
        suite = self._choose(version, hello.cipher_suites)
        record_version = min(version, TLS12)
        if suite is None:
            return self._refuse(policy.suite_refusal, record_version)
        prefix = alert(112, level=1, version=record_version) if policy.warn_first else b""
        if version == TLS13:
            return prefix + self._tls13(hello, suite)
        flight = server_hello(version, suite) + certificate(policy.chain) + server_hello_done()
        return prefix + record(22, flight, record_version)

    def _choose(self, version: int, offered: list[int]) -> int | None:
        if self.policy.always_choose is not None:
            return self.policy.always_choose
        accepted = self.policy.suites[version]
        if self.policy.server_order:
            return next((suite for suite in accepted if suite in offered), None)
        return next((suite for suite in offered if suite in accepted), None)

    def _tls13(self, hello: ClientHelloSeen, suite: int) -> bytes:
        shares = hello.key_shares
        versions = (43, TLS13.to_bytes(2, "big"))
        if self.policy.hrr_group is not None and self.policy.hrr_group not in shares:
            key_share = (51, self.policy.hrr_group.to_bytes(2, "big"))
            return record(22, server_hello(TLS12, suite, extensions=[versions, key_share], random=HRR_RANDOM))
        group = next(iter(shares))
        key_share = (51, group.to_bytes(2, "big") + _vec(os.urandom(_KEY_LENGTHS.get(group, 32)), 2))
        flight = record(22, server_hello(TLS12, suite, extensions=[versions, key_share]))
        return flight + record(20, b"\x01") + record(23, os.urandom(64))

    @staticmethod
    def _refuse(how: Refusal, record_version: int) -> bytes:
        if how == "close":
            return b""
        return alert(70 if how == "alert" else 40, version=record_version)
