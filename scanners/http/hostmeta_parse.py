"""Parsing host-meta documents (XRD and JRD, RFC 6415) and ``_xmppconnect`` TXT strings, all hostile.

XRD is read with expat under handlers that refuse any DOCTYPE, entity or notation declaration, so no
entity can be expanded and nothing external is fetched; depth and element count are bounded (the
byte size is bounded by the fetcher). JSON depth is bounded by catching the parser's recursion limit.
"""

from __future__ import annotations

import json
from typing import Any
from xml.parsers import expat

from scanners.http.facts import ConnectionMethod, HostMetaLink, XmppConnectRecord

XRD_NS = "http://docs.oasis-open.org/ns/xri/xrd-1.0"
MAX_DEPTH = 16
MAX_ELEMENTS = 2000
MAX_LINKS = 100
_MAX_TEXT = 2048

#: XEP-0156 link relations, and the registered ``_xmppconnect`` attribute names.
_RELS = {
    "urn:xmpp:alt-connections:xbosh": ConnectionMethod.BOSH,
    "urn:xmpp:alt-connections:websocket": ConnectionMethod.WEBSOCKET,
    "urn:xmpp:alt-connections:httppoll": ConnectionMethod.HTTP_POLL,
    "urn:xmpp:alt-connections:s2s-websocket": ConnectionMethod.S2S_WEBSOCKET,
}
_TXT_ATTRIBUTES = {
    "_xmpp-client-xbosh": ConnectionMethod.BOSH,
    "_xmpp-client-httpbind": ConnectionMethod.BOSH,
    "_xmpp-client-websocket": ConnectionMethod.WEBSOCKET,
    "_xmpp-client-httppoll": ConnectionMethod.HTTP_POLL,
    "_xmpp-server-websocket": ConnectionMethod.S2S_WEBSOCKET,
}


class DocumentError(ValueError):
    """The document is not what it should be, or tried something we refuse (the message says which)."""


class HostileXml(DocumentError):
    """A DTD, an entity, or a document too deep or too large."""


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"


def secure_url(url: str) -> bool:
    return url.strip().lower().startswith(("https://", "wss://"))


def make_link(rel: str, href: str | None) -> HostMetaLink:
    return HostMetaLink(
        rel=_clip(rel),
        href=_clip(href) if href is not None else None,
        method=_RELS.get(rel),
        secure=secure_url(href) if href is not None else None,
    )


class _XrdReader:
    def __init__(self) -> None:
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser.StartDoctypeDeclHandler = self._doctype
        self.parser.EntityDeclHandler = self._refuse("an entity declaration")
        self.parser.UnparsedEntityDeclHandler = self._refuse("an unparsed entity")
        self.parser.NotationDeclHandler = self._refuse("a notation declaration")
        self.parser.ExternalEntityRefHandler = self._refuse("an external entity")
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.depth = 0
        self.elements = 0
        self.root: str | None = None
        self.links: list[HostMetaLink] = []

    @staticmethod
    def _refuse(what: str) -> Any:
        def handler(*_: object) -> None:
            raise HostileXml(f"XRD contains {what}, refused")

        return handler

    @staticmethod
    def _doctype(name: str, system_id: str | None, public_id: str | None, internal_subset: bool) -> None:
        if internal_subset or system_id or public_id:
            raise HostileXml("XRD contains a DOCTYPE with a DTD, refused")
        # A bare <!DOCTYPE html> is a web page answering for a missing file, not an attack.
        raise DocumentError(f"a DOCTYPE {_clip(name)} document, not XRD")

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        self.elements += 1
        if self.depth > MAX_DEPTH:
            raise HostileXml(f"XRD nested deeper than {MAX_DEPTH} elements")
        if self.elements > MAX_ELEMENTS:
            raise HostileXml(f"XRD has more than {MAX_ELEMENTS} elements")
        if self.depth == 1:
            self.root = name
            if name != f"{XRD_NS} XRD":
                raise DocumentError(f"root element is {_clark(name)}, not {{{XRD_NS}}}XRD")
        elif self.depth == 2 and name == f"{XRD_NS} Link" and "rel" in attributes:
            if len(self.links) >= MAX_LINKS:
                raise HostileXml(f"XRD has more than {MAX_LINKS} links")
            self.links.append(make_link(attributes["rel"], attributes.get("href")))

    def _end(self, name: str) -> None:
        del name
        self.depth -= 1


def _clark(name: str) -> str:
    namespace, _, local = name.rpartition(" ")
    return _clip(f"{{{namespace}}}{local}" if namespace else local)


def parse_xrd(data: bytes) -> list[HostMetaLink]:
    """The ``Link`` elements (with a ``rel``) directly under an XRD root."""
    reader = _XrdReader()
    try:
        reader.parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise DocumentError(f"not well-formed XML: {expat.ErrorString(exc.code)} at line {exc.lineno}") from None
    return reader.links


def parse_jrd(data: bytes) -> list[HostMetaLink]:
    """The ``links`` array of a JRD object (entries without a string ``rel`` are skipped)."""
    document = load_json(data)
    if not isinstance(document, dict):
        raise DocumentError(f"JRD is a JSON {type(document).__name__}, not an object")
    links = document.get("links", [])
    if not isinstance(links, list):
        raise DocumentError("JRD 'links' is not an array")
    if len(links) > MAX_LINKS:
        raise HostileXml(f"JRD has more than {MAX_LINKS} links")
    return [
        make_link(entry["rel"], entry.get("href") if isinstance(entry.get("href"), str) else None)
        for entry in links
        if isinstance(entry, dict) and isinstance(entry.get("rel"), str)
    ]


def load_json(data: bytes) -> object:
    """JSON from a remote server: UTF-8 (with or without BOM), nesting bounded by the recursion limit."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise DocumentError("not UTF-8") from None
    except RecursionError:
        raise HostileXml("JSON nested too deeply") from None
    except ValueError as exc:
        raise DocumentError(f"not JSON: {_clip(str(exc))}") from None


def parse_xmppconnect(text: str) -> XmppConnectRecord:
    """One TXT string, ``attribute=value`` or a bare attribute (RFC 1464, without its backquote escapes)."""
    attribute, equals, value = text.partition("=")
    attribute = attribute.strip()
    return XmppConnectRecord(
        raw=_clip(text),
        attribute=_clip(attribute),
        value=_clip(value) if equals else None,
        method=_TXT_ATTRIBUTES.get(attribute.lower()),
        secure=secure_url(value) if equals else None,
    )
