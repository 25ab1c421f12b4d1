"""Run one stored scan by its id: the only code path from a queued row to a done or failed one, used
by every executor (in-process now, Celery workers later)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable

from observatory.jobs.events import ProgressEvent
from observatory.model import ScanRequest
from observatory.orchestrate import ScanEvent, ScanOptions, run_scan
from observatory.storage import Database, StorageError, fail_scan, finish_scan
from observatory.storage.queue import claim_scan
from scanners.connection import Limiter
from scanners.tls.templates import TemplateStore

log = logging.getLogger(__name__)

Publish = Callable[[ProgressEvent], None]


def options_for(template: ScanOptions, request: ScanRequest) -> ScanOptions:
    """The scan options of a stored request: the site's engine settings (resolver, trust anchors, extra
    roots, pacing, time limits) with the request's domain and kinds."""
    return dataclasses.replace(template, domain=request.domain, kinds=tuple(request.kinds))


def _claim(database: Database, scan_id: int, take_over: bool) -> ScanRequest | None:
    with database.connection_errors(), database.session() as session:
        return claim_scan(session, scan_id=scan_id, take_over=take_over)


def _fail(database: Database, scan_id: int, reason: str) -> None:
    try:
        with database.connection_errors(), database.session() as session:
            fail_scan(session, scan_id=scan_id, error=reason)
    except StorageError as exc:
        log.error("scan #%d: could not record its failure (%s): %s", scan_id, reason, exc)


async def run_stored_scan(
    database: Database,
    scan_id: int,
    template: ScanOptions,
    publish: Publish,
    limiter: Limiter | None = None,
    *,
    take_over: bool = False,
    templates: TemplateStore | None = None,
) -> str | None:
    """Run queued scan ``scan_id`` to its end; its final status (``done``/``failed``), or None when it was
    not queued (gone, or already taken by another runner: nothing is done twice).

    ``limiter``: shared by the scans a process runs at once, so pacing per server address holds across
    domains hosted on the same address. ``take_over``: also start over a scan left ``running`` (a task
    redelivered because its worker was lost). ``templates``: TLS enumerations shared by the domains
    hosted on one endpoint (a fleet's), see ``scanners.tls.shared``.
    """
    try:
        request = await asyncio.to_thread(_claim, database, scan_id, take_over)
    except StorageError as exc:
        log.error("scan #%d: cannot start it: %s", scan_id, exc)
        return None
    if request is None:
        return None
    publish(ProgressEvent(scan_id=scan_id, status="running", step="started", message=f"scanning {request.domain}"))

    def observe(event: ScanEvent) -> None:
        publish(
            ProgressEvent(
                scan_id=scan_id,
                status="running",
                step=event.kind.value,
                message=event.message,
                endpoint=event.endpoint,
                done=event.done,
                total=event.total,
            )
        )

    try:
        result = await run_scan(options_for(template, request), observe, limiter, templates)
        await asyncio.to_thread(_finish, database, scan_id, result)
    except asyncio.CancelledError:
        await asyncio.shield(asyncio.to_thread(_fail, database, scan_id, "the site stopped during the scan"))
        publish(ProgressEvent(scan_id=scan_id, status="failed", step="failed", message="the site stopped"))
        raise
    except Exception as exc:  # a bug or a database failure: the row must not stay running
        reason = f"{type(exc).__name__}: {exc}"
        log.exception("scan #%d failed", scan_id)
        await asyncio.to_thread(_fail, database, scan_id, reason)
        publish(ProgressEvent(scan_id=scan_id, status="failed", step="failed", message=reason))
        return "failed"
    publish(ProgressEvent(scan_id=scan_id, status="done", step="done", message="done"))
    return "done"


def _finish(database: Database, scan_id: int, result: object) -> None:
    with database.connection_errors(), database.session() as session:
        finish_scan(session, scan_id=scan_id, result=result)  # type: ignore[arg-type]
