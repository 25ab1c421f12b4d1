"""The report in GitHub-flavoured Markdown, for CI job summaries and issue or merge-request comments.

Grades and their reasons first, then compliance profiles (when judged), endpoints, and the findings
grouped by problem with the fix for Prosody, ejabberd and Openfire folded under ``<details>``.
Anything a remote server controls is escaped so it can neither format the page nor inject HTML.
The renderer only reads the judged result; it never recomputes a finding.
"""

from __future__ import annotations

import re

from observatory.catalogue import SERVER_NAMES, SERVERS, SNIPPET_LANGUAGE, CatalogueEntry, catalogue
from observatory.model import ComplianceLevel, ComplianceStatus, Finding, ProfileResult, ScanResult, Service
from reports.text import NOTHING_LEARNT, resolver_failure
from reports.text import _reasons as grade_reasons

STATUS_WORDS = {
    ComplianceStatus.PASS: "pass",
    ComplianceStatus.FAIL: "**FAIL**",
    ComplianceStatus.NOT_EVALUATED: "not evaluated",
    ComplianceStatus.NOT_APPLICABLE: "not applicable",
}
#: At most this many lines of "seen" details per finding, and of failed items per endpoint.
MAX_DETAILS = 5

_CONTROL = re.compile("[\x00-\x1f\x7f]")
#: Characters that format inline text. Block syntax (#, >, -, 1.) only counts at the start of a line,
#: and escaped text never starts one here.
_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")


