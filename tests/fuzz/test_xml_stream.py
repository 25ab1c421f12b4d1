"""Fuzzing the XML stream parser: whatever a server sends, the parser returns bounded events or
raises its refusal types (``XmlRefused``, ``XmlMalformed``), quickly, however the bytes are split;
well-formed streams of what the writer escapes read back as exactly what was written."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanners.stream.wire import quoteattr
from scanners.stream.xml import STREAMS_NS, StreamClosed, StreamElement, StreamOpened, StreamParser, XmlError, XmlLimits
from tests.fuzz.profiles import fuzz, time_bound
from tests.fuzz.strategies import chunked, mutated, xml_text

#: Small limits, so that examples of a few kilobytes reach every bound.
LIMITS = XmlLimits(max_element_bytes=2048, max_depth=8, max_stream_bytes=16 * 1024, max_header_bytes=1024)
#: One input is a few kilobytes; a second is generous on a loaded machine, a hang is not.
BOUND_SECONDS = 5.0

NAMES = ["features", "starttls", "required", "mechanisms", "mechanism", "iq", "message", "x", "a-b", "_c.d"]
NAMESPACES = ["urn:ietf:params:xml:ns:xmpp-tls", "jabber:client", "urn:example", "", STREAMS_NS]


@dataclass
class Node:
    name: str
    namespace: str | None
    attributes: dict[str, str]
    text: str
    children: list[Node] = field(default_factory=list)

    def serialise(self) -> str:
        attrs = "".join(f" {key}={quoteattr(value)}" for key, value in self.attributes.items())
        if self.namespace is not None:
            attrs += f" xmlns={quoteattr(self.namespace)}"
        inner = escape(self.text, {"\r": "&#13;"}) + "".join(child.serialise() for child in self.children)
        return f"<{self.name}{attrs}>{inner}</{self.name}>" if inner else f"<{self.name}{attrs}/>"

    def matches(self, element: ET.Element, namespace: str) -> bool:
        own = namespace if self.namespace is None else self.namespace
        tag = f"{{{own}}}{self.name}" if own else self.name
        text = "".join(element.itertext()) if not list(element) else (element.text or "")
        return (
            element.tag == tag
            and element.attrib == self.attributes
            and text == self.text
            and len(element) == len(self.children)
            and all(child.matches(sub, own) for child, sub in zip(self.children, element, strict=True))
        )


def nodes(depth: int = 4) -> st.SearchStrategy[Node]:
    attributes = st.dictionaries(st.sampled_from(["id", "type", "to", "from", "note", "v"]), xml_text, max_size=3)
    leaf = st.builds(
        Node, st.sampled_from(NAMES), st.one_of(st.none(), st.sampled_from(NAMESPACES[:-1])), attributes, xml_text
    )
    if depth == 0:
        return leaf
    return st.builds(
        Node,
        st.sampled_from(NAMES),
        st.one_of(st.none(), st.sampled_from(NAMESPACES[:-1])),
        attributes,
        xml_text,
        st.lists(nodes(depth - 1), max_size=3),
    )


@dataclass
class Stream:
    declaration: bool
    header: dict[str, str]
    children: list[Node]
    closed: bool

    def serialise(self) -> bytes:
        declaration = "<?xml version='1.0'?>" if self.declaration else ""
        attrs = "".join(f" {key}={quoteattr(value)}" for key, value in self.header.items())
        body = "\n".join(child.serialise() for child in self.children)
        close = "</stream:stream>" if self.closed else ""
        return (
            f"{declaration}<stream:stream xmlns='jabber:client' xmlns:stream='{STREAMS_NS}'{attrs}>{body}{close}"
        ).encode()


streams = st.builds(
    Stream,
    st.booleans(),
    st.dictionaries(st.sampled_from(["to", "from", "id", "version"]), xml_text, max_size=4),
    st.lists(nodes(3), max_size=4),
    st.booleans(),
)

#: Things a hostile server may put anywhere: DTDs, entities, comments, PIs, CDATA, other encodings, nesting.
HOSTILE = [
    b"<!DOCTYPE stream [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;'>]>",
    b"<!DOCTYPE stream SYSTEM 'file:///etc/passwd'>",
    b"<!ENTITY % p SYSTEM 'http://example.invalid/x'>",
    b"<!NOTATION n SYSTEM 'x'>",
    b"&b;",
    b"&unknown;",
    b"&#x0;",
    b"&#xD800;",
    b"&#1114111;",
    b"<!-- comment -->",
    b"<?pi data?>",
    b"<![CDATA[<not-markup>&]]>",
    b"<?xml version='1.0' encoding='ISO-8859-1'?>",
    b"<?xml version='1.0' encoding='UTF-16'?>",
    b"<?xml version='1.0' encoding='x-unknown'?>",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"<a>" * 40,
    b"</a>" * 3,
    b"<x " + b"a" * 3000 + b"='1'/>",
    b"<x>" + b"t" * 3000 + b"</x>",
    b"<stream:stream xmlns:stream='" + STREAMS_NS.encode() + b"'>",
    b"</stream:stream>",
    b"<x xmlns:p='urn:p' p:a='1' p:a='2'/>",
    b"<p:x/>",
]


#: Encodings a declaration may name: XMPP's own, single- and multi-byte codecs, non-text codecs, nonsense.
ENCODINGS = ["UTF-8", "utf8", "ISO-8859-1", "cp1252", "mac-roman", "UTF-16", "utf-32", "shift_jis", "big5", "cp037"]
ENCODINGS += ["ascii", "idna", "punycode", "rot13", "base64", "hex", "x-unknown", "", "utf-8\x00", "\u00e9"]

#: What may come before the stream header: nothing, a declaration, byte order marks, another encoding.
prefixes = st.one_of(
    st.just(b""),
    st.sampled_from(ENCODINGS).map(lambda name: f"<?xml version='1.0' encoding='{name}'?>".encode()),
    st.text(max_size=12).map(lambda name: f"<?xml version='1.0' encoding='{name}'?>".encode()),
    st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00", b"\x00\x00\xfe\xff"]),
)


@st.composite
def hostile_streams(draw: st.DrawFn) -> bytes:
    """A structured stream with hostile pieces spliced in at arbitrary points, then byte-mutated."""
    stream = draw(streams)
    prefix = draw(prefixes)
    if prefix:
        stream.declaration = False
    data = bytearray(prefix + stream.serialise())
    if draw(st.integers(0, 4)) == 0:
        data = bytearray(
            bytes(data).decode(errors="replace").encode(draw(st.sampled_from(["utf-16", "utf-16-be", "utf-32-le"])))
        )
    for _ in range(draw(st.integers(0, 4))):
        position = draw(st.integers(0, len(data)))
        data[position:position] = draw(st.sampled_from(HOSTILE))
    return draw(mutated(bytes(data)))


def run(chunks: list[bytes]) -> tuple[list[object], XmlError | None, StreamParser]:
    """Events as comparable tuples, and the refusal if there was one."""
    parser = StreamParser(LIMITS)
    events: list[object] = []
    with time_bound(BOUND_SECONDS):
        for chunk in chunks:
            try:
                batch = parser.feed(chunk)
            except XmlError as exc:
                error = exc
                break
            for event in batch:
                if isinstance(event, StreamElement):
                    assert len(event.raw) <= LIMITS.max_element_bytes
                    events.append(("element", event.tag, event.raw, ET.tostring(event.element)))
                else:
                    events.append(event)
        else:
            return events, None, parser
    # A failed parser stays failed, with the same refusal.
    with pytest.raises(XmlError) as again:
        parser.feed(b"<x/>")
    assert again.value is error
    return events, error, parser


def check_bounds(chunks: list[bytes], events: list[object], parser: StreamParser) -> None:
    fed = b"".join(chunks)
    assert parser.total <= LIMITS.max_stream_bytes
    # Every event ends at a '>': no input makes more events than it has of those.
    assert len(events) <= fed.count(b">")
    assert sum(1 for event in events if isinstance(event, StreamOpened)) <= 1


@fuzz()
@given(st.data())
def test_hostile_streams_give_bounded_events_or_a_refusal(data: st.DataObject) -> None:
    stream = data.draw(hostile_streams(), label="stream")
    chunks = data.draw(chunked(stream), label="chunks")
    events, error, parser = run(chunks)
    check_bounds(chunks, events, parser)
    # However the bytes are split, the parser comes to the same conclusion; when it accepts, the same events.
    whole_events, whole_error, _ = run([stream])
    assert (error is None) == (whole_error is None), (error, whole_error)
    if error is None:
        assert events == whole_events


@fuzz()
@given(st.binary(max_size=4096), st.data())
def test_arbitrary_bytes_give_bounded_events_or_a_refusal(blob: bytes, data: st.DataObject) -> None:
    chunks = data.draw(chunked(blob))
    events, _, parser = run(chunks)
    check_bounds(chunks, events, parser)


@fuzz()
@given(st.integers(1, 64), st.sampled_from([b"<a>", b"<a x='1'>", b"<a><!-- c --><b/>"]), st.data())
def test_nesting_at_any_depth_is_bounded(depth: int, opening: bytes, data: st.DataObject) -> None:
    header = f"<stream:stream xmlns:stream='{STREAMS_NS}'>".encode()
    stream = header + opening * depth + b"</a>" * depth
    events, error, parser = run(data.draw(chunked(stream)))
    if depth + 1 > LIMITS.max_depth:
        assert error is not None
        assert "nested deeper" in str(error)
    check_bounds([stream], events, parser)


@fuzz()
@given(streams, st.data())
def test_well_formed_streams_read_back_as_written(stream: Stream, data: st.DataObject) -> None:
    raw = stream.serialise()
    events, error, _ = run(data.draw(chunked(raw)))
    sizes_fit = all(len(child.serialise().encode()) <= LIMITS.max_element_bytes for child in stream.children)
    start = raw.index(b"<stream:stream")
    header_fits = raw.index(b">", start) + 1 - start <= LIMITS.max_header_bytes
    if not sizes_fit or not header_fits or len(raw) > LIMITS.max_stream_bytes:
        assert error is not None
        return
    assert error is None, error
    opened, *rest = events
    assert isinstance(opened, StreamOpened)
    assert {key: value for key, value in opened.attributes.items()} == stream.header
    assert opened.xml_declaration == stream.declaration
    elements = [event for event in rest if not isinstance(event, StreamClosed)]
    assert len(elements) == len(stream.children)
    parser = StreamParser(LIMITS)
    for node, element in zip(stream.children, parser_elements(parser, raw), strict=True):
        assert node.matches(element, "jabber:client"), (node, ET.tostring(element))
    assert (rest[-1:] == [StreamClosed()]) == stream.closed or (not rest and not stream.closed)


def parser_elements(parser: StreamParser, raw: bytes) -> list[ET.Element]:
    return [event.element for event in parser.feed(raw) if isinstance(event, StreamElement)]
