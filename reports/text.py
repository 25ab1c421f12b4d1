"""The report for people: grades and their reasons first, then every endpoint, then findings with fixes.

Rendered with rich; readable in 80 columns, colour only when writing to a terminal.
"""

from __future__ import annotations

import io

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from observatory.catalogue import catalogue
from observatory.model import Endpoint, Finding, Grade, ScanResult, Service, Severity
from scanners.tls.facts import TlsVersion

GRADE_STYLE = {
    "A+": "bold green",
    "A": "bold green",
    "A-": "green",
    "B": "yellow",
    "C": "yellow",
    "T": "bold red",
    "D": "red",
    "E": "red",
    "F": "bold red",
}
SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
#: The configuration snippets shown under each finding's fix.
SNIPPET_SERVER = "prosody"
LABEL_WIDTH = len(SNIPPET_SERVER) + 4
DISCOVERY_WORDS = {
    "srv": "SRV records",
    "fallback": "no SRV records: the domain's own addresses on the default port",
    "connect": "--connect (no DNS discovery)",
    "not-offered": "the SRV record says the service is not offered ('.')",
    "none": "nothing: no SRV record and no address",
}


def resolver_failure(result: ScanResult) -> str | None:
    """Why DNS taught nothing, when the resolver could not resolve the trust anchor zone."""
    failure = result.dns.resolver_failure if result.dns is not None else None
    return failure.message if failure is not None else None


#: Said instead of "No findings." when nothing was learnt: an empty list must not read as a clean domain.
NOTHING_LEARNT = "No findings — but nothing was learnt about the domain: its DNS could not be resolved."


def _grade_text(grade: Grade | None) -> Text:
    if grade is None:
        return Text("—", style="dim")
    text = Text(grade.letter, style=GRADE_STYLE.get(grade.letter, ""))
    if grade.if_trusted and grade.letter == "T":
        text.append(f" ({grade.if_trusted} if trusted)", style="dim")
    return text


def _service_block(name: str, service: Service) -> list[RenderableType]:
    lines: list[RenderableType] = []
    title = Text(f"{name}: ", style="bold")
    title.append_text(_grade_text(service.grade))
    scanned = sum(1 for e in service.endpoints if e.grade is not None)
    title.append(f"   ({scanned} of {len(service.endpoints)} endpoints graded)", style="dim")
    lines.append(title)
    status = DISCOVERY_WORDS.get(service.status.value if service.status else "", "")
    if status and service.status and service.status.value == "none" and any(lookup.error for lookup in service.srv):
        status = "nothing: the DNS lookups failed"
    if status:
        lines.append(Text(f"  found by: {status}", style="dim"))
    for lookup in service.srv:
        if lookup.error:
            lines.append(Text(f"  ! {lookup.name}: {lookup.error}", style="red"))
    reasons = _reasons(service.endpoints)
    lines.extend(Text(f"  • {reason}") for reason in reasons)
    return lines


def _reasons(endpoints: list[Endpoint]) -> list[str]:
    seen: list[str] = []
    for endpoint in endpoints:
        if endpoint.grade is None:
            continue
        for cap in endpoint.grade.caps:
            line = f"{cap.reason} (max {cap.grade})" if cap.finding else cap.reason
            if line not in seen:
                seen.append(line)
    return seen


def _versions(versions: list[TlsVersion]) -> str:
    """``1.0–1.3`` for a contiguous run of TLS versions, ``SSLv3, 1.2`` otherwise."""
    names = [v.value.removeprefix("TLSv") for v in versions]
    order = [v.value.removeprefix("TLSv") for v in TlsVersion]
    indexes = [order.index(name) for name in names]
    if len(names) > 2 and indexes == list(range(indexes[0], indexes[-1] + 1)) and names[0][0].isdigit():
        return f"{names[0]}–{names[-1]}"
    return ", ".join(names)