def md(text: str) -> str:
    """Inline text that renders as itself: no formatting, no HTML, no @-mention, one line."""
    text = _CONTROL.sub(" ", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A zero-width space after @ keeps GitHub and GitLab from notifying whoever a server names.
    return _MARKDOWN.sub(r"\\\1", text).replace("@", "@\u200b")


def code(text: str) -> str:
    """Inline code for identifiers (finding ids, endpoint ids); a backtick would end the span."""
    return f"`{_CONTROL.sub(' ', text).replace('`', '')}`"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _services(result: ScanResult) -> list[str]:
    rows = []
    reasons: list[str] = []
    for name in ("c2s", "s2s"):
        service: Service | None = getattr(result.services, name)
        if service is None:
            continue
        graded = sum(1 for endpoint in service.endpoints if endpoint.grade is not None)
        letter = f"**{service.grade.letter}**" if service.grade else "—"
        rows.append([name, letter, f"{graded} of {len(service.endpoints)}"])
        reasons += [f"{name}: {reason}" for reason in grade_reasons(service.endpoints)]
    lines = _table(["service", "grade", "endpoints graded"], rows) if rows else ["No service was scanned."]
    if reasons:
        lines += ["", *(f"- {md(reason)}" for reason in reasons)]
    return lines


def _profile_details(profile: ProfileResult) -> list[str]:
    items = {item.id: item for item in profile.items}
    lines = []
    for endpoint in profile.endpoints:
        failed = [o for o in endpoint.outcomes if o.status is ComplianceStatus.FAIL]
        if not failed and not endpoint.notes:
            continue
        lines.append(f"- {code(endpoint.endpoint)}: {STATUS_WORDS[endpoint.status]}")
        for outcome in failed[:MAX_DETAILS]:
            item = items[outcome.item]
            level = "MUST" if item.level is ComplianceLevel.MUST else "SHOULD"
            seen = f": {md('; '.join(outcome.details))}" if outcome.details else ""
            lines.append(f"  - {level} {md(item.title)}{seen}")
        if len(failed) > MAX_DETAILS:
            lines.append(f"  - … and {len(failed) - MAX_DETAILS} more")
        lines += [f"  - note: {md(note)}" for note in endpoint.notes]
    unevaluated = {
        outcome.item: outcome.details[0] if outcome.details else ""
        for endpoint in profile.endpoints
        for outcome in endpoint.outcomes
        if outcome.status is ComplianceStatus.NOT_EVALUATED
    }
    if unevaluated:
        lines.append("- not evaluated (the reason, as first met):")
        lines += [f"  - {md(items[item].title)}: {md(reason)}" for item, reason in unevaluated.items()]
    return lines


def _profiles(result: ScanResult) -> list[str]:
    rows = []
    for profile in result.profiles:
        failing = sum(1 for endpoint in profile.endpoints if endpoint.status is ComplianceStatus.FAIL)
        rows.append(
            [
                md(profile.name),
                md(profile.edition),
                STATUS_WORDS[profile.status],
                f"{failing} of {len(profile.endpoints)}",
            ]
        )
    lines = ["## Compliance", "", *_table(["profile", "edition", "result", "endpoints failing"], rows)]
    for profile in result.profiles:
        details = _profile_details(profile)
        if details:
            lines += ["", f"<details><summary>{md(profile.name)}: details</summary>", "", *details, "", "</details>"]
    return lines


def _endpoints(result: ScanResult) -> list[str]:
    rows = []
    for name in ("c2s", "s2s"):
        service: Service | None = getattr(result.services, name)
        for endpoint in service.endpoints if service else []:
            if endpoint.tls and endpoint.tls.versions:
                versions = ", ".join(version.value.removeprefix("TLSv") for version in endpoint.tls.versions)
            else:
                versions = md(endpoint.errors[0].reason.value) if endpoint.errors else "—"
            grade = endpoint.grade.letter if endpoint.grade else "—"
            rows.append([name, endpoint.transport.value, code(f"{endpoint.target}:{endpoint.port} {endpoint.address}"),
                         versions, grade])  # fmt: skip
    return ["## Endpoints", "", *_table(["kind", "transport", "endpoint", "TLS", "grade"], rows)] if rows else []


def _where(findings: list[Finding]) -> str:
    parts = []
    for finding in findings:
        service = finding.service.value if finding.service else "scan"
        count = len(finding.endpoints)
        parts.append(f"{service} ({count} endpoint{'s' if count != 1 else ''})" if count else service)
    return ", ".join(parts)


def _fix(entry: CatalogueEntry) -> tuple[list[str], list[str]]:
    """List lines for the servers no configuration can fix, and the snippets folded under <details>."""
    blocks: list[str] = []
    reasons: dict[str, list[str]] = {}
    for server in SERVERS:
        snippet, reason = entry.fix_for(server)
        if snippet is not None:
            blocks += ["", f"**{SERVER_NAMES[server]}**", "", f"```{SNIPPET_LANGUAGE[server]}", snippet, "```"]
        elif reason is not None:
            reasons.setdefault(reason, []).append(server)
    bullets = []
    for reason, servers in reasons.items():
        who = "" if len(servers) == len(SERVERS) else " (" + ", ".join(SERVER_NAMES[s] for s in servers) + ")"
        bullets.append(f"- **No configuration fix{who}:** {md(reason)}")
    if not blocks:
        return bullets, []
    names = ", ".join(SERVER_NAMES[s] for s in SERVERS if s in entry.snippets)
    return bullets, ["", f"<details><summary>Configuration for {names}</summary>", *blocks, "", "</details>"]


def _findings(result: ScanResult) -> list[str]:
    if not result.findings:
        return ["## Findings", "", NOTHING_LEARNT if resolver_failure(result) else "No findings."]
    entries = catalogue()
    grouped: dict[str, list[Finding]] = {}
    for finding in result.findings:
        grouped.setdefault(finding.id, []).append(finding)
    lines = [f"## Findings ({len(grouped)})"]
    for finding_id, findings in grouped.items():
        entry = entries.get(finding_id)
        title = md(entry.title) if entry else code(finding_id)
        lines += ["", f"### {findings[0].severity.value}: {title} ({code(finding_id)})", ""]
        lines.append(f"- **Where:** {md(_where(findings))}")
        details = list(dict.fromkeys(detail for finding in findings for detail in finding.details))
        lines += [f"- **Seen:** {md(detail)}" for detail in details[:MAX_DETAILS]]
        if len(details) > MAX_DETAILS:
            lines.append(f"- … and {len(details) - MAX_DETAILS} more")
        if entry is not None:
            bullets, snippets = _fix(entry)
            lines += [f"- **Why:** {md(entry.why)}", f"- **Fix:** {md(entry.fix)}", *bullets, *snippets]
    return lines


def render_markdown(result: ScanResult) -> str:
    stamp = result.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [
        f"# XMPP security report for {md(result.domain)}",
        "",
        f"Scanned {stamp} · rules {md(result.rules_version)} · xmpp-observatory {md(result.scanner_version)}",
        "",
        *_services(result),
    ]
    unresolved = resolver_failure(result)
    if unresolved:
        lines += ["", f"**DNS could not be used:** {md(unresolved)}"]
    others = [error for error in result.errors if error.message != unresolved]  # that one is shown above
    if others:
        lines += ["", "**Could not complete:**", "", *(f"- {md(e.phase)}: {md(e.message)}" for e in others)]
    if result.profiles:
        lines += ["", *_profiles(result)]
    endpoints = _endpoints(result)
    if endpoints:
        lines += ["", *endpoints]
    lines += ["", *_findings(result)]
    return "\n".join(lines) + "\n"
