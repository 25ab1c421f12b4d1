"""The ClientHello builder, decoded by the scripted peer's independent decoder."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from hypothesis import given
from hypothesis import strategies as st

from scanners.tls.client_hello import (
    DEFAULT_GROUPS,
    DEFAULT_SIGNATURE_ALGORITHMS,
    ClientHelloSpec,
    client_hello,
    client_hello_body,
    sslv2_client_hello,
)
from scanners.tls.facts import TlsVersion
from scanners.tls.wire import Extension, Group
from tests.testbed.scripted_tls import decode_client_hello

SUITES = [0xC02F, 0xC030, 0x009C, 0x002F, 0x000A, 0x0005]


def test_tls12_hello_offers_the_suites_and_modern_extensions() -> None:
    # Given a TLS 1.2 hello with SNI and ALPN
    spec = ClientHelloSpec(TlsVersion.TLS12, SUITES, server_name="example.test", alpn=("xmpp-client",))
    # When the peer decodes it
    hello = decode_client_hello(client_hello(spec))
    # Then everything asked for is on the wire, in order
    assert (hello.sslv2, hello.legacy_version, hello.record_version) == (False, 0x0303, 0x0301)
    assert hello.cipher_suites == SUITES
    assert hello.server_name == "example.test"
    assert hello.alpn == ["xmpp-client"]
    assert hello.groups == list(DEFAULT_GROUPS)
    assert hello.signature_algorithms == list(DEFAULT_SIGNATURE_ALGORITHMS)
    assert hello.extension(Extension.STATUS_REQUEST) == b"\x01\x00\x00\x00\x00"
    assert hello.extension(Extension.RENEGOTIATION_INFO) == b"\x00"
    for flag in (Extension.EXTENDED_MASTER_SECRET, Extension.ENCRYPT_THEN_MAC, Extension.SESSION_TICKET):
        assert hello.extension(flag) == b""
    assert hello.extension(Extension.EC_POINT_FORMATS) == b"\x01\x00"
    # and a TLS 1.2 hello says nothing of TLS 1.3
    assert hello.extension(Extension.SUPPORTED_VERSIONS) is None
    assert hello.extension(Extension.KEY_SHARE) is None
    assert len(hello.session_id) == 32
    assert len(hello.random) == 32


def test_tls13_hello_carries_real_key_shares() -> None:
    hello = decode_client_hello(client_hello(ClientHelloSpec(TlsVersion.TLS13, [0x1301, 0x1302])))
    assert hello.legacy_version == 0x0303
    assert hello.supported_versions == [0x0304]
    assert hello.extension(Extension.PSK_KEY_EXCHANGE_MODES) == b"\x01\x01"
    shares = hello.key_shares
    assert set(shares) == {Group.X25519, Group.SECP256R1}
    # Real public keys: both load as valid points.
    x25519.X25519PublicKey.from_public_bytes(shares[Group.X25519])
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), shares[Group.SECP256R1])


@pytest.mark.parametrize(
    ("version", "record_version", "legacy"),
    [(TlsVersion.SSL3, 0x0300, 0x0300), (TlsVersion.TLS10, 0x0301, 0x0301), (TlsVersion.TLS11, 0x0301, 0x0302)],
)
def test_old_versions_omit_signature_algorithms(version: TlsVersion, record_version: int, legacy: int) -> None:
    hello = decode_client_hello(client_hello(ClientHelloSpec(version, SUITES)))
    assert (hello.record_version, hello.legacy_version) == (record_version, legacy)
    assert hello.extension(Extension.SIGNATURE_ALGORITHMS) is None
    assert hello.session_id == b""


def test_extensions_can_be_left_out_entirely() -> None:
    raw = client_hello(ClientHelloSpec(TlsVersion.SSL3, SUITES, extensions=False))
    hello = decode_client_hello(raw)
    assert hello.extensions == []
    assert hello.cipher_suites == SUITES


def test_sni_is_never_an_ip_literal() -> None:
    for name in ("127.0.0.1", "::1"):
        hello = decode_client_hello(client_hello(ClientHelloSpec(TlsVersion.TLS12, SUITES, server_name=name)))
        assert hello.server_name is None


def test_explicit_supported_versions_include_key_shares() -> None:
    spec = ClientHelloSpec(TlsVersion.TLS13, [0x1301, 0xC02F], supported_versions=[TlsVersion.TLS13, TlsVersion.TLS12])
    hello = decode_client_hello(client_hello(spec))
    assert hello.supported_versions == [0x0304, 0x0303]
    assert hello.key_shares


def test_sslv2_hello_offers_cipher_kinds() -> None:
    raw = sslv2_client_hello([0x010080, 0x0700C0], challenge=bytes(16))
    hello = decode_client_hello(raw)
    assert (hello.sslv2, hello.legacy_version, hello.cipher_suites) == (True, 0x0002, [0x010080, 0x0700C0])
    assert hello.random == bytes(16)


def test_sslv2_compatible_hello_offers_tls_suites() -> None:
    hello = decode_client_hello(sslv2_client_hello([0x00002F, 0x010080], version=TlsVersion.TLS10))
    assert (hello.sslv2, hello.legacy_version, hello.cipher_suites) == (True, 0x0301, [0x00002F, 0x010080])


def test_sslv2_challenge_length_is_checked() -> None:
    with pytest.raises(ValueError, match="challenge"):
        sslv2_client_hello([0x010080], challenge=b"short")


def test_an_sslv2_spec_needs_the_sslv2_builder() -> None:
    with pytest.raises(ValueError, match="sslv2_client_hello"):
        client_hello(ClientHelloSpec(TlsVersion.SSL2, [0x010080]))


@given(
    st.sampled_from([TlsVersion.SSL3, TlsVersion.TLS10, TlsVersion.TLS12, TlsVersion.TLS13]),
    st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=400),
    st.one_of(st.none(), st.from_regex(r"[a-z]{1,20}(\.[a-z]{1,10}){0,3}", fullmatch=True)),
)
def test_any_suite_list_round_trips_and_avoids_the_256_to_511_byte_range(
    version: TlsVersion, suites: list[int], name: str | None
) -> None:
    spec = ClientHelloSpec(version, suites, server_name=name)
    hello = decode_client_hello(client_hello(spec))
    assert hello.cipher_suites == suites
    assert hello.server_name == name
    # RFC 7685: some servers hang on hellos of 256-511 bytes, so those are padded to 512.
    assert not 256 <= len(client_hello_body(spec)) < 512
