"""What the prober sends: stream headers and the few elements of its dialogues.

Every value that comes from outside (domains, random ids) is escaped as an XML attribute value,
so no input can change the structure of what we send.
"""

from __future__ import annotations

import base64
from xml.sax.saxutils import escape

from scanners.base import ServiceKind
from scanners.stream.features import DIALBACK_NS, SASL2_NS, SASL_NS, TLS_NS
from scanners.stream.xml import STREAMS_NS

#: Tab, CR and LF as character references: a parser turns them, written literally in an attribute
#: value, into spaces (XML 1.0 §3.3.3), so the value read back would differ from the value sent.
_ATTRIBUTE_ENTITIES = {"'": "&apos;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}

#: In text a parser turns CR (and CR LF) into LF (XML 1.0 §2.11); a reference keeps it.
_TEXT_ENTITIES = {"\r": "&#13;"}


def quoteattr(value: str) -> str:
    """An attribute value in single quotes that reads back as ``value``: nothing in it ends or alters it."""
    return "'" + escape(value, _ATTRIBUTE_ENTITIES) + "'"


CONTENT_NS = {ServiceKind.C2S: "jabber:client", ServiceKind.S2S: "jabber:server"}

STARTTLS = f"<starttls xmlns='{TLS_NS}'/>".encode()
SASL_ABORT = f"<abort xmlns='{SASL_NS}'/>".encode()
SASL2_ABORT = f"<abort xmlns='{SASL2_NS}'/>".encode()
CLOSE = b"</stream:stream>"


def stream_header(kind: ServiceKind, domain: str, from_domain: str | None = None) -> bytes:
    """The initial header: c2s never sends ``from`` (no JID before TLS); s2s declares dialback."""
    parts = [f"<stream:stream xmlns={quoteattr(CONTENT_NS[kind])} xmlns:stream='{STREAMS_NS}'"]
    if kind is ServiceKind.S2S:
        parts.append(f" xmlns:db='{DIALBACK_NS}'")
        if from_domain:
            parts.append(f" from={quoteattr(from_domain)}")
    parts.append(f" to={quoteattr(domain)} version='1.0' xml:lang='en'>")
    return ("<?xml version='1.0'?>" + "".join(parts)).encode()


def sasl_auth(mechanism: str, initial: bytes | None) -> bytes:
    """RFC 6120 ``<auth>``; an empty initial response is sent as ``=``."""
    body = ""
    if initial is not None:
        body = base64.b64encode(initial).decode() or "="
    return f"<auth xmlns='{SASL_NS}' mechanism={quoteattr(mechanism)}>{body}</auth>".encode()


def sasl2_authenticate(mechanism: str, initial: bytes) -> bytes:
    """XEP-0388 ``<authenticate>`` with an initial response."""
    body = base64.b64encode(initial).decode()
    return (
        f"<authenticate xmlns='{SASL2_NS}' mechanism={quoteattr(mechanism)}>"
        f"<initial-response>{body}</initial-response></authenticate>"
    ).encode()


def dialback_verify(sender: str, receiver: str, stream_id: str, key: str) -> bytes:
    """XEP-0220 ``<db:verify>``: asks the server to check a key; it never makes the server connect out."""
    return (
        f"<db:verify from={quoteattr(sender)} to={quoteattr(receiver)} id={quoteattr(stream_id)}>"
        f"{escape(key, _TEXT_ENTITIES)}</db:verify>"
    ).encode()


def ping(stanza_id: str) -> bytes:
    return f"<iq type='get' id={quoteattr(stanza_id)}><ping xmlns='urn:xmpp:ping'/></iq>".encode()
