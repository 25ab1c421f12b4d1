"""The server-flight parser: message tables, framing, bounds, and hypothesis fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanners.tls.parser import (
    MAX_CERTIFICATES,
    MAX_EVENTS,
    Alert,
    Certificate,
    CertificateStatus,
    ChangeCipherSpec,
    EncryptedRecord,
    FlightParser,
    OtherHandshake,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
    Sslv2Error,
    Sslv2ServerHello,
    TlsBoundExceeded,
    TlsParseError,
    parse_certificate,
    parse_server_hello,
    parse_server_key_exchange,
)
from tests.testbed.scripted_tls import (
    HRR_RANDOM,
    alert,
    certificate,
    handshake,
    record,
    server_hello,
    server_hello_done,
    sslv2_server_hello,
)

CHAIN = [b"\x30\x82leaf-der", b"\x30\x82intermediate-der"]


def feed_all(data: bytes, chunk: int | None = None) -> list[object]:
    parser = FlightParser()
    if chunk is None:
        return list(parser.feed(data))
    events: list[object] = []
    for start in range(0, len(data), chunk):
        events.extend(parser.feed(data[start : start + chunk]))
    return events


def tls12_flight() -> bytes:
    status = handshake(22, b"\x01" + len(b"ocsp").to_bytes(3, "big") + b"ocsp")
    ske = handshake(12, b"\x03\x00\x17\x04abcd\x04\x03\x00\x03sig")
    messages = server_hello(0x0303, 0xC02F) + certificate(CHAIN) + status + ske + server_hello_done()
    return record(22, messages)


@pytest.mark.parametrize("chunk", [None, 1, 3, 7, 100])
def test_a_tls12_flight_yields_each_message_however_it_is_split(chunk: int | None) -> None:
    events = feed_all(tls12_flight(), chunk)
    assert [type(event) for event in events] == [
        ServerHello,
        Certificate,
        CertificateStatus,
        ServerKeyExchange,
        ServerHelloDone,
    ]
    hello = events[0]
    assert isinstance(hello, ServerHello)
    assert (hello.version, hello.cipher_suite, hello.is_hello_retry_request) == (0x0303, 0xC02F, False)
    assert events[1] == Certificate(tuple(CHAIN))
    assert events[2] == CertificateStatus(1, b"ocsp")


def test_handshake_messages_may_span_records() -> None:
    messages = server_hello(0x0301, 0x002F) + certificate(CHAIN) + server_hello_done()
    data = b"".join(record(22, messages[i : i + 10], 0x0301) for i in range(0, len(messages), 10))
    assert [type(event) for event in feed_all(data)] == [ServerHello, Certificate, ServerHelloDone]


def test_tls13_server_hello_then_only_encrypted_records() -> None:
    extensions = [(43, b"\x03\x04"), (51, b"\x00\x1d\x00\x20" + bytes(32)), (16, b"\x00\x0c\x0bxmpp-client")]
    data = record(22, server_hello(0x0303, 0x1301, extensions=extensions))
    data += record(20, b"\x01") + record(23, bytes(40)) + record(22, b"\x0b\x00\x00\x00")
    events = feed_all(data)
    hello = events[0]
    assert isinstance(hello, ServerHello)
    assert (hello.legacy_version, hello.selected_version, hello.version) == (0x0303, 0x0304, 0x0304)
    assert hello.key_share_group == 0x001D
    assert hello.alpn == "xmpp-client"
    # After a TLS 1.3 ServerHello, handshake records are encrypted: never parsed as plaintext.
    assert events[1:] == [ChangeCipherSpec(), EncryptedRecord(23, 40), EncryptedRecord(22, 4)]


def test_hello_retry_request_is_recognised() -> None:
    extensions = [(43, b"\x03\x04"), (51, b"\x00\x1e")]
    data = record(22, server_hello(0x0303, 0x1302, extensions=extensions, random=HRR_RANDOM))
    (hello,) = feed_all(data)
    assert isinstance(hello, ServerHello)
    assert hello.is_hello_retry_request
    assert hello.key_share_group == 30
    assert hello.version == 0x0304


def test_alerts_warning_and_fatal() -> None:
    events = feed_all(alert(112, level=1) + alert(40))
    assert events == [Alert(1, 112), Alert(2, 40)]
    assert not events[0].fatal
    assert events[1].fatal


def test_sslv2_server_hello_and_error() -> None:
    (hello,) = feed_all(sslv2_server_hello([0x010080, 0x0700C0], b"cert-der"))
    assert isinstance(hello, Sslv2ServerHello)
    assert (hello.version, hello.cipher_kinds, hello.certificate) == (0x0002, (0x010080, 0x0700C0), b"cert-der")
    error = bytes([0x80, 3, 0, 0, 1])
    assert feed_all(error) == [Sslv2Error(1)]


def test_unknown_handshake_messages_are_kept() -> None:
    events = feed_all(record(22, handshake(13, b"\x01\x01\x00\x00\x00\x00")))
    assert events == [OtherHandshake(13, b"\x01\x01\x00\x00\x00\x00")]


def test_key_exchange_parameters() -> None:
    ecdhe = parse_server_key_exchange(b"\x03\x00\x17\x04abcd\x04\x01\x00\x03sig", "ECDHE", tls12=True, signed=True)
    assert (ecdhe.kind, ecdhe.group, ecdhe.public, ecdhe.signature_algorithm, ecdhe.signature) == (
        "ecdhe",
        23,
        b"abcd",
        0x0401,
        b"sig",
    )
    dhe = parse_server_key_exchange(b"\x00\x02pp\x00\x01g\x00\x02yy\x00\x01s", "DHE", tls12=False, signed=True)
    assert (dhe.dh_prime, dhe.dh_generator, dhe.public, dhe.signature) == (b"pp", b"g", b"yy", b"s")
    anon = parse_server_key_exchange(b"\x00\x02pp\x00\x01g\x00\x02yy", "DHE", tls12=True, signed=False)
    assert anon.signature == b""
    export = parse_server_key_exchange(b"\x00\x02nn\x00\x01e\x00\x01s", "RSA", tls12=False, signed=True)
    assert (export.rsa_modulus, export.rsa_exponent) == (b"nn", b"e")
    psk = parse_server_key_exchange(b"\x00\x04hint", "PSK", tls12=True, signed=False)
    assert psk.psk_identity_hint == b"hint"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<stream:error>", "not TLS"),
        (b"HTTP/1.1 400 Bad Request\r\n", "not TLS"),
        (b"\x16\x02\x00\x00\x04abcd", "record version"),
        (b"\x16\x03\x03\x50\x00", "exceeds"),
        (b"\x19\x03\x03\x00\x01x", "not TLS"),
        (alert(112, level=1) + b"\x19\x03\x03\x00\x01x", "unknown record content type"),
        (b"\x16\x03\x03\x00\x00", "empty handshake"),
        (record(22, b"\x02\x10\x00\x00"), "handshake message of"),
        (record(22, handshake(2, b"\x03\x03short")), "malformed ServerHello"),
        (record(22, handshake(14, b"x")), "ServerHelloDone with a body"),
        (record(22, handshake(11, b"\x00\x00\x06\x00\x00\x09abc")), "malformed Certificate"),
        (record(22, handshake(11, b"\x00\x00\x05\x00\x00\x09abc")), "after the certificate list"),
        (bytes([0x80, 3, 7, 0, 0]), "SSL 2.0 message type"),
    ],
)
def test_malformed_replies_raise_the_parse_error(data: bytes, message: str) -> None:
    with pytest.raises(TlsParseError, match=message):
        feed_all(data)


def test_total_size_is_bounded() -> None:
    parser = FlightParser(max_bytes=1000)
    parser.feed(record(22, handshake(11, bytes(900))[:-10]))
    with pytest.raises(TlsBoundExceeded, match="more than 1000 bytes"):
        parser.feed(record(22, bytes(200)))


def test_certificate_count_is_bounded() -> None:
    body = b"".join(len(b"c").to_bytes(3, "big") + b"c" for _ in range(MAX_CERTIFICATES + 1))
    with pytest.raises(TlsBoundExceeded, match="more than"):
        parse_certificate(len(body).to_bytes(3, "big") + body)


def test_tls13_certificate_form() -> None:
    entry = len(b"der").to_bytes(3, "big") + b"der" + b"\x00\x00"
    body = b"\x00" + len(entry).to_bytes(3, "big") + entry
    assert parse_certificate(body, tls13=True).chain == (b"der",)


def test_server_hello_with_trailing_bytes_is_refused() -> None:
    body = server_hello(0x0303, 0x002F)[4:] + b"\x00"
    with pytest.raises(TlsParseError):
        parse_server_hello(body)


# --- Fuzzing: whatever the bytes, the parser returns events or raises TlsParseError, nothing else.

FLIGHTS = [tls12_flight(), sslv2_server_hello([0x010080], b"c" * 40), alert(40) + alert(70)]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_fuzz_arbitrary_chunks(chunks: list[bytes]) -> None:
    parser = FlightParser(max_bytes=4096)
    try:
        for chunk in chunks:
            parser.feed(chunk)
    except TlsParseError:
        pass


@settings(max_examples=300)
@given(st.sampled_from(FLIGHTS), st.data())
def test_fuzz_mutated_valid_flights(flight: bytes, data: st.DataObject) -> None:
    mutated = bytearray(flight)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(mutated) - 1))
        mutated[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(mutated)))
    with contextlib.suppress(TlsParseError):
        feed_all(bytes(mutated[:cut]), data.draw(st.sampled_from([None, 1, 5])))


@settings(max_examples=300)
@given(st.binary(max_size=200), st.sampled_from(["ECDHE", "DHE", "RSA", "PSK", "DHE_PSK", "ECDHE_PSK", "SRP"]))
def test_fuzz_server_key_exchange(body: bytes, kx: str) -> None:
    for tls12 in (True, False):
        with contextlib.suppress(TlsParseError):
            parse_server_key_exchange(body, kx, tls12=tls12, signed=True)


@pytest.mark.parametrize(
    ("record_type", "unit"),
    [(21, b"\x01\xfe"), (20, b"\x01"), (23, b"")],
    ids=["warning-alerts", "change-cipher-specs", "empty-application-data"],
)
def test_the_events_of_one_flight_are_bounded(record_type: int, unit: bytes) -> None:
    # Found measuring 200 scans against a peer sending endless warning alerts: every two bytes became an
    # Alert object (8,192 per record, ~1.5 MiB per scan in flight and a minute of CPU for 200 scans).
    # Application data must come after something TLS-like to be read at all: a ChangeCipherSpec.
    flood = record(21, unit * 8192) if record_type == 21 else record(20, b"\x01") + record(record_type, unit) * 8192
    parser = FlightParser()
    with pytest.raises(TlsBoundExceeded, match=f"more than {MAX_EVENTS} messages"):
        parser.feed(flood)


def test_a_flight_at_the_event_bound_is_fine() -> None:
    # Warning alerts, then a flight of five messages: exactly the bound.
    events = feed_all(record(21, b"\x01\x70" * (MAX_EVENTS - 5)) + tls12_flight(), chunk=100)
    assert len(events) == MAX_EVENTS