def _endpoint_table(result: ScanResult) -> Table:
    table = Table(title="Endpoints", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, expand=False)
    table.add_column("service")
    table.add_column("target", overflow="fold")
    table.add_column("address", overflow="fold")
    table.add_column("TLS")
    table.add_column("grade")
    for name in ("c2s", "s2s"):
        service = getattr(result.services, name)
        if service is None:
            continue
        previous_target = None
        for endpoint in service.endpoints:
            mode = "direct" if endpoint.transport.value == "directtls" else "starttls"
            host = f"[{endpoint.address}]" if ":" in endpoint.address else endpoint.address
            if endpoint.tls and endpoint.tls.versions:
                versions = _versions(endpoint.tls.versions)
                if endpoint.tls.shared_from is not None:  # lists of another hosted domain's scan, confirmed
                    versions += " (shared)"
            else:
                versions = endpoint.errors[0].reason.value if endpoint.errors else "—"
            target = endpoint.target if endpoint.target != previous_target else ""
            previous_target = endpoint.target
            table.add_row(f"{name} {mode}", target, f"{host}:{endpoint.port}", versions, _grade_text(endpoint.grade))
        table.add_section()
    return table


def _paragraph(label: str, body: str | Text, style: str = "") -> Table:
    """``label: body`` with the body wrapped under itself, not under the label."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=LABEL_WIDTH, no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(Text(f"  {label}", style="dim"), body if isinstance(body, Text) else Text(body, style=style))
    return grid


def _findings(result: ScanResult) -> list[RenderableType]:
    entries = catalogue()
    # The document keeps one finding per service; people read one block per problem.
    grouped: dict[str, list[Finding]] = {}
    for finding in result.findings:
        grouped.setdefault(finding.id, []).append(finding)
    blocks: list[RenderableType] = []
    for finding_id, findings in grouped.items():
        entry = entries.get(finding_id)
        severity = findings[0].severity
        head = Text(f"[{severity.value}] ", style=SEVERITY_STYLE[severity])
        head.append(entry.title if entry else finding_id, style="bold")
        head.append(f"  {finding_id}", style="dim")
        blocks.append(head)
        where = []
        for finding in findings:
            service = finding.service.value if finding.service else "scan"
            count = len(finding.endpoints)
            where.append(f"{service} ({count} endpoint{'s' if count != 1 else ''})" if count else service)
        blocks.append(_paragraph("where:", ", ".join(where)))
        details = list(dict.fromkeys(detail for finding in findings for detail in finding.details))
        for detail in details[:3]:
            blocks.append(_paragraph("seen:", detail))
        if entry is not None and severity is not Severity.INFO:
            blocks.append(_paragraph("why:", entry.why))
            blocks.append(_paragraph("fix:", entry.fix))
            snippet = entry.snippets.get(SNIPPET_SERVER)
            if snippet:
                blocks.append(_paragraph(f"{SNIPPET_SERVER}:", Text(snippet, style="cyan")))
        blocks.append(Text(""))
    return blocks


def render(result: ScanResult) -> Group:
    parts: list[RenderableType] = []
    head = Text(f"XMPP security report for {result.domain}", style="bold")
    parts.append(head)
    stamp = result.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    cost = f" · {result.connections} connections" if result.connections is not None else ""
    parts.append(
        Text(
            f"scanned {stamp}{cost} · rules {result.rules_version} · observatory {result.scanner_version}", style="dim"
        )
    )
    parts.append(Text(""))
    unresolved = resolver_failure(result)
    if unresolved:
        parts.append(Text("DNS could not be used:", style="bold red"))
        parts.append(Text(f"  {unresolved}"))
        parts.append(Text(""))
    for name in ("c2s", "s2s"):
        service = getattr(result.services, name)
        if service is not None:
            parts.extend(_service_block(name, service))
            parts.append(Text(""))
    if any(service and service.endpoints for service in (result.services.c2s, result.services.s2s)):
        parts.append(_endpoint_table(result))
        parts.append(Text(""))
    others = [error for error in result.errors if error.message != unresolved]  # that one is shown above
    if others:
        parts.append(Text("Could not complete:", style="bold red"))
        parts.extend(Text(f"  • {e.phase}: {e.message}") for e in others)
        parts.append(Text(""))
    if result.findings:
        parts.append(Text(f"Findings ({len(result.findings)})", style="bold underline"))
        parts.extend(_findings(result))
    elif unresolved:
        parts.append(Text(NOTHING_LEARNT, style="bold red"))
    else:
        parts.append(Text("No findings.", style="green"))
    return Group(*parts)


def render_text(result: ScanResult, *, width: int = 80, color: bool = False) -> str:
    """The report as a string (for files and tests); ``color`` adds ANSI styles."""
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, force_terminal=color, no_color=not color, highlight=False, soft_wrap=False
    )
    console.print(render(result))
    # rich pads table cells to their width; trailing blanks only make diffs and logs noisier.
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
