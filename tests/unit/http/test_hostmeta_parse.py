"""host-meta parsing: XRD through a DTD-refusing expat, JRD, and ``_xmppconnect`` strings."""

from __future__ import annotations

import pytest

from scanners.http.facts import ConnectionMethod
from scanners.http.hostmeta_parse import (
    MAX_DEPTH,
    MAX_LINKS,
    DocumentError,
    HostileXml,
    parse_jrd,
    parse_xmppconnect,
    parse_xrd,
)

XRD = """<?xml version='1.0' encoding='utf-8'?>
<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>
  <Link rel="urn:xmpp:alt-connections:xbosh" href="https://web.example.test:5280/bosh" />
  <Link rel="urn:xmpp:alt-connections:websocket" href="ws://web.example.test/ws" />
  <Link rel="lrdd" template="https://example.test/webfinger?q={uri}" />
</XRD>"""


def test_xrd_links_are_classified_and_kept_raw() -> None:
    links = parse_xrd(XRD.encode())
    assert [(link.method, link.secure) for link in links] == [
        (ConnectionMethod.BOSH, True),
        (ConnectionMethod.WEBSOCKET, False),
        (None, None),
    ]
    assert links[0].href == "https://web.example.test:5280/bosh"
    assert links[2].rel == "lrdd"
    assert links[2].href is None


def test_xrd_with_prefixed_namespace_is_the_same_document() -> None:
    text = (
        "<x:XRD xmlns:x='http://docs.oasis-open.org/ns/xri/xrd-1.0'>"
        "<x:Link rel='urn:xmpp:alt-connections:websocket' href='wss://example.test/ws'/></x:XRD>"
    )
    assert [link.href for link in parse_xrd(text.encode())] == ["wss://example.test/ws"]


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        (
            '<!DOCTYPE XRD [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>&b;</XRD>",
            "DOCTYPE",
        ),
        (
            "<!DOCTYPE XRD SYSTEM \"file:///etc/passwd\"><XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'/>",
            "DOCTYPE",
        ),
        (
            "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>" + "<a>" * (MAX_DEPTH + 1),
            "deeper",
        ),
        (
            "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>"
            + "<Link rel='r' href='https://x.test/'/>" * (MAX_LINKS + 1)
            + "</XRD>",
            "links",
        ),
    ],
    ids=["billion-laughs", "external-dtd", "too-deep", "too-many-links"],
)
def test_hostile_xrd_is_refused(text: str, refused: str) -> None:
    with pytest.raises(HostileXml, match=refused):
        parse_xrd(text.encode())


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("<html><body>It works!</body></html>", "root element is html"),
        ("<XRD><Link rel='r'/></XRD>", "not {http://docs.oasis-open.org/ns/xri/xrd-1.0}XRD"),
        ("<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'><Link>", "not well-formed"),
        ("<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>&undefined;</XRD>", "not well-formed"),
        ("", "not well-formed"),
        ("<!DOCTYPE html><html><body>Welcome</body></html>", "a DOCTYPE html document"),
    ],
    ids=["html", "no-namespace", "truncated", "undefined-entity", "empty", "html5-doctype"],
)
def test_wrong_content_is_a_document_error(text: str, complaint: str) -> None:
    with pytest.raises(DocumentError, match=complaint) as caught:
        parse_xrd(text.encode())
    assert not isinstance(caught.value, HostileXml)


def test_jrd_links() -> None:
    jrd = b"""{"subject": "x", "links": [
        {"rel": "urn:xmpp:alt-connections:websocket", "href": "wss://example.test/ws"},
        {"rel": "urn:xmpp:alt-connections:xbosh", "href": "http://example.test/bosh"},
        {"href": "https://no-rel.test/"}, "not an object", {"rel": "self", "href": 42}]}"""
    links = parse_jrd(jrd)
    assert [(link.method, link.secure, link.href) for link in links] == [
        (ConnectionMethod.WEBSOCKET, True, "wss://example.test/ws"),
        (ConnectionMethod.BOSH, False, "http://example.test/bosh"),
        (None, None, None),
    ]


def test_jrd_with_bom_and_no_links_is_empty() -> None:
    assert parse_jrd(b"\xef\xbb\xbf{}") == []


@pytest.mark.parametrize(
    ("data", "error", "complaint"),
    [
        (b"[1, 2]", DocumentError, "not an object"),
        (b'{"links": {}}', DocumentError, "not an array"),
        (b"<html/>", DocumentError, "not JSON"),
        (b"\xff\xfe{}", DocumentError, "not UTF-8"),
        (b"[" * 100_000, HostileXml, "nested too deeply"),
        (b'{"links": [' + b",".join([b'{"rel": "r"}'] * (MAX_LINKS + 1)) + b"]}", HostileXml, "more than"),
    ],
    ids=["array", "links-object", "html", "latin1", "deep", "many-links"],
)
def test_bad_jrd(data: bytes, error: type[Exception], complaint: str) -> None:
    with pytest.raises(error, match=complaint):
        parse_jrd(data)


BOSH_URL = "https://web.example.test:5280/bosh"
WS_URL = "ws://web.example.test/ws"


@pytest.mark.parametrize(
    ("text", "value", "method", "secure"),
    [
        (f"_xmpp-client-xbosh={BOSH_URL}", BOSH_URL, ConnectionMethod.BOSH, True),
        (f"_xmpp-client-websocket={WS_URL}", WS_URL, ConnectionMethod.WEBSOCKET, False),
        ("_xmpp-client-httppoll", None, ConnectionMethod.HTTP_POLL, None),
        ("v=spf1 -all", "spf1 -all", None, False),
    ],
)
def test_xmppconnect_strings(
    text: str, value: str | None, method: ConnectionMethod | None, secure: bool | None
) -> None:
    record = parse_xmppconnect(text)
    assert record.raw == text
    assert record.attribute == text.partition("=")[0]
    assert (record.value, record.method, record.secure) == (value, method, secure)
