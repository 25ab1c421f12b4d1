"""ROBOT (Böck, Somorovsky, Young 2017): does the server reveal whether an RSA premaster secret was well padded?

A server decrypting an RSA key exchange must treat a badly padded PKCS #1 v1.5 block exactly like
a good one (RFC 5246 §7.4.7.1: go on with a random premaster secret). If its answers differ, the
difference is a Bleichenbacher oracle: with enough queries an attacker decrypts recorded sessions
or signs with the server's key.

Five connections, each a first flight with the accepted RSA key exchange suites, then a
ClientKeyExchange whose premaster secret is encrypted to the key of that very flight's
certificate, padded one of five ways (the test vectors of the ROBOT paper's scanner), followed
by ChangeCipherSpec and a Finished no one can decrypt. An honest server answers all five alike
(bad_record_mac in practice). Different answers are asked again, and only a pattern seen twice
is reported. Not tried: the same messages without ChangeCipherSpec and Finished, which shows an
oracle on a few more implementations for five more connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from scanners.tls import registry
from scanners.tls.facts import RobotFacts, TlsVersion
from scanners.tls.probe import FollowUp, ProbeResult
from scanners.tls.prober import Prober
from scanners.tls.reaction import read_reaction, record
from scanners.tls.wire import VERSION_CODES, ContentType

#: How long to wait for each answer; timing out *is* an oracle on some servers, so it is compared too.
ANSWER_WAIT = 3.0
#: Keys beyond these are not worth a modular exponentiation of hostile size on the event loop
#: (no deployed key has a larger modulus, or a public exponent beyond 65537 by far).
_MAX_MODULUS_BITS = 16384
_MAX_EXPONENT_BITS = 64
#: The premaster secret's random part and the padding filler (no zero byte in either).
_SECRET = b"\xaa" + bytes.fromhex("112233445566778899") * 5
_FILLER = b"\xab\xcd"
VARIANTS = ("valid", "wrong-first-bytes", "zero-in-wrong-place", "no-zero-separator", "wrong-version")


def is_rsa_key_exchange(code: int) -> bool:
    suite = registry.by_code(code)
    return suite is not None and suite.kx == "RSA" and not suite.export


def premaster_blocks(modulus_bytes: int, client_version: int) -> list[bytes]:
    """The five plaintext blocks (``VARIANTS``), each ``modulus_bytes`` long."""
    version = client_version.to_bytes(2, "big")
    pad = (_FILLER * modulus_bytes)[: modulus_bytes - 3 - 48]
    blocks = [
        b"\x00\x02" + pad + b"\x00" + version + _SECRET,
        b"\x41\x17" + pad + b"\x00" + version + _SECRET,
        b"\x00\x02" + pad + b"\x11" + _SECRET + b"\x00\x11",
        b"\x00\x02" + pad + b"\x11" + b"\x11\x11" + _SECRET,
        b"\x00\x02" + pad + b"\x00" + b"\x02\x02" + _SECRET,
    ]
    return blocks


def encrypt(block: bytes, key: rsa.RSAPublicNumbers) -> bytes:
    """Textbook RSA on an already padded block: the padding is the experiment."""
    size = (key.n.bit_length() + 7) // 8
    return pow(int.from_bytes(block, "big"), key.e, key.n).to_bytes(size, "big")


def rsa_key(chain: Sequence[bytes] | None) -> rsa.RSAPublicNumbers | None:
    """The RSA key of a flight's leaf certificate, None when there is none (or it is unusable)."""
    if not chain:
        return None
    try:
        key = x509.load_der_x509_certificate(chain[0]).public_key()
    except (ValueError, TypeError):
        return None
    if not isinstance(key, rsa.RSAPublicKey) or not 512 <= key.key_size <= _MAX_MODULUS_BITS:
        return None
    numbers = key.public_numbers()
    return numbers if numbers.e.bit_length() <= _MAX_EXPONENT_BITS else None


