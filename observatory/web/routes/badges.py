"""Badges: ``/badge/{domain}.svg`` and the shields.io endpoint format ``/badge/{domain}.json``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from observatory.grading import rank
from observatory.storage import latest_summary
from observatory.web.deps import session_of
from observatory.web.submit import parse_submission
from reports.badge import badge_svg, grade_color, shields_color
from scanners.base import ServiceKind

router = APIRouter(include_in_schema=False)

#: Badges are fetched by every page view of a README: cache them, but not for long (grades change).
CACHE_CONTROL = "public, max-age=600"
Kind = Literal["c2s", "s2s"]


def _grade(request: Request, domain: str, kind: Kind | None) -> tuple[str, str | None]:
    """(label, worst grade of the latest listed scan) for the badge."""
    name = parse_submission(domain, "both", True).domain
    kinds = [ServiceKind(kind)] if kind else list(ServiceKind)
    with session_of(request) as session:
        latest = latest_summary(session, domain=name, kinds=kinds[:1] if kind else (), listed_only=True)
    label = f"xmpp {kind}" if kind else "xmpp"
    if latest is None:
        return label, None
    letters = [latest.grades[k].letter for k in kinds if k in latest.kinds]
    graded = [letter for letter in letters if letter]
    return label, max(graded, key=rank) if graded else None  # type: ignore[arg-type]


@router.get("/badge/{domain}.svg", name="badge_svg")
def badge(request: Request, domain: str, kind: Annotated[Kind | None, Query()] = None) -> Response:
    label, letter = _grade(request, domain, kind)
    svg = badge_svg(label, letter or "not scanned", grade_color(letter))
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": CACHE_CONTROL})


@router.get("/badge/{domain}.json", name="badge_json")
def badge_json(request: Request, domain: str, kind: Annotated[Kind | None, Query()] = None) -> JSONResponse:
    label, letter = _grade(request, domain, kind)
    body = {"schemaVersion": 1, "label": label, "message": letter or "not scanned", "color": shields_color(letter)}
    return JSONResponse(body, headers={"Cache-Control": CACHE_CONTROL})
