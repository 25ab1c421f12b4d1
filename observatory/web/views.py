"""Filters and globals the site's templates use: presentation only, no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, pass_context
from markupsafe import Markup

from observatory.storage.stats import GradeDistribution, SiteStats
from reports import charts
from reports import html as report_html


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f} %"


def grade_chart(distribution: GradeDistribution) -> Markup:
    rows = [(grade.letter, grade.share * 100) for grade in distribution.grades]
    title = f"Grades, {distribution.kind} ({distribution.graded_domains} domains)"
    return Markup(charts.bar_chart(title, rows, unit="%"))  # our own SVG, its text escaped by the renderer


def share_chart(title: str, labels: list[str], shares: list[float], label_width: int = 140) -> Markup:
    rows = [(label, share * 100) for label, share in zip(labels, shares, strict=True)]
    return Markup(charts.bar_chart(title, rows, label_width=label_width, width=max(480, label_width + 340)))


def _percentages(values: list[float | None]) -> list[float | None]:
    return [None if value is None else value * 100 for value in values]


def trend_chart(stats: SiteStats) -> Markup:
    """TLS versions, encryption policy, DNSSEC and DANE per month, as shares of endpoints."""
    trends = stats.trends
    series = {
        "TLS 1.0/1.1": _percentages([m.legacy_tls_share for m in trends]),
        "TLS 1.3": _percentages([m.tls13_share for m in trends]),
        "STARTTLS enforced": _percentages([m.starttls_enforced_share for m in trends]),
        "DNSSEC secure": _percentages([m.dnssec_secure_share for m in trends]),
        "DANE valid": _percentages([m.dane_valid_share for m in trends]),
    }
    return Markup(charts.line_chart("Endpoints per month (%)", [m.month for m in trends], series))


def grade_trend_chart(stats: SiteStats) -> Markup:
    """Share of domains graded A- or better per month, per service."""
    trends = stats.trends
    series = {
        kind: _percentages([m.a_grade_shares[index] if m.a_grade_shares else None for m in trends])
        for index, kind in enumerate(("c2s", "s2s"))
    }
    return Markup(charts.line_chart("Domains graded A- or better per month (%)", [m.month for m in trends], series))


@pass_context
def path_for(context: Any, name: str, /, **params: Any) -> str:
    """A route's path (with the app's root path): links stay right behind any reverse proxy, whatever
    host name or scheme it forwards. Memoised per app: finding a route scans the route table, and a
    report page has dozens of links."""
    request = context["request"]
    paths: dict[tuple[Any, ...], str] = request.app.state.paths
    key = (request.scope.get("root_path", ""), name, *sorted(params.items()))
    found = paths.get(key)
    if found is None:
        found = paths[key] = str(request.url_for(name, **params).path)
        if len(paths) > 50_000:  # links with ids: bounded, forgotten wholesale
            paths.clear()
    return found


def register(environment: Environment) -> None:
    environment.globals["path_for"] = path_for
    environment.filters["when"] = when
    environment.filters["day"] = day
    environment.filters["safe_url"] = report_html.safe_url
    environment.globals["report"] = report_html
    environment.globals["grade_class"] = report_html.grade_class
    environment.globals["percent"] = percent
    environment.globals["grade_chart"] = grade_chart
    environment.globals["share_chart"] = share_chart
    environment.globals["trend_chart"] = trend_chart
    environment.globals["grade_trend_chart"] = grade_trend_chart
