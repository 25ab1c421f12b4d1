"""A safe, incremental parser for one XMPP stream, built on expat.

Everything a server sends is hostile. The parser refuses any DOCTYPE, entity or notation
declaration (so no billion laughs, no external entities), and bounds the nesting depth, the size
of the stream header and of each top-level element, and the bytes of the whole stream. It turns
bytes into three events: the stream was opened (the header), a top-level element is complete
(with its raw bytes as evidence), the stream was closed.

Input is fed to expat up to and including each ``>``, so an element's raw bytes end exactly where
its end tag does. A new parser is needed for every stream restart (after STARTTLS).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.parsers import expat

STREAMS_NS = "http://etherx.jabber.org/streams"
XML_NS = "http://www.w3.org/XML/1998/namespace"
_ROOT = f"{{{STREAMS_NS}}}stream"


@dataclass(frozen=True)
class XmlLimits:
    """Bounds on what one stream may send; the defaults are far above what a real server sends."""

    #: One top-level element (features, an error, a stanza).
    max_element_bytes: int = 256 * 1024
    #: The stream header's start tag. Real headers take a few hundred bytes; expat holds an unfinished
    #: start tag whole, so this bound is paid twice per connection (our window and expat's buffer).
    max_header_bytes: int = 16 * 1024
    #: Nesting depth, counting the stream element as 1.
    max_depth: int = 16
    #: Everything sent on one stream (until a restart).
    max_stream_bytes: int = 4 * 1024 * 1024


class XmlError(Exception):
    """The stream cannot be parsed further."""


class XmlRefused(XmlError):
    """The server sent something we refuse to process: a DTD, an entity, an encoding other than UTF-8,
    or more than the limits."""


class XmlMalformed(XmlError):
    """The server sent something that is not a well-formed XMPP stream."""


@dataclass(frozen=True)
class StreamOpened:
    """The ``<stream:stream>`` start tag; attribute names in Clark notation (``{ns}name``)."""

    attributes: dict[str, str]
    #: Namespaces declared on the header: prefix (None for the default namespace) → URI.
    namespaces: dict[str | None, str]
    xml_declaration: bool


@dataclass(frozen=True)
class StreamElement:
    """A complete top-level element (a child of the stream element)."""

    element: ET.Element = field(repr=False)
    raw: bytes

    @property
    def tag(self) -> str:
        return self.element.tag


@dataclass(frozen=True)
class StreamClosed:
    """``</stream:stream>``."""


Event = StreamOpened | StreamElement | StreamClosed


def _clark(name: str) -> str:
    """expat's ``uri}local`` (namespace_separator ``}``) as ``{uri}local``."""
    return "{" + name if "}" in name else name


def _pieces(data: bytes) -> list[bytes]:
    parts = data.split(b">")
    pieces = [part + b">" for part in parts[:-1]]
    if parts[-1]:
        pieces.append(parts[-1])
    return pieces


