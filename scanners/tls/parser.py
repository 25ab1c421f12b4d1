"""A sans-I/O parser for what a server sends in reply to a ClientHello.

``FlightParser.feed(bytes)`` returns the messages completed so far: ServerHello (HelloRetryRequest
included), Certificate, ServerKeyExchange, CertificateStatus, ServerHelloDone, other handshake
messages, alerts, ChangeCipherSpec, encrypted records, and the SSL 2.0 SERVER-HELLO or ERROR.
Everything is bounded (record size, message size, total bytes, certificate count) and every
malformation raises ``TlsParseError``; nothing else escapes, whatever the input.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from scanners.tls.wire import (
    HELLO_RETRY_RANDOM,
    MAX_RECORD_LENGTH,
    ContentType,
    Extension,
    HandshakeType,
    Reader,
)

#: Bounds for one server flight: a certificate chain fits easily, a flood does not.
MAX_FLIGHT_BYTES = 512 * 1024
MAX_HANDSHAKE_MESSAGE = 256 * 1024
MAX_CERTIFICATES = 64
#: Messages, alerts and records one flight may yield. A real flight is a handful; without this bound
#: two bytes of input (a warning alert) became one Python object, and 512 KiB of them ~20 MiB of objects.
MAX_EVENTS = 256


class TlsParseError(ValueError):
    """The server's bytes are not well-formed TLS (or SSL 2.0); the message says where."""


class TlsBoundExceeded(TlsParseError):
    """Well-formed or not, the reply exceeds a bound (size, count) no honest server reaches."""


@dataclass(frozen=True)
class ServerHello:
    legacy_version: int
    random: bytes
    session_id: bytes
    cipher_suite: int
    compression_method: int
    #: (type, data) in the order sent; duplicates are kept, they are evidence too.
    extensions: tuple[tuple[int, bytes], ...] = ()

    @property
    def is_hello_retry_request(self) -> bool:
        return self.random == HELLO_RETRY_RANDOM

    def extension(self, kind: int) -> bytes | None:
        return next((data for ext, data in self.extensions if ext == kind), None)

    @property
    def selected_version(self) -> int | None:
        """The supported_versions choice (TLS 1.3 servers), None when the extension is absent."""
        data = self.extension(Extension.SUPPORTED_VERSIONS)
        return int.from_bytes(data, "big") if data is not None and len(data) == 2 else None

    @property
    def version(self) -> int:
        """The negotiated version: supported_versions if sent, else legacy_version."""
        selected = self.selected_version
        return selected if selected is not None else self.legacy_version

    @property
    def key_share_group(self) -> int | None:
        data = self.extension(Extension.KEY_SHARE)
        return int.from_bytes(data[:2], "big") if data is not None and len(data) >= 2 else None

    @property
    def alpn(self) -> str | None:
        data = self.extension(Extension.ALPN)
        if data is None or len(data) < 3:
            return None
        return data[3 : 3 + data[2]].decode("ascii", "replace")


@dataclass(frozen=True)
class Certificate:
    #: DER certificates in the order sent.
    chain: tuple[bytes, ...]


@dataclass(frozen=True)
class ServerKeyExchange:
    #: Interpreted with the negotiated suite by ``key_exchange.parse_server_key_exchange``.
    body: bytes


@dataclass(frozen=True)
class CertificateStatus:
    status_type: int
    #: The DER OCSPResponse for status_type 1 (ocsp).
    response: bytes


@dataclass(frozen=True)
class ServerHelloDone:
    pass


@dataclass(frozen=True)
class OtherHandshake:
    msg_type: int
    body: bytes


@dataclass(frozen=True)
class Alert:
    level: int
    description: int

    @property
    def fatal(self) -> bool:
        return self.level != 1


@dataclass(frozen=True)
class ChangeCipherSpec:
    pass


@dataclass(frozen=True)
class EncryptedRecord:
    content_type: int
    length: int


