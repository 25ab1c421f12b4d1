"""Fuzzing the TLS flight parser: ServerHello, Certificate, ServerKeyExchange, CertificateStatus,
alerts and other records, built field by field so that any length field can be mutated, then
truncated and split at every chunk boundary. Whatever arrives, the parser returns bounded events or
raises ``TlsParseError`` (``TlsBoundExceeded`` included) and nothing else; unmutated flights parse
back to the messages they were built from."""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from scanners.tls.parser import (
    MAX_CERTIFICATES,
    MAX_EVENTS,
    Alert,
    Certificate,
    CertificateStatus,
    ChangeCipherSpec,
    EncryptedRecord,
    Event,
    FlightParser,
    OtherHandshake,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
    Sslv2ServerHello,
    TlsParseError,
    parse_certificate,
    parse_server_key_exchange,
)
from scanners.tls.wire import HELLO_RETRY_RANDOM, Extension
from tests.fuzz.profiles import fuzz, time_bound
from tests.fuzz.strategies import chunked, mutated

BOUND_SECONDS = 5.0
#: A small flight bound, so that examples reach it.
MAX_BYTES = 32 * 1024
#: Smaller still for the flood, which may arrive a byte at a time.
FLOOD_BOUND = 4 * 1024
KEY_EXCHANGES = ["ECDHE", "DHE", "RSA", "PSK", "DHE_PSK", "ECDHE_PSK", "RSA_PSK", "SRP"]


@dataclass
class Vec:
    """A TLS vector: its length in ``size`` bytes, then its parts (bytes or vectors)."""

    size: int
    parts: list[bytes | Vec] = field(default_factory=list)


Node = bytes | Vec


@dataclass
class Encoded:
    data: bytearray = field(default_factory=bytearray)
    #: (offset, size) of every length field written, for mutations that lie about lengths.
    lengths: list[tuple[int, int]] = field(default_factory=list)

    def add(self, node: Node) -> None:
        if isinstance(node, bytes):
            self.data += node
            return
        position = len(self.data)
        self.data += bytes(node.size)
        for part in node.parts:
            self.add(part)
        length = (len(self.data) - position - node.size) % (1 << (8 * node.size))
        self.data[position : position + node.size] = length.to_bytes(node.size, "big")
        self.lengths.append((position, node.size))


def u(value: int, size: int) -> bytes:
    return value.to_bytes(size, "big")


def handshake(msg_type: int, *parts: Node) -> list[Node]:
    return [u(msg_type, 1), Vec(3, list(parts))]


small = st.binary(max_size=40)
extension_types = st.sampled_from([int(kind) for kind in Extension] + [0xFFFF, 0x1234])
extensions = st.lists(st.tuples(extension_types, small), max_size=6)


@st.composite
def server_hellos(draw: st.DrawFn, tls13: bool = True) -> tuple[list[Node], ServerHello]:
    version = draw(st.sampled_from([0x0300, 0x0301, 0x0302, 0x0303, 0x7F1C]))
    random = draw(st.one_of(st.binary(min_size=32, max_size=32), st.just(HELLO_RETRY_RANDOM)))
    session = draw(st.binary(max_size=32))
    suite, compression = draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 255))
    exts = draw(extensions)
    if not tls13:
        exts = [(kind, data) for kind, data in exts if kind != Extension.SUPPORTED_VERSIONS]
    elif draw(st.booleans()):
        exts.append((Extension.SUPPORTED_VERSIONS, u(0x0304, 2)))
    parts: list[Node] = [u(version, 2), random, Vec(1, [session]), u(suite, 2), u(compression, 1)]
    if exts or draw(st.booleans()):
        parts.append(Vec(2, [Vec(0, [u(kind, 2), Vec(2, [data])]) for kind, data in exts]))
    hello = ServerHello(version, random, session, suite, compression, tuple(exts))
    return handshake(2, *parts), hello


def flatten(nodes: list[Node]) -> list[Node]:
    """Vec(0, …) is a plain group (no length): used to keep an extension's parts together."""
    out: list[Node] = []
    for node in nodes:
        if isinstance(node, Vec) and node.size == 0:
            out.extend(flatten(node.parts))
        elif isinstance(node, Vec):
            out.append(Vec(node.size, flatten(node.parts)))
        else:
            out.append(node)
    return out


certificates = st.lists(st.binary(min_size=1, max_size=60), max_size=5)


@st.composite
def key_exchanges(draw: st.DrawFn) -> list[Node]:
    kind = draw(st.sampled_from(["ecdhe", "dhe", "rsa", "raw"]))
    signature: list[Node] = [u(draw(st.integers(0, 0xFFFF)), 2), Vec(2, [draw(small)])]
    if kind == "ecdhe":
        body: list[Node] = [u(3, 1), u(draw(st.integers(0, 0x11EE)), 2), Vec(1, [draw(small)]), *signature]
    elif kind == "dhe":
        body = [Vec(2, [draw(small)]), Vec(2, [draw(small)]), Vec(2, [draw(small)]), *signature]
    elif kind == "rsa":
        body = [Vec(2, [draw(small)]), Vec(2, [draw(small)]), *signature]
    else:
        body = [draw(small)]
    return handshake(12, *body)


