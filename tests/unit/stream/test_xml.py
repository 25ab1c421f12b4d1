"""The safe stream parser: events, raw evidence, and every refusal a hostile server can provoke."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanners.stream.xml import (
    STREAMS_NS,
    StreamClosed,
    StreamElement,
    StreamOpened,
    StreamParser,
    XmlLimits,
    XmlMalformed,
    XmlRefused,
)

HEADER = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
    b" xmlns:db='jabber:server:dialback' from='example.test' id='a>b' version='1.0' xml:lang='en'>"
)
FEATURES = (
    b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
    b"<x xmlns='urn:example' note='1 > 0'/></stream:features>"
)
STREAM = HEADER + b"\n " + FEATURES + b" <iq type='result' id='1'/></stream:stream>"


def events_of(data: bytes, cuts: list[int] | None = None, limits: XmlLimits | None = None) -> list[object]:
    parser = StreamParser(limits)
    bounds = [0, *sorted(set(cuts or [])), len(data)]
    events: list[object] = []
    for start, end in itertools.pairwise(bounds):
        events.extend(parser.feed(data[start:end]))
    return events


def flood(parser: StreamParser, make_chunk: Callable[[int], bytes], times: int) -> None:
    for index in range(times):
        parser.feed(make_chunk(index))


def test_a_stream_becomes_header_elements_and_end() -> None:
    opened, features, iq, closed = events_of(STREAM)
    assert isinstance(opened, StreamOpened)
    assert opened.attributes["id"] == "a>b"
    assert opened.attributes["{http://www.w3.org/XML/1998/namespace}lang"] == "en"
    assert opened.namespaces == {None: "jabber:client", "stream": STREAMS_NS, "db": "jabber:server:dialback"}
    assert opened.xml_declaration
    assert isinstance(features, StreamElement)
    assert features.tag == f"{{{STREAMS_NS}}}features"
    assert features.raw == FEATURES  # as received, even with '>' inside an attribute value
    assert [child.tag for child in features.element] == ["{urn:ietf:params:xml:ns:xmpp-tls}starttls", "{urn:example}x"]
    assert isinstance(iq, StreamElement)
    assert iq.raw == b"<iq type='result' id='1'/>"
    assert isinstance(closed, StreamClosed)


@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), max_size=12))
def test_any_split_of_the_input_gives_the_same_events(cuts: list[int]) -> None:
    whole = events_of(STREAM)
    split = events_of(STREAM, cuts)
    assert [type(event) for event in split] == [type(event) for event in whole]
    assert [event.raw for event in split if isinstance(event, StreamElement)] == [
        event.raw for event in whole if isinstance(event, StreamElement)
    ]


def test_an_element_is_reported_as_soon_as_its_end_tag_arrives() -> None:
    parser = StreamParser()
    assert isinstance(parser.feed(HEADER)[0], StreamOpened)
    assert parser.feed(FEATURES[:-1]) == []
    assert isinstance(parser.feed(FEATURES[-1:])[0], StreamElement)


BILLION_LAUGHS = (
    b"<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol1 '&lol;&lol;&lol;&lol;'>]>"
    b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>&lol1;"
)


@pytest.mark.parametrize(
    "document",
    [
        BILLION_LAUGHS,
        b"<!DOCTYPE stream SYSTEM 'file:///etc/passwd'><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>",
        b"<!DOCTYPE x [<!ENTITY % p SYSTEM 'http://192.0.2.1/x'> %p;]>",
        b"<!DOCTYPE x [<!NOTATION n SYSTEM 'n'>]>",
    ],
    ids=["billion-laughs", "external-dtd", "parameter-entity", "notation"],
)
def test_any_dtd_is_refused(document: bytes) -> None:
    with pytest.raises(XmlRefused, match="DOCTYPE"):
        events_of(document)


def test_an_undeclared_entity_is_not_well_formed() -> None:
    with pytest.raises(XmlMalformed):
        events_of(HEADER + b"<stream:features>&ghost;</stream:features>")


def test_predefined_entities_are_fine() -> None:
    _, features = events_of(HEADER + b"<stream:features><x xmlns='urn:example'>&lt;&amp;&gt;</x></stream:features>")
    assert isinstance(features, StreamElement)
    assert features.element[0].text == "<&>"


def test_nesting_is_bounded() -> None:
    with pytest.raises(XmlRefused, match="nested deeper than 16"):
        events_of(HEADER + b"<a>" * 20)


def test_an_element_is_bounded_in_size_while_it_arrives() -> None:
    limits = XmlLimits(max_element_bytes=10_000)
    parser = StreamParser(limits)
    parser.feed(HEADER + b"<stream:features>")
    with pytest.raises(XmlRefused, match="element exceeded 10000 bytes"):
        flood(parser, lambda _: b"<x xmlns='urn:example'>" + b"y" * 500 + b"</x>", 1000)
    assert parser.total < 12_000  # refused as soon as the bound was passed, not after the flood


def test_an_endless_header_is_bounded() -> None:
    parser = StreamParser(XmlLimits(max_header_bytes=10_000))
    parser.feed(b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'")
    with pytest.raises(XmlRefused, match="stream header exceeded"):
        flood(parser, lambda index: f" a{index}='{'x' * 100}'".encode(), 1000)
    assert parser.total < 12_000


def test_the_header_bound_is_far_below_the_element_bound_by_default() -> None:
    # Found measuring 200 scans against endless headers: at the element bound (256 KiB, held by us and by
    # expat) each connection took ~0.8 MiB; no real server sends a header above a few hundred bytes.
    parser = StreamParser()
    parser.feed(b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'")
    with pytest.raises(XmlRefused, match="stream header exceeded 16384 bytes"):
        flood(parser, lambda index: f" a{index}='{'x' * 1000}'".encode(), 300)
    assert parser.total < 18 * 1024


def test_the_whole_stream_is_bounded() -> None:
    parser = StreamParser(XmlLimits(max_stream_bytes=50_000))
    parser.feed(HEADER)
    with pytest.raises(XmlRefused, match="stream exceeded 50000 bytes"):
        flood(parser, lambda _: b"<iq xmlns='jabber:client' type='result'/>", 2000)


def test_whitespace_between_elements_does_not_add_up_to_an_element() -> None:
    parser = StreamParser(XmlLimits(max_element_bytes=1000))
    parser.feed(HEADER)
    for _ in range(100):
        parser.feed(b" " * 500)  # keepalives: 50 kB in all, far above the element bound
    assert isinstance(parser.feed(b"<iq type='result'/>")[0], StreamElement)


@pytest.mark.parametrize(
    "data",
    [b"HTTP/1.1 400 Bad Request\r\n\r\n", b"\x16\x03\x01\x00\x05hello", HEADER + b"<a></b>"],
    ids=["http", "tls-record", "mismatched-tags"],
)
def test_garbage_is_not_well_formed(data: bytes) -> None:
    with pytest.raises(XmlMalformed, match="not well-formed"):
        events_of(data)


def test_a_root_other_than_a_stream_is_refused() -> None:
    with pytest.raises(XmlMalformed, match="expected a stream header"):
        events_of(b"<html>")


def test_a_failed_parser_stays_failed() -> None:
    parser = StreamParser()
    with pytest.raises(XmlMalformed):
        parser.feed(b"<<")
    with pytest.raises(XmlMalformed):
        parser.feed(HEADER)


def test_comments_and_processing_instructions_are_ignored() -> None:
    events = events_of(HEADER + b"<!-- hi --><?pi x?><iq type='result'/>")
    assert [type(event) for event in events] == [StreamOpened, StreamElement]


HEADER_BODY = HEADER.split(b"?>", 1)[1]


@pytest.mark.parametrize(
    "encoding", ["ISO-8859-1", "cp1252", "mac-roman", "UTF-16", "shift_jis", "utf-32", "foo", "rot13", "punycode"]
)
def test_an_encoding_other_than_utf8_is_refused(encoding: str) -> None:
    # Regression (fuzzing): a single-byte codec was decoded with it; an unknown, multi-byte or non-text
    # codec escaped as LookupError, ValueError or UnicodeError instead of the parser's refusal.
    declaration = f"<?xml version='1.0' encoding='{encoding}'?>".encode()
    with pytest.raises(XmlRefused, match="UTF-8 only"):
        events_of(declaration + HEADER_BODY.replace(b"example.test", b"\xe9xample.test"))


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("cuts", [None, [1], [1, 2, 3]])
def test_utf16_and_utf32_streams_are_refused_however_split(codec: str, cuts: list[int] | None) -> None:
    with pytest.raises(XmlRefused, match="UTF-8 only"):
        events_of(HEADER.decode().encode(codec), cuts)


@pytest.mark.parametrize("declared", ["UTF-8", "utf-8", "utf8"])
def test_utf8_may_be_declared_and_a_utf8_bom_is_harmless(declared: str) -> None:
    data = f"\ufeff<?xml version='1.0' encoding='{declared}'?>".encode() + HEADER_BODY
    events = events_of(data)
    assert isinstance(events[0], StreamOpened)
    assert events[0].xml_declaration