@dataclass(frozen=True)
class Sslv2ServerHello:
    session_id_hit: int
    certificate_type: int
    version: int
    certificate: bytes
    cipher_kinds: tuple[int, ...]
    connection_id: bytes


@dataclass(frozen=True)
class Sslv2Error:
    code: int


Event = (
    ServerHello
    | Certificate
    | ServerKeyExchange
    | CertificateStatus
    | ServerHelloDone
    | OtherHandshake
    | Alert
    | ChangeCipherSpec
    | EncryptedRecord
    | Sslv2ServerHello
    | Sslv2Error
)


def parse_server_hello(body: bytes) -> ServerHello:
    try:
        reader = Reader(body)
        legacy_version = reader.uint(2)
        random = reader.take(32)
        session_id = reader.vector(1)
        if len(session_id) > 32:
            raise TlsParseError(f"ServerHello session id of {len(session_id)} bytes")
        cipher_suite = reader.uint(2)
        compression = reader.uint(1)
        extensions: list[tuple[int, bytes]] = []
        if reader.remaining():
            block = Reader(reader.vector(2))
            while block.remaining():
                kind = block.uint(2)
                extensions.append((kind, block.vector(2)))
        if reader.remaining():
            raise TlsParseError(f"{reader.remaining()} bytes after the ServerHello extensions")
    except TlsParseError:
        raise
    except ValueError as exc:
        raise TlsParseError(f"malformed ServerHello: {exc}") from exc
    return ServerHello(legacy_version, random, session_id, cipher_suite, compression, tuple(extensions))


def parse_certificate(body: bytes, *, tls13: bool = False) -> Certificate:
    """A Certificate message; TLS 1.3's form has a request context and per-entry extensions."""
    try:
        reader = Reader(body)
        if tls13:
            reader.vector(1)
        entries = Reader(reader.vector(3))
        if reader.remaining():
            raise TlsParseError("bytes after the certificate list")
        chain: list[bytes] = []
        while entries.remaining():
            if len(chain) == MAX_CERTIFICATES:
                raise TlsBoundExceeded(f"more than {MAX_CERTIFICATES} certificates")
            chain.append(entries.vector(3))
            if tls13:
                entries.vector(2)
    except TlsParseError:
        raise
    except ValueError as exc:
        raise TlsParseError(f"malformed Certificate: {exc}") from exc
    return Certificate(tuple(chain))


def parse_certificate_status(body: bytes) -> CertificateStatus:
    try:
        reader = Reader(body)
        status_type = reader.uint(1)
        response = reader.vector(3)
        if reader.remaining():
            raise TlsParseError("bytes after the OCSP response")
    except TlsParseError:
        raise
    except ValueError as exc:
        raise TlsParseError(f"malformed CertificateStatus: {exc}") from exc
    return CertificateStatus(status_type, response)


