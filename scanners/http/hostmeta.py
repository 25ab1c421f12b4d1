"""XEP-0156 over HTTP: ``/.well-known/host-meta`` (XRD) and ``host-meta.json`` (JRD), HTTPS and HTTP.

Both formats are asked over HTTPS (following one redirect, never down to HTTP) and over plain HTTP
(following none: what plain HTTP itself serves is the fact, and a redirect to HTTPS is recorded).
"""

from __future__ import annotations

import asyncio

from scanners.base import ErrorReason, ProbeError
from scanners.http.facts import HostMetaDocument, HostMetaFacts, HostMetaFormat
from scanners.http.fetch import Fetcher
from scanners.http.hostmeta_parse import DocumentError, HostileXml, parse_jrd, parse_xrd

HOST_META = "/.well-known/host-meta"
HOST_META_JSON = "/.well-known/host-meta.json"
_HTTPS_REDIRECTS = 1

_FORMATS = {
    HostMetaFormat.XRD: (HOST_META, "application/xrd+xml", parse_xrd),
    HostMetaFormat.JRD: (HOST_META_JSON, "application/json", parse_jrd),
}


async def fetch_host_meta(fetcher: Fetcher, format: HostMetaFormat, scheme: str) -> HostMetaDocument:
    path, accept, parse = _FORMATS[format]
    retrieved = await fetcher.get(
        fetcher.settings.url(scheme, fetcher.domain, path),
        accept=accept,
        redirects=_HTTPS_REDIRECTS if scheme == "https" else 0,
    )
    document = HostMetaDocument(format=format, scheme=scheme, fetches=retrieved.fetches, errors=retrieved.errors)
    if retrieved.body is None:
        return document
    try:
        links = parse(retrieved.body)
    except HostileXml as exc:
        problem = ProbeError(phase="parse", reason=ErrorReason.HOSTILE_INPUT, message=str(exc))
    except DocumentError as exc:
        problem = ProbeError(phase="parse", reason=ErrorReason.PROTOCOL, message=str(exc))
    else:
        return document.model_copy(update={"parsed": True, "links": links})
    return document.model_copy(update={"errors": [*document.errors, problem]})


async def probe_host_meta(fetcher: Fetcher) -> HostMetaFacts:
    documents = await asyncio.gather(
        *(
            fetch_host_meta(fetcher, format, scheme)
            for scheme in ("https", "http")
            for format in (HostMetaFormat.XRD, HostMetaFormat.JRD)
        )
    )
    served = {document.scheme for document in documents if document.parsed}
    return HostMetaFacts(documents=list(documents), only_plain_http=served == {"http"})
