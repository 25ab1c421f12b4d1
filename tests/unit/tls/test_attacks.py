"""The pure parts of the attack probes: ROBOT's blocks and verdict, CCS's verdict, the downgrade sentinel."""

from __future__ import annotations

import asyncio
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from scanners.tls import ccs, robot
from scanners.tls.downgrade import TO_OLDER, TO_TLS12, downgrade_sentinel
from scanners.tls.facts import TlsVersion
from scanners.tls.parser import ServerHello
from scanners.tls.probe import Outcome, ProbeResult
from scanners.tls.reaction import read_reaction, records


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_the_valid_block_is_pkcs1_that_openssl_decrypts_to_the_premaster_secret(key: rsa.RSAPrivateKey) -> None:
    blocks = robot.premaster_blocks(256, 0x0303)
    assert [len(block) for block in blocks] == [256] * 5
    ciphertext = robot.encrypt(blocks[0], key.public_key().public_numbers())
    secret = key.decrypt(ciphertext, padding.PKCS1v15())  # OpenSSL's own unpadding, not ours
    assert len(secret) == 48
    assert secret[:2] == b"\x03\x03"


def test_each_malformed_block_breaks_exactly_its_rule() -> None:
    valid, first_bytes, zero_late, no_zero, version = robot.premaster_blocks(128, 0x0301)
    assert valid[:2] == b"\x00\x02"
    assert valid[-49] == 0
    assert valid[-48:-46] == b"\x03\x01"
    assert first_bytes[:2] == b"\x41\x17"
    assert first_bytes[2:] == valid[2:]
    assert zero_late.index(0, 2) == len(zero_late) - 2  # a separator, but a 1-byte secret
    assert 0 not in no_zero[2:]
    assert version[-48:-46] == b"\x02\x02"
    assert version[:-48] == valid[:-48]
    # The padding string itself never holds a zero byte (that would be a separator).
    assert 0 not in valid[2:-49]


def test_textbook_encryption_round_trips(key: rsa.RSAPrivateKey) -> None:
    numbers = key.private_numbers()
    block = robot.premaster_blocks(256, 0x0303)[3]
    ciphertext = robot.encrypt(block, numbers.public_numbers)
    assert len(ciphertext) == 256
    assert pow(int.from_bytes(ciphertext, "big"), numbers.d, numbers.public_numbers.n).to_bytes(256, "big") == block


def test_rsa_key_of_hostile_or_other_certificates_is_none() -> None:
    assert robot.rsa_key(None) is None
    assert robot.rsa_key([b"\x30\x03\x02\x01\x01"]) is None
    assert robot.rsa_key([b""]) is None


@pytest.mark.parametrize(
    ("first", "second", "vulnerable", "strength"),
    [
        (["alert 20"] * 5, None, False, None),
        (["alert 20", "alert 51", "alert 47", "alert 47", "alert 20"], None, None, None),
        (
            ["alert 20", "alert 51", "alert 47", "alert 47", "alert 20"],
            ["alert 20", "alert 51", "alert 47", "alert 47", "alert 20"],
            True,
            "strong",
        ),
        (
            ["alert 20", "closed", "closed", "closed", "alert 20"],
            ["alert 20", *["closed"] * 3, "alert 20"],
            True,
            "weak",
        ),
        (["alert 20", "closed", "closed", "closed", "alert 20"], ["alert 20"] * 5, None, None),
        (["silent", "alert 20", "alert 20", "alert 20", "alert 20"], ["silent", *["alert 20"] * 4], True, "weak"),
    ],
)
def test_judge(first: list[str], second: list[str] | None, vulnerable: bool | None, strength: str | None) -> None:
    assert robot.judge(first, second) == robot.Oracle(vulnerable, strength)


@pytest.mark.parametrize(
    ("reaction", "taken"),
    [("alert 20", True), ("alert 21", True), ("alert 10", False), ("alert 40", False), ("closed", False),
     ("reset", False), ("silent", None), ("record 23", None)],
)  # fmt: skip
def test_ccs_verdict(reaction: str, taken: bool | None) -> None:
    assert ccs.verdict(reaction) is taken


def hello(version: int, tail: bytes) -> ProbeResult:
    server_hello = ServerHello(legacy_version=version, random=bytes(24) + tail, session_id=b"", cipher_suite=0xC02F,
                               compression_method=0)  # fmt: skip
    return ProbeResult(Outcome.SERVER_HELLO, server_hello=server_hello)


def test_downgrade_sentinel() -> None:
    both = [TlsVersion.TLS11, TlsVersion.TLS12, TlsVersion.TLS13]
    right = {TlsVersion.TLS12: hello(0x0303, TO_TLS12), TlsVersion.TLS11: hello(0x0302, TO_OLDER)}
    assert downgrade_sentinel(both, right) is True
    # TLS 1.1 answered with TLS 1.2's sentinel: wrong (RFC 8446 §4.1.3 tells them apart).
    assert downgrade_sentinel(both, {**right, TlsVersion.TLS11: hello(0x0302, TO_TLS12)}) is False
    assert downgrade_sentinel(both, {**right, TlsVersion.TLS12: hello(0x0303, bytes(8))}) is False
    # Nothing to tell: no TLS 1.3, or no older version.
    assert downgrade_sentinel(both[:2], {TlsVersion.TLS12: hello(0x0303, bytes(8))}) is None
    assert downgrade_sentinel([TlsVersion.TLS13], {}) is None


def test_records_split_only_complete_records() -> None:
    data = b"\x15\x03\x03\x00\x02\x02\x28" + b"\x16\x03\x03\x00\x05\x01"
    assert records(data) == [(21, b"\x02\x28")]


async def test_read_reaction_kinds() -> None:
    async def reaction(data: bytes, eof: bool) -> str:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        if eof:
            reader.feed_eof()
        return await read_reaction(reader, deadline=time.monotonic() + 5, wait=0.2)

    # A late heartbeat answer is skipped; the alert behind it counts.
    assert await reaction(b"\x18\x03\x03\x00\x03\x02\x00\x01" + b"\x15\x03\x03\x00\x02\x02\x0a", True) == "alert 10"
    assert await reaction(b"", True) == "closed"
    assert await reaction(b"", False) == "silent"
    assert await reaction(b"\x17\x03\x03\x00\x01\x00", False) == "record 23"


def test_rsa_key_refuses_a_hostile_exponent() -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    signer = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    modulus = signer.public_key().public_numbers().n

    def certificate(exponent: int) -> bytes:
        public = rsa.RSAPublicNumbers(exponent, modulus).public_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example.test")])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
                .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
                .sign(signer, hashes.SHA256()))  # fmt: skip
        return cert.public_bytes(Encoding.DER)

    usual = robot.rsa_key([certificate(65537)])
    assert usual is not None
    assert usual.e == 65537
    # A 2^80-sized exponent would cost a long exponentiation on the event loop per question.
    assert robot.rsa_key([certificate((1 << 80) + 1)]) is None
