"""The HTML report: Jinja2 partials under ``reports/templates/report/`` that the website includes,
and the pure helpers they use to present a result document.

Every string of a result may come from a server we do not control; templates are rendered with
autoescape on and never mark remote data safe.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from observatory.catalogue import SERVERS, CatalogueEntry, catalogue
from observatory.grading import CAPS
from observatory.model import Endpoint, Finding, Grade, ScanResult, Service, Severity

TEMPLATES = Path(__file__).parent / "templates"

SERVER_NAMES = {"prosody": "Prosody", "ejabberd": "ejabberd", "openfire": "Openfire"}
SEVERITY_ORDER = [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO]


def grade_class(letter: str | None) -> str:
    """A CSS class per grade family (the colour comes from the site's stylesheet)."""
    if letter is None:
        return "grade-none"
    return {"A+": "grade-a", "A": "grade-a", "A-": "grade-a", "B": "grade-b", "C": "grade-c"}.get(letter, "grade-f")


def services(result: ScanResult) -> list[tuple[str, Service]]:
    return [(name, service) for name in ("c2s", "s2s") if (service := getattr(result.services, name)) is not None]


def cap_reasons(service: Service) -> list[str]:
    """Every distinct reason that capped an endpoint of the service, worst endpoints first."""
    seen: list[str] = []
    for endpoint in service.endpoints:
        for cap in endpoint.grade.caps if endpoint.grade else []:
            line = f"{cap.reason} (max {cap.grade})" if cap.finding else cap.reason
            if line not in seen:
                seen.append(line)
    return seen


def if_trusted(grade: Grade | None) -> str | None:
    return grade.if_trusted if grade is not None and grade.letter == "T" else None


def findings_by_severity(result: ScanResult) -> list[tuple[Severity, list[tuple[Finding, CatalogueEntry | None]]]]:
    entries = catalogue()
    groups = []
    for severity in SEVERITY_ORDER:
        found = [(f, entries.get(f.id)) for f in result.findings if f.severity is severity]
        if found:
            groups.append((severity, found))
    return groups


def fixes(entry: CatalogueEntry | None) -> list[tuple[str, str | None, str | None]]:
    """(server name, snippet, reason there is none) for every server the catalogue speaks of."""
    if entry is None:
        return []
    rows = []
    for server in SERVERS:
        snippet, reason = entry.fix_for(server)
        if snippet or reason:
            rows.append((SERVER_NAMES[server], snippet, reason))
    return rows


def grade_cap(finding_id: str) -> str | None:
    return CAPS.get(finding_id)


def safe_url(url: str | None) -> str | None:
    """The URL if it is http(s), else None: a remote server's link must never become ``javascript:``."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in {"http", "https"} else None


def endpoints(result: ScanResult) -> Iterable[Endpoint]:
    for _, service in services(result):
        yield from service.endpoints
