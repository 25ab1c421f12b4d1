"""Shared pieces of the routes: the site, reading scans, caching what never changes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Path
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from observatory.storage import CorruptScan, StoredScan, get_scan
from observatory.storage.records import ScanSummary, summary_of
from observatory.storage.repository import SCANS, SUMMARY
from observatory.web.errors import SiteError

#: The largest id a row can have (a 64-bit signed key): larger ones are refused as invalid, not looked up.
MAX_ID = 2**63 - 1
ScanId = Annotated[int, Path(ge=1, le=MAX_ID, description="The scan's id")]

if TYPE_CHECKING:
    from observatory.web.app import Site


def site_of(request: Request) -> Site:
    return request.app.state.site  # type: ignore[no-any-return]


@contextmanager
def session_of(request: Request) -> Iterator[Session]:
    site = site_of(request)
    with site.database.connection_errors(), site.database.session() as session:
        yield session


def summary(request: Request, scan_id: int) -> ScanSummary:
    """A scan's row without its documents; 404 when there is none."""
    with session_of(request) as session:
        row = session.execute(select(*SUMMARY).where(SCANS.c.id == scan_id)).one_or_none()
    if row is None:
        raise SiteError(404, f"There is no scan #{scan_id}.")
    return summary_of(row)


def stored(request: Request, scan_id: int) -> StoredScan:
    """A scan with its result; 404 when there is none, 500-with-reason when it cannot be read."""
    try:
        with session_of(request) as session:
            found = get_scan(session, scan_id=scan_id)
    except CorruptScan as exc:
        raise SiteError(500, f"Scan #{scan_id} is stored but cannot be read: {exc}") from None
    if found is None:
        raise SiteError(404, f"There is no scan #{scan_id}.")
    return found


def etag_of(summary: ScanSummary, variant: str) -> str:
    """Stored results change only when re-judged, which moves ``judged_at``."""
    judged = summary.judged_at.timestamp() if summary.judged_at else 0
    return f'"{summary.id}-{judged:.0f}-{variant}"'


#: Renders of uncached pages at once in this process.
RENDERING = threading.BoundedSemaphore(2)


class RenderCache:
    """Rendered responses of done scans, least recently used out first (thread-safe)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def cached_response(
    request: Request, found: ScanSummary, variant: str, media_type: str, render: Callable[[], str]
) -> Response:
    """A done scan's rendering, with an ETag (304 on a match) and the rendered bytes kept in memory."""
    etag = etag_of(found, variant)
    visibility = "public" if found.listed else "private"
    headers = {"ETag": etag, "Cache-Control": f"{visibility}, max-age=300"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    cache = site_of(request).cache
    key = f"{etag}:{media_type}"
    body = cache.get(key)
    if body is None:
        # Rendering is pure Python: more at once than cores only adds GIL hand-offs to everyone's wait.
        with RENDERING:
            body = cache.get(key) or render().encode("utf-8")
        cache.put(key, body)
    return Response(body, media_type=media_type, headers=headers)
