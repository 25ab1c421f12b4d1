"""Reading features, headers and stream errors; what we send; how answers are labelled."""

from __future__ import annotations

import pytest

from scanners.base import ServiceKind
from scanners.stream.facts import Caps, FastFeature, Sasl2Feature, StreamFeatures
from scanners.stream.features import parse_features, parse_header, parse_stream_error
from scanners.stream.probes import _judge_answer, choose_scram, scram_attributes
from scanners.stream.wire import sasl_auth, stream_header
from scanners.stream.xml import StreamElement, StreamOpened, StreamParser

PROLOGUE = (
    b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
    b" xmlns:db='jabber:server:dialback'>"
)


def element(xml: str) -> StreamElement:
    parser = StreamParser()
    parser.feed(PROLOGUE)
    (event,) = parser.feed(xml.encode())
    assert isinstance(event, StreamElement)
    return event


def features(inner: str) -> StreamFeatures:
    return parse_features(element(f"<stream:features>{inner}</stream:features>"))


SASL2_WITH_FAST = """
<authentication xmlns='urn:xmpp:sasl:2'>
  <mechanism>SCRAM-SHA-256-PLUS</mechanism><mechanism>SCRAM-SHA-256</mechanism>
  <inline>
    <bind xmlns='urn:xmpp:bind:0'/><sm xmlns='urn:xmpp:sm:3'/>
    <fast xmlns='urn:xmpp:fast:0' tls-0rtt='true'>
      <mechanism>HT-SHA-256-ENDP</mechanism><mechanism>HT-SHA-256-NONE</mechanism>
    </fast>
  </inline>
</authentication>"""


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        (
            "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>",
            {"starttls": True, "starttls_required": True},
        ),
        ("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", {"starttls": True, "starttls_required": False}),
        (
            "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism> PLAIN </mechanism>"
            "<mechanism>SCRAM-SHA-1-PLUS</mechanism></mechanisms>",
            {"sasl_mechanisms": ["PLAIN", "SCRAM-SHA-1-PLUS"]},
        ),
        (
            "<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-server-end-point'/>"
            "<channel-binding type='tls-exporter'/></sasl-channel-binding>",
            {"channel_bindings": ["tls-server-end-point", "tls-exporter"]},
        ),
        (
            SASL2_WITH_FAST,
            {
                "sasl2": Sasl2Feature(
                    mechanisms=["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"],
                    inline=["{urn:xmpp:bind:0}bind", "{urn:xmpp:sm:3}sm", "{urn:xmpp:fast:0}fast"],
                    fast=FastFeature(mechanisms=["HT-SHA-256-ENDP", "HT-SHA-256-NONE"], tls_0rtt=True),
                )
            },
        ),
        (
            "<compression xmlns='http://jabber.org/features/compress'><method>zlib</method></compression>",
            {"compression_methods": ["zlib"]},
        ),
        ("<register xmlns='http://jabber.org/features/iq-register'/>", {"registration": True}),
        (
            "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>",
            {"dialback": True, "dialback_errors": True},
        ),
        ("<bidi xmlns='urn:xmpp:features:bidi'/>", {"bidi": True}),
        (
            "<sm xmlns='urn:xmpp:sm:3'/><sm xmlns='urn:xmpp:sm:2'/>",
            {"stream_management": ["urn:xmpp:sm:3", "urn:xmpp:sm:2"]},
        ),
        ("<csi xmlns='urn:xmpp:csi:0'/>", {"csi": True}),
        (
            "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://prosody.im' ver='abc='/>",
            {"caps": Caps(node="https://prosody.im", ver="abc=", hash="sha-1")},
        ),
        (
            "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><limits xmlns='urn:xmpp:stream-limits:0'/>",
            {"other": ["{urn:ietf:params:xml:ns:xmpp-bind}bind", "{urn:xmpp:stream-limits:0}limits"]},
        ),
    ],
    ids=[
        "starttls-required",
        "starttls-optional",
        "sasl",
        "xep-0440",
        "sasl2-fast",
        "compression",
        "register",
        "dialback",
        "bidi",
        "sm",
        "csi",
        "caps",
        "unknown-kept-raw",
    ],
)
def test_features_are_interpreted(inner: str, expected: dict[str, object]) -> None:
    parsed = features(inner)
    assert parsed.model_dump(exclude={"raw"}) == StreamFeatures(**expected).model_dump(exclude={"raw"})  # type: ignore[arg-type]
    assert parsed.raw == f"<stream:features>{inner}</stream:features>"


