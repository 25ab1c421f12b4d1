"""The HTTP discovery probe of one domain: host-meta, ``_xmppconnect`` and POSH, concurrently."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence

from scanners.base import ErrorReason, ProbeError
from scanners.http.facts import HttpFacts, PoshService, XmppConnectFacts
from scanners.http.fetch import DEFAULT_SETTINGS, Fetcher, HttpSettings, Resolver
from scanners.http.hostmeta import probe_host_meta
from scanners.http.hostmeta_parse import parse_xmppconnect
from scanners.http.posh import probe_posh
from scanners.http.transport import AddressFilter, allow_any

#: ``lookup(name) -> TXT strings`` (each record's character-strings joined); our DNS prober's.
TxtLookup = Callable[[str], Awaitable[Sequence[str | bytes]]]
MAX_TXT_RECORDS = 50


async def xmppconnect_facts(domain: str, lookup: TxtLookup) -> XmppConnectFacts:
    name = f"_xmppconnect.{domain.rstrip('.')}"
    try:
        strings = list(await lookup(name))
    except Exception as exc:  # the DNS prober's failure is a fact about this name
        error = ProbeError(phase="txt", reason=ErrorReason.DNS, message=f"{type(exc).__name__}: {exc}")
        return XmppConnectFacts(name=name, error=error)
    texts = [item.decode("utf-8", errors="replace") if isinstance(item, bytes) else str(item) for item in strings]
    return XmppConnectFacts(name=name, records=[parse_xmppconnect(text) for text in texts[:MAX_TXT_RECORDS]])


async def probe_http(
    domain: str,
    addresses: Sequence[str],
    *,
    ssl_context: ssl.SSLContext,
    settings: HttpSettings = DEFAULT_SETTINGS,
    allow: AddressFilter = allow_any,
    resolve: Resolver | None = None,
    txt_lookup: TxtLookup | None = None,
    posh_services: Sequence[PoshService] = (PoshService.CLIENT, PoshService.SERVER),
) -> HttpFacts:
    """Everything XEP-0156 and POSH publish for ``domain``, fetched only from ``addresses``.

    ``addresses`` are the domain's own A/AAAA (from our resolver); ``resolve`` is used only for a
    redirect or POSH reference to another host; ``txt_lookup`` answers the ``_xmppconnect`` query.
    """
    clock = time.monotonic()
    fetcher = Fetcher(domain, addresses, ssl_context=ssl_context, settings=settings, allow=allow, resolve=resolve)
    host_meta, txt, *posh = await asyncio.gather(
        probe_host_meta(fetcher),
        xmppconnect_facts(domain, txt_lookup) if txt_lookup is not None else _nothing(),
        *(probe_posh(fetcher, service) for service in posh_services),
    )
    return HttpFacts(
        domain=domain,
        host_meta=host_meta,
        xmppconnect=txt,
        posh=posh,
        duration_seconds=round(time.monotonic() - clock, 6),
    )


async def _nothing() -> None:
    return None
