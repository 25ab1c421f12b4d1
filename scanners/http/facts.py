"""What HTTPS discovery observes: host-meta documents and their links, ``_xmppconnect``, POSH files.

Facts only: a link's ``secure`` flag says whether its URL uses ``https``/``wss``, and POSH fingerprints
are kept as published; whether any of it is good enough, or matches a certificate, is judged in
``observatory``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from scanners.base import FactModel, ProbeError

#: How much of a body is kept as evidence: a host-meta or POSH file fits many times over, and a
#: web page answering in their place is recognisable without storing all of it.
KEPT_BODY_BYTES = 8192


class HttpFetch(FactModel):
    """One HTTP request and what came back. The body is kept (its start) only for 2xx answers."""

    url: str
    started_at: datetime
    duration_seconds: float | None = None
    #: The address that answered (one of those given by our resolver).
    address: str | None = None
    status: int | None = None
    content_type: str | None = None
    #: ``Location`` of a 3xx answer, as sent.
    location: str | None = None
    #: ``Access-Control-Allow-Origin`` as sent (XEP-0156 asks web clients' origins to be allowed).
    cors: str | None = None
    #: The start of a 2xx answer's body (``KEPT_BODY_BYTES``), decoded as UTF-8, invalid bytes replaced.
    body: str | None = None
    #: The whole body's size in bytes, as read and decompressed.
    body_bytes: int | None = None
    #: Failures: addresses that could not be reached before one answered, or why none did.
    errors: list[ProbeError] = []


class ConnectionMethod(StrEnum):
    """The alternative connection methods we recognise in host-meta links and ``_xmppconnect``."""

    BOSH = "bosh"
    WEBSOCKET = "websocket"
    HTTP_POLL = "httppoll"
    S2S_WEBSOCKET = "s2s-websocket"


class HostMetaFormat(StrEnum):
    XRD = "xrd"
    JRD = "jrd"


class HostMetaLink(FactModel):
    rel: str
    href: str | None = None
    #: ``None`` for link relations we do not interpret (they are kept all the same).
    method: ConnectionMethod | None = None
    #: The URL uses ``https`` or ``wss``; ``None`` without an ``href``.
    secure: bool | None = None


class HostMetaDocument(FactModel):
    """``/.well-known/host-meta`` (XRD) or ``host-meta.json`` (JRD), over one scheme."""

    format: HostMetaFormat
    #: ``https`` or ``http``: the scheme of the first request.
    scheme: str
    #: The request and, when one was followed, the redirect.
    fetches: list[HttpFetch] = []
    #: A 2xx answer was received and parsed as the expected format.
    parsed: bool = False
    links: list[HostMetaLink] = []
    #: Why the document could not be used: a refused redirect, not XRD, a DTD, bad JSON …
    errors: list[ProbeError] = []


class HostMetaFacts(FactModel):
    documents: list[HostMetaDocument] = []
    #: Some document was served over plain HTTP and none over HTTPS.
    only_plain_http: bool = False


class XmppConnectRecord(FactModel):
    """One TXT string at ``_xmppconnect.<domain>`` (``attribute=value``, RFC 1464)."""

    raw: str
    attribute: str
    value: str | None = None
    method: ConnectionMethod | None = None
    secure: bool | None = None


class XmppConnectFacts(FactModel):
    """The legacy XEP-0156 TXT record, from the lookup our DNS prober made."""

    name: str
    records: list[XmppConnectRecord] = []
    error: ProbeError | None = None


class PoshService(StrEnum):
    """POSH service names for XMPP (RFC 7712)."""

    CLIENT = "xmpp-client"
    SERVER = "xmpp-server"


class PoshFingerprint(FactModel):
    #: Hash function textual name as published, lower-cased (``sha-256``, ``sha-512`` …).
    algorithm: str
    #: The base64 digest as published (decoded only when matched).
    value: str


class PoshDocument(FactModel):
    """What one POSH JSON file said (RFC 7711 §3): fingerprints, or a ``url`` reference."""

    fingerprints: list[PoshFingerprint] = []
    #: Seconds the information may be used after retrieval.
    expires: int | None = None
    url: str | None = None


class PoshFacts(FactModel):
    service: PoshService
    url: str
    #: The request of the well-known URL (HTTP redirects are recorded, not followed).
    fetches: list[HttpFetch] = []
    document: PoshDocument | None = None
    #: The one ``url`` reference, when the document had one and it was followed.
    reference_fetches: list[HttpFetch] = []
    reference_document: PoshDocument | None = None
    #: Why the well-known document could not be used: a redirect, bad JSON, no ``expires`` …
    errors: list[ProbeError] = []
    #: Why the reference could not be used: not HTTPS, bad JSON, a second reference …
    reference_errors: list[ProbeError] = []


class HttpFacts(FactModel):
    """Everything HTTPS discovery observed for one domain."""

    domain: str
    host_meta: HostMetaFacts | None = None
    xmppconnect: XmppConnectFacts | None = None
    posh: list[PoshFacts] = []
    duration_seconds: float | None = None
