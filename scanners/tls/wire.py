"""TLS wire constants and the two primitives every encoder and decoder here uses."""

from __future__ import annotations

from enum import IntEnum

from scanners.tls.facts import TlsVersion

#: The protocol version as written on the wire.
VERSION_CODES: dict[TlsVersion, int] = {
    TlsVersion.SSL2: 0x0002,
    TlsVersion.SSL3: 0x0300,
    TlsVersion.TLS10: 0x0301,
    TlsVersion.TLS11: 0x0302,
    TlsVersion.TLS12: 0x0303,
    TlsVersion.TLS13: 0x0304,
}
VERSIONS_BY_CODE: dict[int, TlsVersion] = {code: version for version, code in VERSION_CODES.items()}

#: SHA-256("HelloRetryRequest"): the ServerHello.random that marks a HelloRetryRequest (RFC 8446 §4.1.3).
HELLO_RETRY_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

#: The largest TLSCiphertext fragment a peer may send (RFC 8446 §5.2: 2^14 + 256; RFC 5246 allows + 2048).
MAX_RECORD_LENGTH = 2**14 + 2048


class ContentType(IntEnum):
    CHANGE_CIPHER_SPEC = 20
    ALERT = 21
    HANDSHAKE = 22
    APPLICATION_DATA = 23
    HEARTBEAT = 24


class HandshakeType(IntEnum):
    CLIENT_HELLO = 1
    SERVER_HELLO = 2
    NEW_SESSION_TICKET = 4
    FINISHED = 20
    ENCRYPTED_EXTENSIONS = 8
    CERTIFICATE = 11
    SERVER_KEY_EXCHANGE = 12
    CERTIFICATE_REQUEST = 13
    SERVER_HELLO_DONE = 14
    CERTIFICATE_STATUS = 22


class Extension(IntEnum):
    SERVER_NAME = 0
    TRUNCATED_HMAC = 4
    STATUS_REQUEST = 5
    SUPPORTED_GROUPS = 10
    EC_POINT_FORMATS = 11
    SIGNATURE_ALGORITHMS = 13
    HEARTBEAT = 15
    ALPN = 16
    PADDING = 21
    ENCRYPT_THEN_MAC = 22
    EXTENDED_MASTER_SECRET = 23
    SESSION_TICKET = 35
    SUPPORTED_VERSIONS = 43
    PSK_KEY_EXCHANGE_MODES = 45
    KEY_SHARE = 51
    RENEGOTIATION_INFO = 0xFF01


class AlertDescription(IntEnum):
    CLOSE_NOTIFY = 0
    UNEXPECTED_MESSAGE = 10
    HANDSHAKE_FAILURE = 40
    ILLEGAL_PARAMETER = 47
    DECODE_ERROR = 50
    PROTOCOL_VERSION = 70
    INSUFFICIENT_SECURITY = 71
    INTERNAL_ERROR = 80
    INAPPROPRIATE_FALLBACK = 86
    USER_CANCELED = 90
    MISSING_EXTENSION = 109
    UNRECOGNIZED_NAME = 112
    NO_APPLICATION_PROTOCOL = 120


class Group(IntEnum):
    """Named groups (RFC 8422, RFC 7919, RFC 8446) that the builder can offer."""

    SECT163K1 = 1
    SECT163R2 = 3
    SECT233K1 = 6
    SECT233R1 = 7
    SECT283K1 = 9
    SECT283R1 = 10
    SECT409K1 = 11
    SECT409R1 = 12
    SECT571K1 = 13
    SECT571R1 = 14
    SECP160K1 = 15
    SECP160R1 = 16
    SECP160R2 = 17
    SECP192K1 = 18
    SECP192R1 = 19
    SECP224K1 = 20
    SECP224R1 = 21
    SECP256K1 = 22
    SECP256R1 = 23
    SECP384R1 = 24
    SECP521R1 = 25
    BRAINPOOLP256R1 = 26
    BRAINPOOLP384R1 = 27
    BRAINPOOLP512R1 = 28
    X25519 = 29
    X448 = 30
    FFDHE2048 = 256
    FFDHE3072 = 257
    FFDHE4096 = 258
    FFDHE6144 = 259
    FFDHE8192 = 260
    #: Hybrid post-quantum groups (draft-ietf-tls-ecdhe-mlkem).
    SECP256R1MLKEM768 = 0x11EB
    X25519MLKEM768 = 0x11EC
    SECP384R1MLKEM1024 = 0x11ED


class HandshakeSignal(IntEnum):
    """Cipher-suite code points that signal something instead of naming a suite."""

    EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF
    FALLBACK_SCSV = 0x5600


class Compression(IntEnum):
    NULL = 0
    DEFLATE = 1
    LZS = 64


class Reader:
    """A bounded cursor over bytes: every read checks the length, so no input can read past its end."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, count: int) -> bytes:
        if count < 0 or count > self.remaining():
            raise ValueError(f"needs {count} bytes, {self.remaining()} left")
        chunk = self._data[self._pos : self._pos + count]
        self._pos += count
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def vector(self, length_size: int) -> bytes:
        return self.take(self.uint(length_size))

    def rest(self) -> bytes:
        return self.take(self.remaining())


def vec(data: bytes, length_size: int) -> bytes:
    """``data`` preceded by its length in ``length_size`` bytes (a TLS variable-length vector)."""
    if len(data) >= 1 << (8 * length_size):
        raise ValueError(f"{len(data)} bytes do not fit a {length_size}-byte length")
    return len(data).to_bytes(length_size, "big") + data
