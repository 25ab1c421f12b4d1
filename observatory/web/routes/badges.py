"""Badges: ``/badge/{domain}.svg`` and the shields.io endpoint format ``/badge/{domain}.json``.

A badge is fetched on every view of a README that shows it: answers are kept in memory for a minute
(a new grade shows within that), so a hit touches neither the database nor the thread pool.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from observatory.grading import rank
from observatory.storage import latest_summary
from observatory.web.deps import RenderCache, session_of
from observatory.web.submit import parse_submission
from reports.badge import badge_svg, grade_color, shields_color
from scanners.base import ServiceKind

router = APIRouter(include_in_schema=False)

#: Browsers and image proxies may keep a badge this long; the site keeps its answer as long.
MAX_AGE = 60
CACHE_CONTROL = f"public, max-age={MAX_AGE}"
Kind = Literal["c2s", "s2s"]


def _grade(request: Request, domain: str, kind: Kind | None) -> tuple[str, str | None]:
    """(label, worst grade of the latest listed scan) for the badge."""
    kinds = [ServiceKind(kind)] if kind else list(ServiceKind)
    with session_of(request) as session:
        latest = latest_summary(session, domain=domain, kinds=kinds[:1] if kind else (), listed_only=True)
    label = f"xmpp {kind}" if kind else "xmpp"
    if latest is None:
        return label, None
    graded = [letter for k in kinds if k in latest.kinds and (letter := latest.grades[k].letter)]
    return label, max(graded, key=rank) if graded else None  # type: ignore[arg-type]


async def _cached_grade(request: Request, domain: str, kind: Kind | None) -> tuple[str, str | None]:
    name = parse_submission(domain, "both", True).domain
    cache: RenderCache = request.app.state.badges
    key = f"{name}|{kind or ''}"
    hit = cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    answer = await asyncio.to_thread(_grade, request, name, kind)
    cache.put(key, (time.monotonic() + MAX_AGE, answer))
    return answer


@router.get("/badge/{domain}.svg", name="badge_svg")
async def badge(request: Request, domain: str, kind: Annotated[Kind | None, Query()] = None) -> Response:
    label, letter = await _cached_grade(request, domain, kind)
    svg = badge_svg(label, letter or "not scanned", grade_color(letter))
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": CACHE_CONTROL})


@router.get("/badge/{domain}.json", name="badge_json")
async def badge_json(request: Request, domain: str, kind: Annotated[Kind | None, Query()] = None) -> Response:
    label, letter = await _cached_grade(request, domain, kind)
    body = {"schemaVersion": 1, "label": label, "message": letter or "not scanned", "color": shields_color(letter)}
    return Response(
        json.dumps(body, separators=(",", ":")), media_type="application/json", headers={"Cache-Control": CACHE_CONTROL}
    )