@st.composite
def messages(draw: st.DrawFn) -> tuple[list[Node], object]:
    kind = draw(st.sampled_from(["certificate", "ske", "status", "done", "other"]))
    if kind == "certificate":
        chain = draw(certificates)
        return handshake(11, Vec(3, [Vec(3, [der]) for der in chain])), Certificate(tuple(chain))
    if kind == "ske":
        nodes = draw(key_exchanges())
        body = Encoded()
        for node in flatten(nodes[1].parts):  # type: ignore[union-attr]
            body.add(node)
        return nodes, ServerKeyExchange(bytes(body.data))
    if kind == "status":
        response = draw(small)
        return handshake(22, u(1, 1), Vec(3, [response])), CertificateStatus(1, response)
    if kind == "done":
        return handshake(14), ServerHelloDone()
    msg_type = draw(st.sampled_from([0, 4, 8, 13, 15, 20, 23, 254]))
    body_bytes = draw(small)
    return handshake(msg_type, body_bytes), OtherHandshake(msg_type, body_bytes)


@dataclass
class Flight:
    data: bytes
    lengths: list[tuple[int, int]]
    expected: list[object]


@st.composite
def flights(draw: st.DrawFn, tls13: bool = True) -> Flight:
    """ServerHello and further messages in handshake records (split across records anywhere), with
    alerts, ChangeCipherSpec and application data records in between."""
    hello_nodes, hello = draw(server_hellos(tls13))
    items = [(hello_nodes, hello), *draw(st.lists(messages(), max_size=5))]
    encoded = Encoded()
    expected: list[object] = []
    encrypted = False
    for nodes, message in items:
        # Each handshake message in one or more records of its own.
        inner = Encoded()
        for node in flatten(nodes):
            inner.add(node)
        payload = bytes(inner.data)
        cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(payload) - 1)), max_size=2))))
        bounds = [0, *[cut for cut in cuts if cut < len(payload)], len(payload)]
        for start, end in itertools.pairwise(bounds):
            base = len(encoded.data) + 5
            encoded.add(u(22, 1) + u(0x0303, 2))
            encoded.add(Vec(2, [payload[start:end]]))
            encoded.lengths.extend((base + offset, size) for offset, size in inner.lengths if start <= offset < end)
            if encrypted:
                expected.append(EncryptedRecord(22, end - start))
        if not encrypted:
            expected.append(message)
        encrypted = encrypted or (
            isinstance(message, ServerHello) and message.version == 0x0304 and not message.is_hello_retry_request
        )
        extra = draw(st.sampled_from(["", "", "alert", "ccs", "appdata"]))
        if extra == "alert":
            level, description = draw(st.integers(0, 255)), draw(st.integers(0, 255))
            encoded.add(u(21, 1) + u(0x0303, 2))
            encoded.add(Vec(2, [u(level, 1) + u(description, 1)]))
            expected.append(Alert(level, description))
        elif extra == "ccs":
            encoded.add(u(20, 1) + u(0x0303, 2))
            encoded.add(Vec(2, [b"\x01"]))
            expected.append(ChangeCipherSpec())
        elif extra == "appdata":
            body = draw(small)
            encoded.add(u(23, 1) + u(0x0303, 2))
            encoded.add(Vec(2, [body]))
            expected.append(EncryptedRecord(23, len(body)))
    return Flight(bytes(encoded.data), encoded.lengths, expected)


@st.composite
def hostile_flights(draw: st.DrawFn) -> bytes:
    """A flight whose length fields lie, then byte-mutated and perhaps truncated; sometimes SSL 2.0."""
    if draw(st.integers(0, 9)) == 0:
        kinds = draw(st.lists(st.integers(0, 0xFFFFFF), max_size=4))
        cert, connection = draw(small), draw(st.binary(max_size=16))
        specs = b"".join(u(kind, 3) for kind in kinds)
        body = u(4, 1) + u(0, 1) + u(1, 1) + u(2, 2) + u(len(cert), 2) + u(len(specs), 2) + u(len(connection), 2)
        message = body + cert + specs + connection
        return draw(mutated(u(0x8000 | len(message), 2) + message))
    flight = draw(flights())
    data = bytearray(flight.data)
    for _ in range(draw(st.integers(0, 3))):
        if not flight.lengths:
            break
        offset, size = draw(st.sampled_from(flight.lengths))
        if offset + size > len(data):
            continue
        current = int.from_bytes(data[offset : offset + size], "big")
        choice = draw(
            st.sampled_from([0, 1, current - 1, current + 1, (1 << (8 * size)) - 1, draw(st.integers(0, 1 << 24))])
        )
        data[offset : offset + size] = (choice % (1 << (8 * size))).to_bytes(size, "big")
    return draw(mutated(bytes(data), max_mutations=3))


