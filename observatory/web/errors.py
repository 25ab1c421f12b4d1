"""Errors as the visitor meets them: ``application/problem+json`` (RFC 9457) under ``/api``, a page in
the site's layout everywhere else; never a stack trace."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from observatory.storage import StorageError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class SiteError(Exception):
    """An error meant for the visitor: its status and a message that says what to do."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def _wants_problem(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def problem(request: Request, status: int, detail: str | None, headers: dict[str, str] | None = None) -> Response:
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if _wants_problem(request):
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": request.url.path}
        return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)
    templates = request.app.state.site.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": title, "detail": detail},
        status_code=status,
        headers=headers,
    )


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
    return "; ".join(parts) or "the request is not valid"


def install(app: FastAPI) -> None:
    @app.exception_handler(SiteError)
    async def site_error(request: Request, exc: SiteError) -> Response:
        return problem(request, exc.status, exc.detail, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = (
            exc.detail if isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase else None
        )
        if exc.status_code == 404 and detail is None:
            detail = "There is no such page."
        return problem(request, exc.status_code, detail, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return problem(request, 422, _validation_detail(exc))

    @app.exception_handler(StorageError)
    async def storage_error(request: Request, exc: StorageError) -> Response:
        log.error("storage: %s", exc)
        return problem(request, 503, "The database cannot be used right now; try again shortly.", {"Retry-After": "30"})

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return problem(request, 500, "Something went wrong on our side. It has been logged.")