def test_a_header_is_read_by_namespace_not_prefix() -> None:
    parser = StreamParser()
    (opened,) = parser.feed(
        b"<?xml version='1.0'?><s:stream xmlns='jabber:server' xmlns:s='http://etherx.jabber.org/streams'"
        b" xmlns:db='jabber:server:dialback' from='example.test' to='scanner.test' id='x1' version='1.0'"
        b" xml:lang='de'>"
    )
    assert isinstance(opened, StreamOpened)
    header = parse_header(opened)
    assert header.model_dump(by_alias=True) == {
        "id": "x1",
        "from": "example.test",
        "to": "scanner.test",
        "version": "1.0",
        "lang": "de",
        "namespace": "jabber:server",
        "dialback": True,
        "xml_declaration": True,
    }


@pytest.mark.parametrize(
    ("xml", "condition", "text", "redirect"),
    [
        (
            "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
            "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>not served here</text></stream:error>",
            "host-unknown",
            "not served here",
            None,
        ),
        (
            "<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>[2001:db8::9]:5222"
            "</see-other-host></stream:error>",
            "see-other-host",
            None,
            "[2001:db8::9]:5222",
        ),
        ("<stream:error><x xmlns='urn:example'/></stream:error>", "{urn:example}x", None, None),
        ("<stream:error/>", "undefined-condition", None, None),
    ],
    ids=["host-unknown", "redirect", "unknown", "empty"],
)
def test_stream_errors_are_facts(xml: str, condition: str, text: str | None, redirect: str | None) -> None:
    error = parse_stream_error(element(xml), "features")
    assert (error.condition, error.text, error.redirect, error.phase) == (condition, text, redirect, "features")
    assert error.raw == xml


def test_headers_we_send() -> None:
    c2s = stream_header(ServiceKind.C2S, "example.org").decode()
    assert c2s.startswith("<?xml version='1.0'?><stream:stream xmlns='jabber:client'")
    assert "from=" not in c2s
    assert "to='example.org'" in c2s
    s2s = stream_header(ServiceKind.S2S, "example.org", "scanner.test").decode()
    assert "xmlns='jabber:server'" in s2s
    assert "xmlns:db='jabber:server:dialback'" in s2s
    assert "from='scanner.test'" in s2s


def test_a_hostile_domain_cannot_change_what_we_send() -> None:
    sent = stream_header(ServiceKind.C2S, "x' version='0.9'><evil/><a b='").decode()
    parser = StreamParser()
    (opened,) = parser.feed(sent.encode())
    assert isinstance(opened, StreamOpened)
    assert opened.attributes["to"] == "x' version='0.9'><evil/><a b='"
    assert opened.attributes["version"] == "1.0"


def test_an_empty_sasl_response_is_an_equals_sign() -> None:
    assert sasl_auth("EXTERNAL", b"").endswith(b">=</auth>")
    assert sasl_auth("ANONYMOUS", None).endswith(b"></auth>")


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        (["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"], "SCRAM-SHA-256"),
        (["SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"], "SCRAM-SHA-1"),
        (["SCRAM-SHA3-512"], "SCRAM-SHA3-512"),
        (["SCRAM-SHA-256-PLUS", "PLAIN"], None),
    ],
)
def test_scram_choice_avoids_channel_binding(offered: list[str], chosen: str | None) -> None:
    assert choose_scram(offered) == chosen


def test_scram_attributes_keep_base64_values_whole() -> None:
    attributes = scram_attributes("r=abc,s=c2FsdA==,i=4096,h=bXVzdA==,t=0304")
    assert attributes == {"r": "abc", "s": "c2FsdA==", "i": "4096", "h": "bXVzdA==", "t": "0304"}


SASL = "urn:ietf:params:xml:ns:xmpp-sasl"


@pytest.mark.parametrize(
    ("answer", "label", "accepted"),
    [
        (f"<challenge xmlns='{SASL}'>cj1h</challenge>", "challenge", True),
        (f"<failure xmlns='{SASL}'><not-authorized/></failure>", "failure:not-authorized", True),
        (
            f"<failure xmlns='{SASL}'><encryption-required/><text>TLS first</text></failure>",
            "failure:encryption-required",
            False,
        ),
        (f"<failure xmlns='{SASL}'><invalid-mechanism/></failure>", "failure:invalid-mechanism", None),
        ("<db:verify from='a' to='b' id='c' type='invalid'/>", "db:verify:invalid", True),
        (
            "<db:verify type='error'><error type='cancel'>"
            "<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></db:verify>",
            "db:verify:error:policy-violation",
            False,
        ),
        ("<iq type='error'/>", "unexpected:{jabber:client}iq", None),
    ],
)
def test_enforcement_answers_are_labelled(answer: str, label: str, accepted: bool | None) -> None:
    assert _judge_answer(element(answer)) == (label, accepted)
