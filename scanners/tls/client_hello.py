"""Hand-built ClientHellos: any version from SSL 2.0 to TLS 1.3, any suite codes, modern extensions.

A real library cannot offer what its build lacks (SSL 2.0/3.0, export, RC4, 3DES, NULL, GOST …);
these bytes can. They are only ever used to get the server's first flight, so the key shares are
real public keys whose private halves are thrown away.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from scanners.tls.facts import TlsVersion
from scanners.tls.wire import VERSION_CODES, ContentType, Extension, Group, HandshakeType, vec

#: Everything a server might use for (EC)DHE, strongest and most common first.
DEFAULT_GROUPS: tuple[int, ...] = (
    Group.X25519,
    Group.SECP256R1,
    Group.X448,
    Group.SECP384R1,
    Group.SECP521R1,
    Group.BRAINPOOLP256R1,
    Group.BRAINPOOLP384R1,
    Group.BRAINPOOLP512R1,
    Group.SECP256K1,
    Group.SECP224R1,
    Group.SECP224K1,
    Group.SECP192R1,
    Group.SECP192K1,
    Group.SECP160R2,
    Group.SECP160R1,
    Group.SECP160K1,
    Group.SECT571R1,
    Group.SECT571K1,
    Group.SECT409R1,
    Group.SECT409K1,
    Group.SECT283R1,
    Group.SECT283K1,
    Group.SECT233R1,
    Group.SECT233K1,
    Group.SECT163R2,
    Group.SECT163K1,
    Group.FFDHE2048,
    Group.FFDHE3072,
    Group.FFDHE4096,
    Group.FFDHE6144,
    Group.FFDHE8192,
)

#: Every signature scheme a certificate could need, SHA-1 and DSA included, so that no suite is
#: refused only because the server found no acceptable signature (RFC 5246 §7.4.1.4.1, RFC 8446 §4.2.3).
DEFAULT_SIGNATURE_ALGORITHMS: tuple[int, ...] = (
    0x0403, 0x0503, 0x0603,  # ecdsa_secp256r1_sha256, secp384r1_sha384, secp521r1_sha512
    0x0807, 0x0808,  # ed25519, ed448
    0x0804, 0x0805, 0x0806,  # rsa_pss_rsae_sha256/384/512
    0x0809, 0x080A, 0x080B,  # rsa_pss_pss_sha256/384/512
    0x081A, 0x081B, 0x081C,  # ecdsa_brainpoolP256r1tls13_sha256 …
    0x0401, 0x0501, 0x0601,  # rsa_pkcs1_sha256/384/512
    0x0402, 0x0502, 0x0602,  # dsa_sha256/384/512
    0x0303, 0x0301, 0x0302,  # sha224 with ecdsa, rsa, dsa
    0x0203, 0x0201, 0x0202,  # sha1 with ecdsa, rsa, dsa
)  # fmt: skip

DEFAULT_KEY_SHARES: tuple[int, ...] = (Group.X25519, Group.SECP256R1)

_EC_CURVES: dict[int, ec.EllipticCurve] = {
    Group.SECP256R1: ec.SECP256R1(),
    Group.SECP384R1: ec.SECP384R1(),
    Group.SECP521R1: ec.SECP521R1(),
}


@dataclass(frozen=True)
class ClientHelloSpec:
    """What one ClientHello offers. The defaults are what a broad modern client sends."""

    #: The highest version offered (``legacy_version`` below TLS 1.3, ``supported_versions`` from it).
    version: TlsVersion
    cipher_suites: Sequence[int]
    server_name: str | None = None
    #: The supported_versions extension. None: a TLS 1.3 hello offers TLS 1.3 alone (what a probe
    #: wants) and an older hello sends no such extension (``legacy_version`` says it all).
    supported_versions: Sequence[TlsVersion] | None = None
    supported_groups: Sequence[int] = DEFAULT_GROUPS
    signature_algorithms: Sequence[int] = DEFAULT_SIGNATURE_ALGORITHMS
    key_share_groups: Sequence[int] = DEFAULT_KEY_SHARES
    alpn: Sequence[str] = ()
    status_request: bool = True
    renegotiation_info: bool = True
    extended_master_secret: bool = True
    encrypt_then_mac: bool = True
    session_ticket: bool = True
    #: The heartbeat extension (RFC 6520), peer_allowed_to_send: only the Heartbleed probe asks.
    heartbeat: bool = False
    #: Pad a hello of 256–511 bytes to 512 (RFC 7685): some servers hang on that size range.
    padding: bool = True
    #: False sends no extensions block at all, as SSL 3.0-era clients did.
    extensions: bool = True
    compression_methods: Sequence[int] = (0,)
    extra_extensions: Sequence[tuple[int, bytes]] = ()
    random: bytes | None = None
    session_id: bytes | None = None


def key_share_entry(group: int) -> bytes:
    """A fresh public key for ``group`` (X25519, X448, P-256/384/521) as a KeyShareEntry."""
    if group == Group.X25519:
        public = x25519.X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    elif group == Group.X448:
        public = x448.X448PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    elif group in _EC_CURVES:
        key = ec.generate_private_key(_EC_CURVES[group]).public_key()
        public = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    else:
        raise ValueError(f"no key share generator for group {group}")
    return group.to_bytes(2, "big") + vec(public, 2)


def _server_name(name: str | None) -> bytes | None:
    if not name:
        return None
    try:
        ipaddress.ip_address(name)
    except ValueError:
        encoded = name.rstrip(".").encode("idna")
        return vec(b"\x00" + vec(encoded, 2), 2)
    return None  # RFC 6066 §3: literal IP addresses are not permitted in SNI


def _u16s(values: Sequence[int]) -> bytes:
    return b"".join(value.to_bytes(2, "big") for value in values)


def _extensions(spec: ClientHelloSpec) -> list[tuple[int, bytes]]:
    tls13 = spec.version == TlsVersion.TLS13
    exts: list[tuple[int, bytes]] = []
    sni = _server_name(spec.server_name)
    if sni is not None:
        exts.append((Extension.SERVER_NAME, sni))
    if spec.supported_groups:
        exts.append((Extension.SUPPORTED_GROUPS, vec(_u16s(spec.supported_groups), 2)))
        exts.append((Extension.EC_POINT_FORMATS, vec(b"\x00", 1)))
    # RFC 5246 §7.4.1.4.1: clients offering a version below TLS 1.2 must not send this.
    if spec.signature_algorithms and VERSION_CODES[spec.version] >= VERSION_CODES[TlsVersion.TLS12]:
        exts.append((Extension.SIGNATURE_ALGORITHMS, vec(_u16s(spec.signature_algorithms), 2)))
    if spec.alpn:
        protocols = b"".join(vec(protocol.encode(), 1) for protocol in spec.alpn)
        exts.append((Extension.ALPN, vec(protocols, 2)))
    if spec.status_request:
        exts.append((Extension.STATUS_REQUEST, b"\x01\x00\x00\x00\x00"))  # ocsp, no responder ids, no extensions
    if spec.renegotiation_info:
        exts.append((Extension.RENEGOTIATION_INFO, b"\x00"))
    if spec.extended_master_secret:
        exts.append((Extension.EXTENDED_MASTER_SECRET, b""))
    if spec.encrypt_then_mac:
        exts.append((Extension.ENCRYPT_THEN_MAC, b""))
    if spec.session_ticket:
        exts.append((Extension.SESSION_TICKET, b""))
    if spec.heartbeat:
        exts.append((Extension.HEARTBEAT, b"\x01"))
    versions = spec.supported_versions
    if versions is None and tls13:
        versions = (TlsVersion.TLS13,)
    if versions:
        exts.append((Extension.SUPPORTED_VERSIONS, vec(_u16s([VERSION_CODES[v] for v in versions]), 1)))
    if tls13 or (versions and TlsVersion.TLS13 in versions):
        exts.append((Extension.PSK_KEY_EXCHANGE_MODES, vec(b"\x01", 1)))  # psk_dhe_ke
        shares = b"".join(key_share_entry(group) for group in spec.key_share_groups)
        exts.append((Extension.KEY_SHARE, vec(shares, 2)))
    exts.extend(spec.extra_extensions)
    return exts


def client_hello_body(spec: ClientHelloSpec) -> bytes:
    """The ClientHello handshake message (type and length included), without the record header."""
    if spec.version == TlsVersion.SSL2:
        raise ValueError("an SSL 2.0 hello has its own format: use sslv2_client_hello()")
    legacy = min(VERSION_CODES[spec.version], VERSION_CODES[TlsVersion.TLS12])
    random = spec.random if spec.random is not None else os.urandom(32)
    # TLS 1.3 middlebox compatibility (RFC 8446 §D.4): a non-empty legacy_session_id.
    session_id = spec.session_id if spec.session_id is not None else (os.urandom(32) if legacy >= 0x0303 else b"")
    body = (
        legacy.to_bytes(2, "big")
        + random
        + vec(session_id, 1)
        + vec(_u16s(spec.cipher_suites), 2)
        + vec(bytes(spec.compression_methods), 1)
    )
    if spec.extensions:
        exts = _extensions(spec)
        encoded = b"".join(kind.to_bytes(2, "big") + vec(data, 2) for kind, data in exts)
        message_length = 4 + len(body) + 2 + len(encoded)
        if spec.padding and 0xFF < message_length < 0x200:
            pad = max(0x200 - message_length - 4, 1)
            encoded += Extension.PADDING.to_bytes(2, "big") + vec(bytes(pad), 2)
        elif spec.padding and message_length >= 0x200 and message_length % 0x100 in (10, 14):
            # Some servers (or middleboxes) fail on these lengths too (testssl.sh #1113): 5 bytes move it.
            encoded += Extension.PADDING.to_bytes(2, "big") + vec(b"\x00", 2)
        body += vec(encoded, 2)
    return bytes([HandshakeType.CLIENT_HELLO]) + vec(body, 3)


def client_hello(spec: ClientHelloSpec) -> bytes:
    """The ClientHello in TLS records, ready to write to the socket."""
    message = client_hello_body(spec)
    # Record version: SSL 3.0 for SSL 3.0 hellos, TLS 1.0 otherwise (what servers expect, RFC 8446 §5.1).
    record_version = VERSION_CODES[TlsVersion.SSL3 if spec.version == TlsVersion.SSL3 else TlsVersion.TLS10]
    records = b""
    for start in range(0, len(message), 2**14):
        fragment = message[start : start + 2**14]
        records += bytes([ContentType.HANDSHAKE]) + record_version.to_bytes(2, "big") + vec(fragment, 2)
    return records


def sslv2_client_hello(
    cipher_specs: Sequence[int], *, version: TlsVersion = TlsVersion.SSL2, challenge: bytes | None = None
) -> bytes:
    """An SSL 2.0 CLIENT-HELLO record.

    With ``version`` SSL 2.0 it offers SSL 2.0 cipher kinds (3-byte codes). With a later version it
    is the SSLv2-compatible hello of RFC 5246 §E.2, and TLS suites are given as ``0x00nnnn``.
    """
    challenge = challenge if challenge is not None else os.urandom(16)
    if not 16 <= len(challenge) <= 32:
        raise ValueError("the SSL 2.0 challenge is 16 to 32 bytes")
    specs = b"".join(code.to_bytes(3, "big") for code in cipher_specs)
    body = (
        b"\x01"
        + VERSION_CODES[version].to_bytes(2, "big")
        + len(specs).to_bytes(2, "big")
        + b"\x00\x00"  # no session id
        + len(challenge).to_bytes(2, "big")
        + specs
        + challenge
    )
    if len(body) > 0x7FFF:
        raise ValueError("an SSL 2.0 record holds at most 32767 bytes")
    return (0x8000 | len(body)).to_bytes(2, "big") + body
