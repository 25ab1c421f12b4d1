"""The JSON API under ``/api/v1``. Errors are ``application/problem+json``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from observatory.catalogue import catalogue
from observatory.grading import CAPS
from observatory.jobs import ProgressEvent
from observatory.profiles import available
from observatory.storage import StoredScan, history, latest_for_domain
from observatory.storage.records import ScanStatus, ScanSummary
from observatory.storage.stats import SiteStats, site_stats
from observatory.web.deps import ScanId, cached_response, session_of, site_of, stored, summary
from observatory.web.errors import PROBLEM_JSON, SiteError
from observatory.web.schemas import (
    CheckInfo,
    DomainHistory,
    Problem,
    ProfileInfo,
    ProfileItemInfo,
    ScanInfo,
    ScanLinks,
    ScanSubmission,
    ScanSummaryInfo,
)
from observatory.web.submit import parse_submission, submit

#: The SSE stream re-reads the scan's row this often when no event came (another process may run it).
SSE_HEARTBEAT_SECONDS = 10.0
#: The longest one event stream stays open; the browser reconnects by itself.
SSE_MAX_SECONDS = 15 * 60.0

#: Ten years: a larger ``max_age`` means "any age" (and would overflow a timedelta).
MAX_AGE = 10 * 366 * 24 * 3600

PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": description}
    for status, description in {
        400: "The body cannot be read (e.g. not UTF-8 JSON)",
        404: "Not found",
        422: "The request is not valid (e.g. not a domain name)",
        429: "Too many requests: wait for Retry-After",
        503: "Busy or the database is unavailable: retry after Retry-After",
    }.items()
}

router = APIRouter(prefix="/api/v1", tags=["api"], responses=PROBLEMS)


def links(request: Request, scan_id: int) -> ScanLinks:
    def url(name: str) -> str:
        return str(request.url_for(name, scan_id=scan_id).path)

    return ScanLinks(
        self=url("api_scan"),
        page=url("scan_page"),
        events=url("api_scan_events"),
        json=url("scan_json"),
        sarif=url("scan_sarif"),
        markdown=url("scan_markdown"),
    )


def scan_info(request: Request, summary_: ScanSummary, scan: StoredScan | None = None) -> ScanInfo:
    return ScanInfo.of(summary_, links=links(request, summary_.id), result=scan.result if scan is not None else None)


@router.post(
    "/scans",
    response_model=ScanInfo,
    status_code=202,
    responses={200: {"model": ScanInfo, "description": "A running or recent scan of the domain, shared"}},
)
def create_scan(request: Request, body: ScanSubmission) -> JSONResponse:
    """Queue a scan (202), or get the scan of the same domain and services that is running or finished
    within the cooldown (200): many viewers of one domain share one scan."""
    submitted = submit(request, parse_submission(body.domain, body.kinds, body.listed))
    info = scan_info(request, summary(request, submitted.scan_id))
    return JSONResponse(
        info.model_dump(mode="json", by_alias=True),
        status_code=202 if submitted.created else 200,
        headers={"Location": info.links.self},
    )


@router.get("/scans/{scan_id}", response_model=ScanInfo, name="api_scan")
def get_scan(request: Request, scan_id: ScanId) -> Response:
    """A scan's status; when done, its full result document (as `observatory scan --format json`), with
    an ETag (a done scan changes only when re-graded)."""
    head = summary(request, scan_id)

    def render() -> str:
        found = stored(request, scan_id)
        return scan_info(request, found.summary, found).model_dump_json(by_alias=True)

    if head.status is ScanStatus.DONE:
        return cached_response(request, head, "api", "application/json", render)
    return Response(render(), media_type="application/json", headers={"Cache-Control": "no-store"})


def _sse(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


def _final_event(summary_: ScanSummary) -> ProgressEvent:
    status = summary_.status.value
    message = "done" if summary_.status is ScanStatus.DONE else (summary_.error or "failed")
    return ProgressEvent(scan_id=summary_.id, status=status, step=status, message=message)  # type: ignore[arg-type]


@router.get(
    "/scans/{scan_id}/events",
    name="api_scan_events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events: `progress`"}},
)
async def scan_events(request: Request, scan_id: ScanId) -> StreamingResponse:
    """Progress as Server-Sent Events (`event: progress`, data: a JSON object); the last one has status
    `done` or `failed`, then the stream ends."""
    site = site_of(request)
    first = await asyncio.to_thread(summary, request, scan_id)

    async def stream() -> AsyncIterator[bytes]:
        if first.status in (ScanStatus.DONE, ScanStatus.FAILED):
            yield _sse("progress", _final_event(first).model_dump_json())
            return
        yield b"retry: 3000\n\n"
        events = site.executor.events.subscribe(scan_id)
        deadline = asyncio.get_running_loop().time() + SSE_MAX_SECONDS
        # One pending read at a time, kept across heartbeats: cancelling it would close the subscription.
        following: asyncio.Future[ProgressEvent] | None = None
        try:
            while asyncio.get_running_loop().time() < deadline:
                following = following or asyncio.ensure_future(anext(events))
                done, _ = await asyncio.wait({following}, timeout=SSE_HEARTBEAT_SECONDS)
                if not done:
                    # Nothing came: the scan may have ended elsewhere (another process) or long ago.
                    now = await asyncio.to_thread(summary, request, scan_id)
                    if now.status in (ScanStatus.DONE, ScanStatus.FAILED):
                        yield _sse("progress", _final_event(now).model_dump_json())
                        return
                    yield b": waiting\n\n"
                    continue
                try:
                    event = following.result()
                except StopAsyncIteration:
                    return
                following = None
                yield _sse("progress", event.model_dump_json())
                if event.final:
                    return
        finally:
            if following is not None:
                following.cancel()
                await asyncio.gather(following, return_exceptions=True)
            await events.aclose()  # type: ignore[attr-defined]

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/domains/{domain}", response_model=ScanInfo)
def domain_latest(
    request: Request,
    domain: str,
    max_age: Annotated[int | None, Query(ge=0, description="404 when the latest scan is older (seconds)")] = None,
) -> ScanInfo:
    """The newest listed done scan of the domain, with its result."""
    name = parse_submission(domain, "both", True).domain
    with session_of(request) as session:
        latest = latest_for_domain(session, domain=name, listed_only=True).scan
    if latest is None:
        raise SiteError(404, f"{name} has not been scanned yet (or only unlisted).")
    finished = latest.summary.finished_at
    if (
        max_age is not None
        and max_age < MAX_AGE
        and finished is not None
        and datetime.now(UTC) - finished > timedelta(seconds=max_age)
    ):
        raise SiteError(404, f"The latest scan of {name} is older than {max_age} seconds.")
    return scan_info(request, latest.summary, latest)


@router.get("/domains/{domain}/history", response_model=DomainHistory)
def domain_history(request: Request, domain: str, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> DomainHistory:
    """The listed scans of the domain, newest first, in every state."""
    name = parse_submission(domain, "both", True).domain
    with session_of(request) as session:
        found = history(session, domain=name, limit=limit, listed_only=True)
    return DomainHistory(domain=name, scans=[ScanSummaryInfo.of(scan) for scan in found.scans])


@router.get("/stats", response_model=SiteStats)
def stats(request: Request) -> SiteStats:
    """Figures over the latest listed scan of every domain, and their trend per month."""
    with session_of(request) as session:
        return site_stats(session)


@router.get("/checks", response_model=list[CheckInfo])
def checks() -> list[CheckInfo]:
    """Every finding the scanner can report, with its grade cap and fixes per server."""
    return [
        CheckInfo(
            id=entry.id,
            severity=entry.severity,
            title=entry.title,
            why=entry.why,
            fix=entry.fix,
            grade_cap=CAPS.get(entry.id),
            references=entry.references,
            snippets=entry.snippets,
            not_applicable=entry.not_applicable,
            proven=entry.proven,
            unproven=entry.unproven,
            proven_c2s_only=entry.proven_c2s_only,
        )
        for entry in catalogue().values()
    ]


@router.get("/profiles", response_model=list[ProfileInfo])
def profiles() -> list[ProfileInfo]:
    """The compliance profiles and every item each checks."""
    return [
        ProfileInfo(
            id=profile.id,
            name=profile.name,
            edition=profile.edition,
            source=profile.source,
            summary=profile.summary,
            provenance=profile.provenance,
            items=[
                ProfileItemInfo(id=rule.id, title=rule.title, level=rule.level.value, reference=rule.reference)
                for rule in profile.rules
            ],
        )
        for profile in available().values()
    ]
