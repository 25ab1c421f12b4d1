"""What the prober sends reads back, through the stream parser, as exactly the values it was made of."""

from __future__ import annotations

import pytest

from scanners.base import ServiceKind
from scanners.stream.wire import dialback_verify, quoteattr, stream_header
from scanners.stream.xml import StreamElement, StreamOpened, StreamParser

STREAMS = "http://etherx.jabber.org/streams"


def _attribute(value: str) -> str:
    parser = StreamParser()
    opened = parser.feed(f"<stream:stream xmlns:stream='{STREAMS}' v={quoteattr(value)}>".encode())
    assert isinstance(opened[0], StreamOpened)
    return opened[0].attributes["v"]


@pytest.mark.parametrize("value", ["a\tb", "line\nbreak", "cr\rlf\r\n", " \t\r\n ", "'\"<>&", "&amp;", "é ☃ 𝄞"])
def test_attribute_values_round_trip(value: str) -> None:
    # Regression (fuzzing): tab, CR and LF were written literally and read back as spaces.
    assert _attribute(value) == value


def test_header_values_round_trip() -> None:
    header = stream_header(ServiceKind.S2S, "to\t'x'.example", from_domain="from\r\n.example")
    opened = StreamParser().feed(header)[0]
    assert isinstance(opened, StreamOpened)
    assert (opened.attributes["to"], opened.attributes["from"]) == ("to\t'x'.example", "from\r\n.example")


def test_dialback_key_text_round_trips() -> None:
    parser = StreamParser()
    parser.feed(
        stream_header(ServiceKind.S2S, "b.example", from_domain="a.example").replace(b"<?xml version='1.0'?>", b"")
    )
    (element,) = parser.feed(dialback_verify("a.example", "b.example", "id\n1", "k<&>\r\ney"))
    assert isinstance(element, StreamElement)
    assert (element.element.get("id"), element.element.text) == ("id\n1", "k<&>\r\ney")