def parse_sslv2_message(body: bytes) -> Sslv2ServerHello | Sslv2Error:
    try:
        reader = Reader(body)
        msg_type = reader.uint(1)
        if msg_type == 0:  # SSL 2.0 ERROR
            return Sslv2Error(reader.uint(2))
        if msg_type != 4:
            raise TlsParseError(f"SSL 2.0 message type {msg_type} where SERVER-HELLO was expected")
        session_id_hit = reader.uint(1)
        certificate_type = reader.uint(1)
        version = reader.uint(2)
        cert_length, specs_length, connection_id_length = reader.uint(2), reader.uint(2), reader.uint(2)
        if specs_length % 3:
            raise TlsParseError(f"SSL 2.0 cipher specs of {specs_length} bytes (not a multiple of 3)")
        certificate = reader.take(cert_length)
        specs = Reader(reader.take(specs_length))
        kinds = tuple(specs.uint(3) for _ in range(specs_length // 3))
        connection_id = reader.take(connection_id_length)
    except TlsParseError:
        raise
    except ValueError as exc:
        raise TlsParseError(f"malformed SSL 2.0 SERVER-HELLO: {exc}") from exc
    return Sslv2ServerHello(session_id_hit, certificate_type, version, certificate, kinds, connection_id)


@dataclass
class FlightParser:
    """Feed it the server's bytes as they arrive; it returns each message once it is complete."""

    max_bytes: int = MAX_FLIGHT_BYTES
    _buffer: bytearray = field(default_factory=bytearray)
    _handshake: bytearray = field(default_factory=bytearray)
    _alert: bytearray = field(default_factory=bytearray)
    _total: int = 0
    _format: str | None = None  # "tls" or "sslv2", decided by the first byte
    _tls13: bool = False
    _done: bool = False
    _events: int = 0

    def feed(self, data: bytes) -> list[Event]:
        self._total += len(data)
        if self._total > self.max_bytes:
            raise TlsBoundExceeded(f"the server sent more than {self.max_bytes} bytes before its flight ended")
        if self._done:
            return []
        self._buffer += data
        if self._format is None and self._buffer:
            self._format = self._detect(self._buffer[0])
        return self._sslv2() if self._format == "sslv2" else self._records()

    @staticmethod
    def _detect(first: int) -> str:
        if first & 0x80:
            return "sslv2"
        if first in (ContentType.ALERT, ContentType.HANDSHAKE, ContentType.CHANGE_CIPHER_SPEC):
            return "tls"
        shown = repr(bytes([first]))
        raise TlsParseError(f"the reply is not TLS (first byte {shown}); a plain-text protocol answered?")

    def _sslv2(self) -> list[Event]:
        if len(self._buffer) < 2:
            return []
        length = ((self._buffer[0] & 0x7F) << 8) | self._buffer[1]
        if len(self._buffer) < 2 + length:
            return []
        self._done = True
        return [parse_sslv2_message(bytes(self._buffer[2 : 2 + length]))]

    def _counted(self, event: Event) -> Event:
        self._events += 1
        if self._events > MAX_EVENTS:
            raise TlsBoundExceeded(f"more than {MAX_EVENTS} messages, alerts and records in one flight")
        return event

    def _records(self) -> list[Event]:
        events: list[Event] = []
        while len(self._buffer) >= 5:
            content_type, major, length = self._buffer[0], self._buffer[1], int.from_bytes(self._buffer[3:5], "big")
            if major != 3:
                raise TlsParseError(f"record version {major}.{self._buffer[2]} is not SSL 3.0 or TLS")
            if length > MAX_RECORD_LENGTH:
                raise TlsBoundExceeded(f"record of {length} bytes exceeds the TLS maximum")
            if len(self._buffer) < 5 + length:
                break
            fragment = bytes(self._buffer[5 : 5 + length])
            del self._buffer[: 5 + length]
            events.extend(self._record(content_type, fragment))
        return events

    def _record(self, content_type: int, fragment: bytes) -> list[Event]:
        if content_type == ContentType.HANDSHAKE and not self._tls13:
            if not fragment:
                raise TlsParseError("empty handshake record")
            self._handshake += fragment
            return self._messages()
        if content_type == ContentType.ALERT:
            self._alert += fragment
            alerts: list[Event] = []
            while len(self._alert) >= 2:
                alerts.append(self._counted(Alert(self._alert[0], self._alert[1])))
                del self._alert[:2]
            return alerts
        if content_type == ContentType.CHANGE_CIPHER_SPEC:
            return [self._counted(ChangeCipherSpec())]
        if content_type in (ContentType.APPLICATION_DATA, ContentType.HEARTBEAT, ContentType.HANDSHAKE):
            return [self._counted(EncryptedRecord(content_type, len(fragment)))]
        raise TlsParseError(f"unknown record content type {content_type}")

    def _messages(self) -> list[Event]:
        events: list[Event] = []
        while len(self._handshake) >= 4:
            msg_type = self._handshake[0]
            length = int.from_bytes(self._handshake[1:4], "big")
            if length > MAX_HANDSHAKE_MESSAGE:
                raise TlsBoundExceeded(f"handshake message of {length} bytes")
            if len(self._handshake) < 4 + length:
                break
            body = bytes(self._handshake[4 : 4 + length])
            del self._handshake[: 4 + length]
            events.append(self._counted(self._message(msg_type, body)))
        return events

    def _message(self, msg_type: int, body: bytes) -> Event:
        if msg_type == HandshakeType.SERVER_HELLO:
            hello = parse_server_hello(body)
            # From a TLS 1.3 ServerHello on, every handshake record is encrypted.
            self._tls13 = hello.version == 0x0304 and not hello.is_hello_retry_request
            return hello
        if msg_type == HandshakeType.CERTIFICATE:
            return parse_certificate(body)
        if msg_type == HandshakeType.SERVER_KEY_EXCHANGE:
            return ServerKeyExchange(body)
        if msg_type == HandshakeType.CERTIFICATE_STATUS:
            return parse_certificate_status(body)
        if msg_type == HandshakeType.SERVER_HELLO_DONE:
            if body:
                raise TlsParseError("ServerHelloDone with a body")
            return ServerHelloDone()
        return OtherHandshake(msg_type, body)


@dataclass(frozen=True)
class KeyExchangeParams:
    """The server's ephemeral key-exchange parameters from a ServerKeyExchange."""

    kind: str  # "ecdhe", "dhe", "rsa" (export RSA key) or "psk" (an identity hint only)
    group: int | None = None
    dh_prime: bytes | None = None
    dh_generator: bytes | None = None
    public: bytes = b""
    rsa_modulus: bytes | None = None
    rsa_exponent: bytes | None = None
    psk_identity_hint: bytes | None = None
    signature_algorithm: int | None = None
    signature: bytes = b""


def parse_server_key_exchange(body: bytes, kx: str, *, tls12: bool, signed: bool) -> KeyExchangeParams:
    """Interpret a ServerKeyExchange for the registry's key exchange ``kx`` of the chosen suite.

    ``signed`` is False for anonymous and PSK-authenticated suites, whose parameters carry no signature.
    """
    try:
        reader = Reader(body)
        hint = reader.vector(2) if kx.endswith("PSK") else None
        if kx in ("ECDHE", "ECDHE_PSK"):
            curve_type = reader.uint(1)
            if curve_type != 3:
                raise TlsParseError(f"ECDHE parameters with curve type {curve_type} (only named curves are parsed)")
            params = KeyExchangeParams("ecdhe", group=reader.uint(2), public=reader.vector(1), psk_identity_hint=hint)
        elif kx in ("DHE", "DHE_PSK"):
            prime, generator, public = reader.vector(2), reader.vector(2), reader.vector(2)
            params = KeyExchangeParams(
                "dhe", dh_prime=prime, dh_generator=generator, public=public, psk_identity_hint=hint
            )
        elif kx == "RSA":
            modulus, exponent = reader.vector(2), reader.vector(2)
            params = KeyExchangeParams("rsa", rsa_modulus=modulus, rsa_exponent=exponent)
        elif kx in ("PSK", "RSA_PSK"):
            params = KeyExchangeParams("psk", psk_identity_hint=hint)
        else:
            raise TlsParseError(f"no ServerKeyExchange parser for key exchange {kx}")
        if signed:
            algorithm = reader.uint(2) if tls12 else None
            params = dataclasses.replace(params, signature_algorithm=algorithm, signature=reader.vector(2))
        if reader.remaining():
            raise TlsParseError(f"{reader.remaining()} bytes after the ServerKeyExchange parameters")
    except TlsParseError:
        raise
    except ValueError as exc:
        raise TlsParseError(f"malformed ServerKeyExchange: {exc}") from exc
    return params