@dataclass(frozen=True)
class Oracle:
    vulnerable: bool | None
    strength: str | None = None


def judge(first: Sequence[str], second: Sequence[str] | None) -> Oracle:
    """The verdict on the answers to ``VARIANTS`` (and to a second round when the first differed)."""
    if len(set(first)) == 1:
        return Oracle(False)
    if second is None or list(second) != list(first):
        return Oracle(None)  # the server is not consistent: nothing can be said
    # Telling the valid block from the wrong-version one only is the paper's "weak" oracle: the
    # three malformed paddings look alike, so far more queries are needed.
    weak = first[1] == first[2] == first[3]
    return Oracle(True, "weak" if weak else "strong")


def client_key_exchange(ciphertext: bytes, version: int, certificate_requested: bool = False) -> bytes:
    message = bytes([16]) + (len(ciphertext) + 2).to_bytes(3, "big") + len(ciphertext).to_bytes(2, "big") + ciphertext
    if certificate_requested:
        # An empty Certificate first, as any client without one sends: without it a server that
        # asked (Prosody on s2s) waits for it and never looks at the key exchange — every answer
        # would be the same silence, and an oracle behind it would go unseen.
        message = bytes([11]) + (3).to_bytes(3, "big") + (0).to_bytes(3, "big") + message
    return (
        record(ContentType.HANDSHAKE, version, message)
        + record(ContentType.CHANGE_CIPHER_SPEC, version, b"\x01")
        # A Finished under keys the server cannot have: a fixed 64-byte "ciphertext".
        + record(ContentType.HANDSHAKE, version, b"\xaa" * 64)
    )


def _variant(index: int, client_version: int) -> FollowUp:
    async def follow_up(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, result: ProbeResult, deadline: float
    ) -> str | None:
        hello, key = result.server_hello, rsa_key(result.certificates)
        if hello is None or key is None or not is_rsa_key_exchange(hello.cipher_suite):
            return None
        size = (key.n.bit_length() + 7) // 8
        block = premaster_blocks(size, client_version)[index]
        try:
            writer.write(client_key_exchange(encrypt(block, key), hello.version, result.certificate_request))
            await writer.drain()
        except (ConnectionError, OSError):
            return None
        return await read_reaction(reader, deadline, ANSWER_WAIT)

    return follow_up


async def robot_probe(prober: Prober, version: TlsVersion, suites: Sequence[int]) -> RobotFacts | None:
    """Ask the five questions (twice when the answers differ); None when no answer could be had."""
    offer = [code for code in suites if is_rsa_key_exchange(code)]
    if not offer or version not in (TlsVersion.TLS10, TlsVersion.TLS11, TlsVersion.TLS12):
        return None
    hello = prober.hello(version, offer)

    async def ask(index: int) -> str | None:
        result = await prober.probe(hello, read_flight=True, follow_up=_variant(index, VERSION_CODES[version]))
        return result.follow_up if isinstance(result.follow_up, str) else None

    # The first alone: a flight without a usable RSA key ends the test at one connection.
    valid = await ask(0)
    if valid is None:
        return None
    rest = await asyncio.gather(*(ask(index) for index in range(1, len(VARIANTS))))
    if any(answer is None for answer in rest):
        return None
    first = [valid, *(answer for answer in rest if answer is not None)]
    second: list[str] | None = None
    if len(set(first)) > 1:
        again = await asyncio.gather(*(ask(index) for index in range(len(VARIANTS))))
        second = [answer or "none" for answer in again]
    oracle = judge(first, second)
    if oracle.vulnerable is None:
        prober.anomaly(version, f"ROBOT: the answers changed when asked again ({first} then {second})")
    return RobotFacts(
        version=version,
        vulnerable=oracle.vulnerable,
        oracle=oracle.strength,
        answers=dict(zip(VARIANTS, first, strict=True)),
    )
