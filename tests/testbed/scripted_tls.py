"""A scripted TLS peer: answers ClientHellos with chosen ServerHellos, alerts or SSL 2.0 hellos.

Debian's OpenSSL cannot serve SSL 2.0, SSL 3.0, RC4, 3DES or export suites, TLS compression, a
hello without renegotiation_info, a heartbeat over-read, chosen DH primes, an early
ChangeCipherSpec taken, a Bleichenbacher oracle or a TLS 1.3 server without the downgrade
sentinel, so detections of those are proven here. The peer decodes ClientHellos itself
(independently of the scanner's builder) and encodes server messages itself (independently of
the scanner's parser). It never completes a handshake: after its first flight it answers
heartbeats, ChangeCipherSpecs and an RSA ClientKeyExchange as its policy says, then waits for
the client to hang up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from cryptography.hazmat.primitives.asymmetric import rsa

from scanners.tls import registry
from tests.testbed.loopback_server import LoopbackServer

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
    version: int,
    suite: int,
    *,
    extensions: Sequence[tuple[int, bytes]] = (),
    random: bytes | None = None,
    compression: int = 0,
) -> bytes:
    body = version.to_bytes(2, "big") + (random or os.urandom(32)) + _vec(os.urandom(32), 1)
    body += suite.to_bytes(2, "big") + bytes([compression])
    if extensions:
        body += _vec(b"".join(kind.to_bytes(2, "big") + _vec(data, 2) for kind, data in extensions), 2)
    return handshake(2, body)


def certificate(chain: Sequence[bytes]) -> bytes:
    return handshake(11, _vec(b"".join(_vec(der, 3) for der in chain), 3))


def certificate_request(version: int) -> bytes:
    """Asking for an RSA client certificate from any authority (TLS 1.2 names rsa_pkcs1_sha256)."""
    algorithms = _vec(b"\x04\x01", 2) if version >= TLS12 else b""
    return handshake(13, _vec(b"\x01", 1) + algorithms + _vec(b"", 2))


def server_hello_done() -> bytes:
    return handshake(14, b"")


def _signature(version: int) -> bytes:
    # Not a real signature: the client under test never verifies one (rsa_pkcs1_sha256 + junk).
    return (b"\x04\x01" if version >= TLS12 else b"") + _vec(os.urandom(64), 2)


def ecdhe_key_exchange(version: int, curve: int) -> bytes:
    point = os.urandom(_KEY_LENGTHS.get(curve, 65))
    return handshake(12, b"\x03" + curve.to_bytes(2, "big") + _vec(point, 1) + _signature(version))


def dhe_key_exchange(version: int, prime: bytes, generator: bytes) -> bytes:
    public = os.urandom(len(prime))
    return handshake(12, _vec(prime, 2) + _vec(generator, 2) + _vec(public, 2) + _signature(version))


def heartbeat_response(payload: bytes, version: int) -> bytes:
    return record(24, b"\x02" + len(payload).to_bytes(2, "big") + payload + os.urandom(16), version)


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


def openssl_group_prime(name: str) -> bytes:
    """The prime of an OpenSSL built-in DH group (``ffdhe2048``, ``modp_2048``, ``dh_1024_160`` …).

    Read from ``openssl genpkey`` through ``openssl asn1parse``: independent of the scanner's table.
    """
    pem = subprocess.run(
        ["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", f"group:{name}"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    parsed = subprocess.run(["openssl", "asn1parse"], input=pem, capture_output=True, check=True, text=True).stdout
    first = next(line for line in parsed.splitlines() if "INTEGER" in line)
    return bytes.fromhex(first.rsplit(":", 1)[1])


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
    #: Refuse (like "no shared suite") any hello offering more suites than this: the servers that
    #: cannot take long hellos (testssl.sh #806, a bank refusing 257 or more suites).
    max_suites: int | None = None
    #: TLS 1.3: answer with a HelloRetryRequest for this group when the client sent no share for it.
    hrr_group: int | None = None
    #: Send a warning-level unrecognized_name alert before every ServerHello.
    warn_first: bool = False
    #: Bugs on purpose: choose this suite whatever was offered; reply with these bytes instead of TLS.
    always_choose: int | None = None
    raw_reply: bytes | None = None
    #: Never answer: read the hello and wait for the client to give up.
    silent: bool = False
    #: Extensions answered when the client sends them (encrypt_then_mac only with CBC suites):
    #: renegotiation_info, extended_master_secret, encrypt_then_mac and session_ticket by default.
    answers: frozenset[int] = frozenset({0xFF01, 23, 22, 35})
    #: Compression methods the server would choose, in its preference (the client's list decides).
    compression: tuple[int, ...] = ()
    #: RFC 6520: "none" ignores the extension; "honest" answers only well-formed requests;
    #: "bleeds" answers any request with payload_length bytes from its buffer (CVE-2014-0160).
    heartbeat: Literal["none", "honest", "bleeds"] = "none"
    #: TLS ≤ 1.2 ECDHE curves, and TLS 1.3 groups, in the server's order.
    curves: tuple[int, ...] = (29, 23, 24)
    tls13_groups: tuple[int, ...] = (29, 23, 30, 24, 25)
    #: Follow the client's group order instead of the server's.
    client_group_order: bool = False
    #: DHE parameters: the server's own (prime, generator), and RFC 7919 group → prime it honours.
    dh_params: tuple[bytes, bytes] | None = None
    ffdhe: dict[int, bytes] = field(default_factory=dict)
    #: Refuse a TLS_FALLBACK_SCSV hello below the highest version with inappropriate_fallback.
    fallback_scsv: bool = True
    #: Authentication (``ECDSA``, ``RSA``, ``DSS``) → chain, for a server with several certificates.
    chains: dict[str, list[bytes]] = field(default_factory=dict)
    #: A ChangeCipherSpec before the key exchange: "refuse" it (unexpected_message, as RFC 5246
    #: says) or "take" it (CVE-2014-0224: the next record then fails its MAC).
    #: "refuse-alone": refuse a lone one, but fall silent when it comes in one segment with more
    #: records (what Prosody 0.12 does over a network, where both of a client's writes arrive together).
    early_ccs: Literal["refuse", "take", "refuse-alone"] = "refuse"
    #: The private key of ``chain``'s leaf, to decrypt an RSA ClientKeyExchange. How its padding
    #: shows: "honest" (never: every Finished fails alike), "strong" (a bad start, a missing
    #: separator and a wrong length each get their own alert), "weak" (every malformed padding
    #: gets a hang-up; only valid blocks reach the Finished) — ROBOT's oracles.
    rsa_key: rsa.RSAPrivateKey | None = None
    rsa_oracle: Literal["honest", "strong", "weak"] = "honest"
    #: A TLS 1.3 server answering an older hello ends ServerHello.random with DOWNGRD (RFC 8446 §4.1.3).
    downgrade_sentinel: bool = True
    #: TLS ≤ 1.2: ask for a client certificate (CertificateRequest), as s2s listeners do. A key
    #: exchange that comes without the client's Certificate message first is then met with silence
    #: (Prosody's s2s waits for it that way).
    certificate_request: bool = False


#: How the "strong" oracle answers each malformed padding (the valid and wrong-version blocks go on).
_STRONG_ALERTS = {"bad-start": 51, "no-separator": 47, "wrong-length": 50}


@dataclass
class _AfterFlight:
    key_exchange: bool = False
    keys_changed: bool = False
    client_certificate: bool = False
    stalled: bool = False


class ScriptedTlsServer(LoopbackServer):
    """``async with ScriptedTlsServer(policy, port) as server``: one asyncio server on 127.0.0.1."""

    def __init__(self, policy: PeerPolicy, port: int, host: str = "127.0.0.1") -> None:
        super().__init__(port, host)
        self.policy = policy
        self.hellos: list[ClientHelloSeen] = []
        #: payload_length of every heartbeat request the "bleeds" policy answered.
        self.overread_requests: list[int] = []
        #: How each RSA ClientKeyExchange decrypted (``valid``, ``bad-start`` …).
        self.paddings: list[str] = []
        self.open_now = 0
        self.most_open = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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
                await self._after_flight(reader, writer, hello)
        except (TimeoutError, ConnectionError):
            pass
        finally:
            self.open_now -= 1

    async def _after_flight(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, hello: ClientHelloSeen
    ) -> None:
        """Wait for the client to hang up, answering what it sends as the policy says."""
        buffer = b""
        state = _AfterFlight()
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), 5)
            if not chunk:
                return
            buffer += chunk
            if self._stalls(buffer, state):
                continue
            while len(buffer) >= 5 and len(buffer) >= 5 + int.from_bytes(buffer[3:5], "big"):
                size = int.from_bytes(buffer[3:5], "big")
                content_type, body, buffer = buffer[0], buffer[5 : 5 + size], buffer[5 + size :]
                answer, done = self._answer(content_type, body, hello, state)
                if answer:
                    writer.write(answer)
                    await writer.drain()
                if done:
                    return

    def _stalls(self, buffer: bytes, state: _AfterFlight) -> bool:
        """Whether the "refuse-alone" policy has fallen silent (for good) on what came in."""
        if self.policy.early_ccs != "refuse-alone" or state.key_exchange:
            return False
        first_size = 5 + int.from_bytes(buffer[3:5], "big") if len(buffer) >= 5 else len(buffer) + 1
        if state.stalled or (buffer[:1] == b"\x14" and len(buffer) > first_size):
            state.stalled = True
        return state.stalled

    def _answer(
        self, content_type: int, body: bytes, hello: ClientHelloSeen, state: _AfterFlight
    ) -> tuple[bytes, bool]:
        """(what to send, whether to hang up) for one record the client sent after the flight."""
        version = min(hello.legacy_version, TLS12)
        if state.keys_changed:
            return alert(20, version=version), True  # nothing decrypts under keys no one has
        if content_type == 24:
            if self.heartbeat_enabled(hello) and len(body) >= 3:
                return self._heartbeat(body, version), False
            return b"", False
        if content_type == 20:
            if state.key_exchange or self.policy.early_ccs == "take":
                state.keys_changed = True
                return b"", False
            return alert(10, version=version), True
        if content_type == 22:
            return self._handshake_messages(body, hello, state, version)
        return b"", False

    def _handshake_messages(
        self, body: bytes, hello: ClientHelloSeen, state: _AfterFlight, version: int
    ) -> tuple[bytes, bool]:
        """The client's Certificate and ClientKeyExchange, which may share one record."""
        while len(body) >= 4:
            msg_type, size = body[0], int.from_bytes(body[1:4], "big")
            message, body = body[4 : 4 + size], body[4 + size :]
            if msg_type == 11:
                state.client_certificate = True
            elif msg_type == 16:
                if self.policy.certificate_request and not state.client_certificate:
                    return b"", False  # still waiting for the Certificate it asked for
                state.key_exchange = True
                verdict = self._rsa_padding(message, hello.legacy_version)
                self.paddings.append(verdict)
                return self._oracle(verdict, version)
        return b"", False

    def _rsa_padding(self, message: bytes, client_version: int) -> str:
        """How the premaster secret decrypts: ``valid``, ``bad-start``, ``no-separator``,
        ``wrong-length``, ``wrong-version`` (or ``no-key``)."""
        key = self.policy.rsa_key
        if key is None or len(message) < 2:
            return "no-key"
        numbers = key.private_numbers()
        size = (key.key_size + 7) // 8
        ciphertext = int.from_bytes(message[2 : 2 + int.from_bytes(message[:2], "big")], "big")
        block = pow(ciphertext, numbers.d, numbers.public_numbers.n).to_bytes(size, "big")
        if block[:2] != b"\x00\x02":
            return "bad-start"
        separator = block.find(b"\x00", 2)
        if separator < 0:
            return "no-separator"
        secret = block[separator + 1 :]
        if separator < 10 or len(secret) != 48:
            return "wrong-length"
        return "valid" if secret[:2] == client_version.to_bytes(2, "big") else "wrong-version"

    def _oracle(self, padding: str, version: int) -> tuple[bytes, bool]:
        oracle = self.policy.rsa_oracle
        if oracle == "strong" and padding in _STRONG_ALERTS:
            return alert(_STRONG_ALERTS[padding], version=version), True
        if oracle == "weak" and padding in ("bad-start", "no-separator", "wrong-length"):
            return b"", True
        return b"", False  # (an honest server goes on with a random secret: its Finished will fail)

    def heartbeat_enabled(self, hello: ClientHelloSeen) -> bool:
        return self.policy.heartbeat != "none" and hello.extension(15) is not None

    def _heartbeat(self, body: bytes, version: int) -> bytes:
        claimed = int.from_bytes(body[1:3], "big")
        payload = body[3:]
        if self.policy.heartbeat == "honest":
            return heartbeat_response(payload[:claimed], version) if 3 + claimed + 16 <= len(body) else b""
        # The bug: copy claimed bytes from where the payload starts, past the record if need be.
        memory = payload + b"--server-memory-beyond-the-record--" * 4
        self.overread_requests.append(claimed)
        return heartbeat_response(memory[:claimed], version)

    def reply(self, hello: ClientHelloSeen) -> bytes:
        policy = self.policy
        if policy.raw_reply is not None:
            return policy.raw_reply
        if hello.sslv2 and hello.legacy_version == SSL2:
            if policy.sslv2_kinds is None:
                return self._refuse(policy.version_refusal, TLS10)
            kinds = [kind for kind in policy.sslv2_kinds if kind in hello.cipher_suites]
            return sslv2_server_hello(kinds, policy.chain[0])
        if policy.max_suites is not None and len(hello.cipher_suites) > policy.max_suites:
            return self._refuse(policy.suite_refusal, min(hello.legacy_version, TLS12))
        offered = hello.supported_versions or [v for v in policy.suites if v <= hello.legacy_version]
        version = max((v for v in policy.suites if v in offered), default=None)
        if version is None:
            return self._refuse(policy.version_refusal, min(hello.legacy_version, TLS12))
        if policy.fallback_scsv and 0x5600 in hello.cipher_suites and version < max(policy.suites):
            return alert(86, version=min(version, TLS12))
        suite = self._choose(version, hello.cipher_suites)
        record_version = min(version, TLS12)
        if suite is None:
            return self._refuse(policy.suite_refusal, record_version)
        prefix = alert(112, level=1, version=record_version) if policy.warn_first else b""
        if version == TLS13:
            return prefix + self._tls13(hello, suite)
        flight = self._legacy_flight(hello, version, suite)
        if flight is None:
            return self._refuse(policy.suite_refusal, record_version)
        return prefix + record(22, flight, record_version)

    def _legacy_flight(self, hello: ClientHelloSeen, version: int, suite: int) -> bytes | None:
        policy = self.policy
        info = registry.by_code(suite)
        kx = info.kx if info is not None else "RSA"
        key_exchange = b""
        if kx == "ECDHE":
            curve = self._group(policy.curves, hello.groups)
            if curve is None:
                return None
            key_exchange = ecdhe_key_exchange(version, curve)
        elif kx in ("DHE", "DHE_PSK"):
            chosen = self._group(list(policy.ffdhe), hello.groups)
            own = policy.dh_params or (b"", b"")
            prime, generator = (policy.ffdhe[chosen], b"\x02") if chosen is not None else own
            # Without parameters the flight has no ServerKeyExchange, as before DH primes were scripted.
            key_exchange = dhe_key_exchange(version, prime, generator) if prime else b""
        cbc = info is not None and info.cipher.endswith("_CBC")
        answers = [
            (kind, b"\x00" if kind == 0xFF01 else b"")
            for kind, _ in hello.extensions
            if kind in policy.answers and (kind != 22 or cbc)
        ]
        if self.heartbeat_enabled(hello):
            answers.append((15, b"\x01"))
        compression = next((m for m in policy.compression if m in hello.compression_methods), 0)
        chain = policy.chains.get(info.auth if info is not None else "", policy.chain)
        random = None
        if policy.downgrade_sentinel and TLS13 in policy.suites:
            random = os.urandom(24) + (b"DOWNGRD\x01" if version == TLS12 else b"DOWNGRD\x00")
        return (
            server_hello(version, suite, extensions=answers, compression=compression, random=random)
            + certificate(chain)
            + key_exchange
            + (certificate_request(version) if policy.certificate_request else b"")
            + server_hello_done()
        )

    def _group(self, ours: Sequence[int], theirs: Sequence[int]) -> int | None:
        if self.policy.client_group_order:
            return next((group for group in theirs if group in ours), None)
        return next((group for group in ours if group in theirs), None)

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
        hrr = self.policy.hrr_group
        if hrr is not None and hrr not in shares and hrr in hello.groups:
            return self._hello_retry(suite, hrr)
        group = next((share for share in shares if share in self.policy.tls13_groups), None)
        if group is None:
            wanted = self._group(self.policy.tls13_groups, hello.groups)
            if wanted is None:
                return alert(40)
            return self._hello_retry(suite, wanted)
        key_share = (51, group.to_bytes(2, "big") + _vec(os.urandom(_KEY_LENGTHS.get(group, 32)), 2))
        flight = record(22, server_hello(TLS12, suite, extensions=[versions, key_share]))
        return flight + record(20, b"\x01") + record(23, os.urandom(64))

    @staticmethod
    def _hello_retry(suite: int, group: int) -> bytes:
        extensions = [(43, TLS13.to_bytes(2, "big")), (51, group.to_bytes(2, "big"))]
        return record(22, server_hello(TLS12, suite, extensions=extensions, random=HRR_RANDOM))

    @staticmethod
    def _refuse(how: Refusal, record_version: int) -> bytes:
        if how == "close":
            return b""
        return alert(70 if how == "alert" else 40, version=record_version)
