"""Reading what the server said: its stream header, ``<stream:features>`` and ``<stream:error>``.

Pure functions over parsed elements: every feature we know is interpreted, every other one is kept
as ``{namespace}element``, and the raw element is kept as evidence.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from scanners.stream.facts import Caps, FastFeature, Sasl2Feature, StreamError, StreamFeatures, StreamHeader
from scanners.stream.xml import STREAMS_NS, XML_NS, StreamElement, StreamOpened

TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"
SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl"
STREAM_ERRORS_NS = "urn:ietf:params:xml:ns:xmpp-streams"
SASL2_NS = "urn:xmpp:sasl:2"
SASL_CB_NS = "urn:xmpp:sasl-cb:0"
FAST_NS = "urn:xmpp:fast:0"
COMPRESS_NS = "http://jabber.org/features/compress"
REGISTER_NS = "http://jabber.org/features/iq-register"
DIALBACK_NS = "jabber:server:dialback"
DIALBACK_FEATURE_NS = "urn:xmpp:features:dialback"
BIDI_NS = "urn:xmpp:features:bidi"
SM_NAMESPACES = ("urn:xmpp:sm:3", "urn:xmpp:sm:2")
CSI_NS = "urn:xmpp:csi:0"
CAPS_NS = "http://jabber.org/protocol/caps"

FEATURES = f"{{{STREAMS_NS}}}features"
ERROR = f"{{{STREAMS_NS}}}error"


def qname(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _texts(parent: ET.Element, namespace: str, name: str) -> list[str]:
    return [(child.text or "").strip() for child in parent.iterfind(qname(namespace, name))]


def parse_header(opened: StreamOpened) -> StreamHeader:
    attrs = opened.attributes
    return StreamHeader(
        id=attrs.get("id"),
        from_=attrs.get("from"),
        to=attrs.get("to"),
        version=attrs.get("version"),
        lang=attrs.get(qname(XML_NS, "lang")),
        namespace=opened.namespaces.get(None),
        dialback=DIALBACK_NS in opened.namespaces.values(),
        xml_declaration=opened.xml_declaration,
    )


def _sasl2(element: ET.Element) -> Sasl2Feature:
    inline = element.find(qname(SASL2_NS, "inline"))
    fast = inline.find(qname(FAST_NS, "fast")) if inline is not None else None
    return Sasl2Feature(
        mechanisms=_texts(element, SASL2_NS, "mechanism"),
        inline=[child.tag for child in inline] if inline is not None else [],
        fast=FastFeature(
            mechanisms=_texts(fast, FAST_NS, "mechanism"),
            tls_0rtt=fast.get("tls-0rtt") in ("true", "1"),
        )
        if fast is not None
        else None,
    )


def parse_features(event: StreamElement) -> StreamFeatures:
    """Interpret one ``<stream:features>`` element."""
    values: dict[str, object] = {"raw": event.raw.decode("utf-8", "replace")}
    other: list[str] = []
    sm: list[str] = []
    for child in event.element:
        tag = child.tag
        if tag == qname(TLS_NS, "starttls"):
            values["starttls"] = True
            values["starttls_required"] = child.find(qname(TLS_NS, "required")) is not None
        elif tag == qname(SASL_NS, "mechanisms"):
            values["sasl_mechanisms"] = _texts(child, SASL_NS, "mechanism")
        elif tag == qname(SASL_CB_NS, "sasl-channel-binding"):
            values["channel_bindings"] = [
                cb.get("type", "") for cb in child.iterfind(qname(SASL_CB_NS, "channel-binding"))
            ]
        elif tag == qname(SASL2_NS, "authentication"):
            values["sasl2"] = _sasl2(child)
        elif tag == qname(COMPRESS_NS, "compression"):
            values["compression_methods"] = _texts(child, COMPRESS_NS, "method")
        elif tag == qname(REGISTER_NS, "register"):
            values["registration"] = True
        elif tag == qname(DIALBACK_FEATURE_NS, "dialback"):
            values["dialback"] = True
            values["dialback_errors"] = child.find(qname(DIALBACK_FEATURE_NS, "errors")) is not None
        elif tag == qname(BIDI_NS, "bidi"):
            values["bidi"] = True
        elif child.tag in (qname(ns, "sm") for ns in SM_NAMESPACES):
            sm.append(tag[1 : tag.index("}")])
        elif tag == qname(CSI_NS, "csi"):
            values["csi"] = True
        elif tag == qname(CAPS_NS, "c"):
            values["caps"] = Caps(node=child.get("node"), ver=child.get("ver"), hash=child.get("hash"))
        else:
            other.append(tag)
    return StreamFeatures.model_validate({**values, "stream_management": sm, "other": other})


def parse_stream_error(event: StreamElement, phase: str) -> StreamError:
    """Interpret one ``<stream:error>``: the defined condition, its text, a redirect target."""
    condition: str | None = None
    text: str | None = None
    redirect: str | None = None
    for child in event.element:
        if child.tag == qname(STREAM_ERRORS_NS, "text"):
            text = (child.text or "").strip() or None
        elif condition is None:
            condition = child.tag.rpartition("}")[2] if child.tag.startswith(f"{{{STREAM_ERRORS_NS}}}") else child.tag
            if condition == "see-other-host":
                redirect = (child.text or "").strip() or None
    return StreamError(
        condition=condition or "undefined-condition",
        text=text,
        redirect=redirect,
        phase=phase,
        raw=event.raw.decode("utf-8", "replace"),
    )


def sasl_condition(element: ET.Element) -> str:
    """The condition of a SASL ``<failure>`` (``not-authorized``, ``encryption-required``, …)."""
    for child in element:
        if child.tag.rpartition("}")[2] != "text":
            return child.tag.rpartition("}")[2]
    return "unspecified"