class StreamParser:
    """Feed bytes, get events; raises ``XmlRefused`` or ``XmlMalformed`` and stays failed after that."""

    def __init__(self, limits: XmlLimits | None = None) -> None:
        self.limits = limits or XmlLimits()
        self.total = 0
        # XMPP is UTF-8 only (RFC 6120 §11.6). Fixing the encoding here keeps expat from ever asking
        # Python for another codec named by the peer (which raised LookupError, ValueError, ...).
        self._parser = expat.ParserCreate(encoding="UTF-8", namespace_separator="}")
        self._parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        if hasattr(self._parser, "SetReparseDeferralEnabled"):
            # expat >= 2.6 may hold back a complete token; we need each event as soon as its '>' arrives.
            self._parser.SetReparseDeferralEnabled(False)
        self._parser.StartElementHandler = self._start
        self._parser.EndElementHandler = self._end
        self._parser.CharacterDataHandler = self._text
        self._parser.StartNamespaceDeclHandler = self._namespace
        self._parser.XmlDeclHandler = self._xml_declaration
        self._parser.CommentHandler = self._markup
        self._parser.ProcessingInstructionHandler = self._markup
        for handler in (
            "StartDoctypeDeclHandler",
            "EntityDeclHandler",
            "UnparsedEntityDeclHandler",
            "NotationDeclHandler",
            "ExternalEntityRefHandler",
            "SkippedEntityHandler",
        ):
            setattr(self._parser, handler, self._refuse_declaration)
        self._depth = 0
        self._declaration = False
        self._root_namespaces: dict[str | None, str] = {}
        self._builder: ET.TreeBuilder | None = None
        self._events: list[Event] = []
        # Bytes since the last element boundary: the raw text of the element being built.
        self._window = bytearray()
        self._window_start = 0
        self._child_start: int | None = None
        # Set when a tag, comment or PI ended in the piece being parsed: its '>' ends that piece.
        self._markup_done = False
        self._failed: XmlError | None = None
        self._head = b""

    def feed(self, data: bytes) -> list[Event]:
        if self._failed is not None:
            raise self._failed
        self._events = []
        try:
            if len(self._head) < 2:
                # expat detects UTF-16 and UTF-32 (a byte order mark, or a NUL next to the first '<')
                # whatever encoding it was created with; no UTF-8 stream starts with those bytes.
                self._head += data[: 2 - len(self._head)]
                if any(byte in (0x00, 0xFE, 0xFF) for byte in self._head):
                    raise XmlRefused("the stream is UTF-16 or UTF-32 (XMPP allows UTF-8 only)")
            for piece in _pieces(data):
                self.total += len(piece)
                if self.total > self.limits.max_stream_bytes:
                    raise XmlRefused(f"the stream exceeded {self.limits.max_stream_bytes} bytes")
                self._window += piece
                header = self._depth == 0
                bound = self.limits.max_header_bytes if header else self.limits.max_element_bytes
                if len(self._window) > bound:
                    raise XmlRefused(f"{'the stream header' if header else 'an element'} exceeded {bound} bytes")
                self._markup_done = False
                self._parser.Parse(piece, False)
                if self._child_start is None:
                    self._trim_window()
        except expat.ExpatError as exc:
            self._fail(XmlMalformed(f"not well-formed XML: {expat.ErrorString(exc.code)} at byte {exc.offset}"))
            raise self._failed from None
        except XmlError as exc:
            self._fail(exc)
            raise
        return self._events

    def _fail(self, error: XmlError) -> None:
        """Remember the refusal and let go of the buffers (ours and expat's: up to the bounds each)."""
        self._failed = error
        self._window = bytearray()
        self._builder = None
        self._parser = expat.ParserCreate(encoding="UTF-8")

    def _trim_window(self) -> None:
        """Between elements, keep only an unfinished tag (from its '<'); complete markup is done with."""
        keep = -1 if self._markup_done else self._window.rfind(b"<")
        if keep > 0:
            del self._window[:keep]
            self._window_start += keep
        elif keep < 0:
            self._window_start += len(self._window)
            self._window.clear()

    def _refuse_declaration(self, *args: object) -> None:
        raise XmlRefused("the server sent a DOCTYPE or entity declaration (refused: XMPP forbids DTDs)")

    def _xml_declaration(self, version: str | None, encoding: str | None, standalone: int) -> None:
        if encoding is not None and encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            raise XmlRefused(f"the XML declaration names the encoding {encoding[:40]!r} (XMPP allows UTF-8 only)")
        self._declaration = True
        self._markup_done = True

    def _markup(self, *args: object) -> None:
        self._markup_done = True

    def _namespace(self, prefix: str | None, uri: str) -> None:
        if self._depth == 0:
            self._root_namespaces[prefix] = uri

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        self._depth += 1
        if self._depth > self.limits.max_depth:
            raise XmlRefused(f"elements nested deeper than {self.limits.max_depth}")
        tag = _clark(name)
        attrs = {_clark(key): value for key, value in attributes.items()}
        if self._depth == 1:
            if tag != _ROOT:
                raise XmlMalformed(f"expected a stream header, got <{tag}>")
            self._events.append(StreamOpened(attrs, dict(self._root_namespaces), self._declaration))
            self._markup_done = True
            return
        if self._depth == 2:
            self._builder = ET.TreeBuilder()
            self._child_start = self._parser.CurrentByteIndex
        assert self._builder is not None
        self._builder.start(tag, attrs)

    def _end(self, name: str) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._events.append(StreamClosed())
            self._markup_done = True
            return
        assert self._builder is not None
        assert self._child_start is not None
        self._builder.end(_clark(name))
        if self._depth == 1:
            raw = bytes(self._window[self._child_start - self._window_start :])
            self._events.append(StreamElement(self._builder.close(), raw))
            self._builder = None
            self._child_start = None
            self._window_start += len(self._window)
            self._window.clear()

    def _text(self, text: str) -> None:
        if self._builder is not None:
            self._builder.data(text)