def run(chunks: list[bytes], max_bytes: int = MAX_BYTES) -> tuple[list[object], TlsParseError | None]:
    parser = FlightParser(max_bytes=max_bytes)
    events: list[object] = []
    with time_bound(BOUND_SECONDS):
        try:
            for chunk in chunks:
                events.extend(parser.feed(chunk))
        except TlsParseError as exc:
            return events, exc
    return events, None


def payload_size(event: object) -> int:
    sizes = {
        ServerHello: lambda e: len(e.session_id) + sum(len(data) + 4 for _, data in e.extensions),
        Certificate: lambda e: sum(len(der) for der in e.chain),
        ServerKeyExchange: lambda e: len(e.body),
        CertificateStatus: lambda e: len(e.response),
        OtherHandshake: lambda e: len(e.body),
        EncryptedRecord: lambda e: e.length,
        Sslv2ServerHello: lambda e: len(e.certificate) + len(e.connection_id),
    }
    size = sizes.get(type(event))
    return size(event) if size else 0


def check_bounds(data: bytes, events: list[object]) -> None:
    # Every event consumes at least two bytes of input (an alert), and carries no more than came in.
    assert len(events) <= min(len(data) // 2 + 1, MAX_EVENTS)
    assert sum(payload_size(event) for event in events) <= len(data)
    for event in events:
        if isinstance(event, Certificate):
            assert len(event.chain) <= MAX_CERTIFICATES
        assert isinstance(event, Event)


@fuzz()
@given(st.data())
def test_hostile_flights_give_bounded_events_or_a_parse_error(data: st.DataObject) -> None:
    flight = data.draw(hostile_flights(), label="flight")
    chunks = data.draw(chunked(flight), label="chunks")
    events, error = run(chunks)
    check_bounds(flight, events)
    whole_events, whole_error = run([flight])
    assert (error is None) == (whole_error is None), (error, whole_error)
    if error is None:
        assert events == whole_events
    # The parameters of any ServerKeyExchange, read for every key exchange, parse or raise TlsParseError.
    for event in events:
        if isinstance(event, ServerKeyExchange):
            for kx in KEY_EXCHANGES:
                for tls12 in (True, False):
                    with contextlib.suppress(TlsParseError):
                        parse_server_key_exchange(event.body, kx, tls12=tls12, signed=kx != "PSK")


@fuzz()
@given(st.lists(st.binary(max_size=600), max_size=12))
def test_arbitrary_bytes_give_bounded_events_or_a_parse_error(chunks: list[bytes]) -> None:
    events, _ = run(chunks)
    check_bounds(b"".join(chunks), events)


@fuzz()
@given(st.binary(max_size=FLOOD_BOUND // 2), st.integers(1, 2048))
def test_the_flight_size_is_bounded(padding: bytes, chunk: int) -> None:
    # Endless well-framed application data: the bound stops it, however it arrives.
    record = b"\x17\x03\x03" + u(len(padding), 2) + padding
    flood = b"\x14\x03\x03\x00\x01\x01" + record * (FLOOD_BOUND // len(record) + 2)
    events, error = run([flood[i : i + chunk] for i in range(0, len(flood), chunk)], FLOOD_BOUND)
    assert error is not None
    assert "more than" in str(error)
    assert sum(payload_size(event) for event in events) <= FLOOD_BOUND


@fuzz()
@given(certificates, st.lists(st.binary(max_size=8), max_size=5), st.data())
def test_tls13_certificate_bodies_parse_or_raise(chain: list[bytes], exts: list[bytes], data: st.DataObject) -> None:
    entries = [Vec(3, [der]) for der in chain]
    body = Encoded()
    for node in [
        Vec(1, [data.draw(st.binary(max_size=4))]),
        Vec(3, [Vec(0, [e, Vec(2, [x])]) for e, x in zip(entries, exts, strict=False)]),
    ]:
        body.add(flatten([node])[0])
    mutated_body = data.draw(mutated(bytes(body.data), max_mutations=2))
    try:
        parsed = parse_certificate(mutated_body, tls13=True)
    except TlsParseError:
        return
    assert len(parsed.chain) <= MAX_CERTIFICATES
    assert sum(len(der) for der in parsed.chain) <= len(mutated_body)


@fuzz()
@given(flights(tls13=False), st.data())
def test_well_formed_flights_parse_back_to_their_messages(flight: Flight, data: st.DataObject) -> None:
    events, error = run(data.draw(chunked(flight.data)))
    assert error is None, error
    assert events == flight.expected
