"""The HTML pages. Server-rendered, working without JavaScript; a small script only adds live progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markdown_it import MarkdownIt
from markupsafe import Markup

from observatory.catalogue import catalogue
from observatory.grading import CAPS
from observatory.model import ScanResult
from observatory.orchestrate import incomplete
from observatory.profiles import available, with_profiles
from observatory.storage import describe, diff_results, history, latest_summary, recent_scans
from observatory.storage.records import ScanStatus, ScanSummary
from observatory.storage.stats import site_stats
from observatory.web.deps import MAX_ID, ScanId, cached_response, session_of, site_of, stored, summary
from observatory.web.errors import SiteError
from observatory.web.security import CSRF_COOKIE
from observatory.web.submit import parse_submission, submit
from reports import charts
from reports.docs import grading_markdown
from reports.json import render_json
from reports.markdown import render_markdown
from reports.sarif import render_sarif
from scanners.base import ServiceKind

router = APIRouter(include_in_schema=False)

#: How often the progress page reloads itself when JavaScript is off.
REFRESH_SECONDS = 3


def page(
    request: Request, name: str, context: dict[str, object], status_code: int = 200, *, form: bool = True
) -> HTMLResponse:
    """A page in the site's layout. ``form=False`` for pages without a POST form (and cached ones: a
    cached body must hold nothing of the visitor it was first rendered for)."""
    site = site_of(request)
    token = site.csrf.token_for(request) if form else None
    response = site.templates.TemplateResponse(
        request, name, {"site_name": site.settings.site_name, "csrf_token": token, **context}, status_code=status_code
    )
    if token is not None and request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
        )
    return response


@router.get("/", response_class=HTMLResponse, name="index")
def index(request: Request) -> HTMLResponse:
    with session_of(request) as session:
        recent = recent_scans(session, limit=10, listed_only=True)
        figures = site_stats(session)
    return page(request, "index.html", {"recent": recent.scans, "stats": figures, "form": {}, "error": None})


@router.post("/scans", name="submit_form")
def submit_form(
    request: Request,
    domain: Annotated[str, Form(max_length=1024)] = "",
    kinds: Annotated[str, Form(max_length=8)] = "both",
    unlisted: Annotated[str | None, Form(max_length=8)] = None,
    csrf_token: Annotated[str | None, Form(max_length=256)] = None,
) -> Response:
    refused = site_of(request).csrf.check(request, csrf_token)
    if refused:
        raise SiteError(403, f"The scan was not submitted: {refused}.")
    try:
        submission = parse_submission(domain, kinds, listed=unlisted is None)
    except SiteError as exc:
        with session_of(request) as session:
            recent = recent_scans(session, limit=10, listed_only=True)
            figures = site_stats(session)
        form = {"domain": domain, "kinds": kinds, "unlisted": unlisted is not None}
        context = {"recent": recent.scans, "stats": figures, "form": form, "error": exc.detail}
        return page(request, "index.html", context, status_code=exc.status)
    submitted = submit(request, submission)
    return RedirectResponse(request.url_for("scan_page", scan_id=submitted.scan_id).path, status_code=303)


def _done_result(request: Request, scan_id: int) -> tuple[ScanSummary, ScanResult]:
    found = stored(request, scan_id)
    if found.result is None:
        raise SiteError(404, f"Scan #{scan_id} is {found.summary.status.value}: it has no report yet.")
    return found.summary, found.result


def _document_route(suffix: str, media_type: str, render: Callable[[ScanResult], str], name: str) -> None:
    def route(request: Request, scan_id: ScanId) -> Response:
        head = summary(request, scan_id)
        if head.status is not ScanStatus.DONE:
            raise SiteError(404, f"Scan #{scan_id} is {head.status.value}: it has no report yet.")
        return cached_response(request, head, suffix, media_type, lambda: render(_done_result(request, scan_id)[1]))

    router.add_api_route(f"/scans/{{scan_id}}.{suffix}", route, methods=["GET"], name=name)


_document_route("json", "application/json", render_json, "scan_json")
_document_route("sarif", "application/sarif+json", render_sarif, "scan_sarif")
_document_route("md", "text/markdown; charset=utf-8", render_markdown, "scan_markdown")


@router.get("/scans/{scan_id}", response_class=HTMLResponse, name="scan_page")
def scan_page(
    request: Request, scan_id: ScanId, profile: Annotated[list[str] | None, Query(max_length=10)] = None
) -> Response:
    head = summary(request, scan_id)
    if head.status is not ScanStatus.DONE:
        events = site_of(request).executor.events.history(scan_id)
        context = {"scan": head, "events": events, "refresh": REFRESH_SECONDS}
        return page(request, "progress.html", context)
    chosen = sorted({name for name in profile or [] if name in available()})

    def render() -> str:
        _, result = _done_result(request, scan_id)
        if chosen:
            result = with_profiles(result, chosen)
        context = {
            "scan": head,
            "result": result,
            "profiles": available(),
            "chosen": chosen,
            "incomplete": incomplete(result),
        }
        return page(request, "scan.html", context, form=False).body.decode("utf-8")

    return cached_response(request, head, "html:" + ",".join(chosen), "text/html; charset=utf-8", render)


@router.get("/domains/{domain}", response_class=HTMLResponse, name="domain_page")
def domain_page(request: Request, domain: str) -> HTMLResponse:
    name = parse_submission(domain, "both", True).domain
    with session_of(request) as session:
        latest = {
            kind.value: latest_summary(session, domain=name, kinds=[kind], listed_only=True) for kind in ServiceKind
        }
        found = history(session, domain=name, limit=200, listed_only=True)
    if not found.scans:
        raise SiteError(404, f"{name} has not been scanned yet (or only unlisted). Submit it on the front page.")
    done = [scan for scan in reversed(found.scans) if scan.status is ScanStatus.DONE]
    timeline = charts.line_chart(
        f"Score over time, {name}",
        [scan.finished_at.strftime("%Y-%m-%d") if scan.finished_at else "" for scan in done],
        {
            kind.value: [float(s.grades[kind].score) if s.grades[kind].score is not None else None for s in done]
            for kind in ServiceKind
        },
    )
    context = {"domain": name, "latest": latest, "history": found.scans, "timeline": Markup(timeline)}
    return page(request, "domain.html", context)


@router.get("/domains/{domain}/diff", response_class=HTMLResponse, name="domain_diff")
def domain_diff(
    request: Request,
    domain: str,
    from_: Annotated[int, Query(alias="from", ge=1, le=MAX_ID)],
    to: Annotated[int, Query(ge=1, le=MAX_ID)],
) -> HTMLResponse:
    name = parse_submission(domain, "both", True).domain
    old_summary, old = _done_result(request, from_)
    new_summary, new = _done_result(request, to)
    for scan in (old_summary, new_summary):
        if scan.domain != name or not scan.listed:
            raise SiteError(404, f"Scan #{scan.id} is not a listed scan of {name}.")
    diff = diff_results(old, new)
    context = {"domain": name, "old": old_summary, "new": new_summary, "diff": diff, "lines": describe(diff)}
    return page(request, "diff.html", context)


@router.get("/recent", response_class=HTMLResponse, name="recent")
def recent(request: Request) -> HTMLResponse:
    with session_of(request) as session:
        scans = recent_scans(session, limit=site_of(request).settings.recent_limit * 4, listed_only=True)
    return page(request, "recent.html", {"scans": scans.scans})


@router.get("/stats", response_class=HTMLResponse, name="stats")
def stats_page(request: Request) -> HTMLResponse:
    with session_of(request) as session:
        figures = site_stats(session)
    return page(request, "stats.html", {"stats": figures, "charts": charts})


@router.get("/checks", response_class=HTMLResponse, name="checks")
def checks_page(request: Request) -> HTMLResponse:
    return page(request, "checks.html", {"entries": list(catalogue().values()), "caps": CAPS})


_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")


@router.get("/methodology", response_class=HTMLResponse, name="methodology")
def methodology(request: Request) -> HTMLResponse:
    # Our own generated text (the grading tables), rendered with raw HTML disabled.
    return page(request, "methodology.html", {"body": Markup(_markdown.render(grading_markdown()))})


@router.get("/api/docs", response_class=HTMLResponse, name="api_docs")
def api_docs(request: Request) -> HTMLResponse:
    document = request.app.openapi()
    operations = [
        {"method": method.upper(), "path": path, "summary": op.get("summary", ""), "doc": op.get("description", "")}
        for path, methods in document.get("paths", {}).items()
        for method, op in methods.items()
    ]
    return page(request, "api_docs.html", {"operations": operations})
