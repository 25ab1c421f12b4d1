"""SARIF 2.1.0 for code-scanning dashboards (GitHub code scanning, GitLab, Azure DevOps, DefectDojo).

One run per scan. Every catalogue entry is a rule (id = finding id, level from severity, the fix and
the Prosody/ejabberd/Openfire snippets as help); every finding is one result per endpoint it applies
to. Compliance profiles that were judged add one rule per item (``profile/<profile>/<item>``) and one
result per endpoint that violates it.

Where a result is: dashboards built for source code insist on a file. GitHub rejects results
without ``physicalLocation.artifactLocation.uri`` and a ``region``, so each result carries both:
a relative URI that names the endpoint as a path (``example.org/c2s/starttls/xmpp.example.org/
192.0.2.10:5222``; relative, because a made-up absolute scheme would misuse ``xmpp:``, RFC 5122's
scheme for addresses), line 1, and the same endpoint as a SARIF logical location (kind
``resource``) for tools that read those. ``partialFingerprints`` hold a hash of rule and endpoint,
so an alert keeps its identity from scan to scan without a file to read.

The renderer only reads the judged result; it never recomputes a finding.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from observatory.catalogue import SERVERS, SNIPPET_LANGUAGE, CatalogueEntry, catalogue
from observatory.model import (
    ComplianceLevel,
    ComplianceStatus,
    Finding,
    ProfileResult,
    ScanResult,
    Severity,
)

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
TOOL_NAME = "xmpp-observatory"

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
#: GitHub's scale: 9.0+ critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low; info gets none.
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "3.0"}
PROFILE_LEVEL = {ComplianceLevel.MUST: "error", ComplianceLevel.SHOULD: "warning"}


def endpoint_uri(domain: str, endpoint_id: str | None, service: str | None = None) -> str:
    """A relative URI naming the endpoint (or the service, or the domain) as a path."""
    parts = [domain, *(endpoint_id.split("/") if endpoint_id else [service] if service else [])]
    # ":" may stay (never in the first segment: that is the domain); brackets of IPv6 may not.
    return "/".join(quote(part, safe=":@!$&'()*+,;=-._~") for part in parts)


def _location(domain: str, endpoint_id: str | None, service: str | None) -> dict[str, Any]:
    uri = endpoint_uri(domain, endpoint_id, service)
    name = endpoint_id.rsplit("/", 1)[-1] if endpoint_id else service or domain
    return {
        "physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": 1}},
        "logicalLocations": [
            {
                "name": name,
                "fullyQualifiedName": f"{domain}/{endpoint_id or service or ''}".rstrip("/"),
                "kind": "resource",
            }
        ],
    }


def _fingerprint(rule_id: str, uri: str) -> dict[str, str]:
    digest = hashlib.sha256(f"{rule_id}\n{uri}".encode()).hexdigest()[:32]
    # The key GitHub's uploader looks for; present, it does not try to hash a source line.
    return {"primaryLocationLineHash": digest}


def _help(entry: CatalogueEntry) -> dict[str, str]:
    text = [entry.fix]
    markdown = [f"**Why:** {entry.why}", "", f"**Fix:** {entry.fix}"]
    for server in SERVERS:
        snippet, reason = entry.fix_for(server)
        if snippet is not None:
            text += ["", f"{server}:", snippet]
            markdown += ["", f"{server}:", "", f"```{SNIPPET_LANGUAGE[server]}", snippet, "```"]
        elif reason is not None:
            text += ["", f"{server}: {reason}"]
            markdown += ["", f"{server}: {reason}"]
    if entry.references:
        text += ["", "References: " + ", ".join(entry.references)]
        markdown += ["", "References: " + ", ".join(entry.references)]
    return {"text": "\n".join(text), "markdown": "\n".join(markdown)}


def _finding_rule(entry: CatalogueEntry) -> dict[str, Any]:
    properties: dict[str, Any] = {"tags": ["security", "xmpp", entry.id.split(".")[0]], "precision": "very-high"}
    if entry.severity in SECURITY_SEVERITY:
        properties["security-severity"] = SECURITY_SEVERITY[entry.severity]
    return {
        "id": entry.id,
        "shortDescription": {"text": entry.title},
        "fullDescription": {"text": entry.why},
        "help": _help(entry),
        "defaultConfiguration": {"level": LEVEL[entry.severity]},
        "properties": properties,
    }


def _profile_rules(profile: ProfileResult) -> list[dict[str, Any]]:
    return [
        {
            "id": f"profile/{profile.id}/{item.id}",
            "shortDescription": {"text": f"{profile.name} {profile.edition}: {item.title}"},
            "fullDescription": {
                "text": f"{item.title} ({item.level.value.upper()}"
                + (f"; {item.reference}" if item.reference else "")
                + f"). Compliance profile {profile.name}, {profile.edition}."
            },
            "defaultConfiguration": {"level": PROFILE_LEVEL[item.level]},
            "properties": {"tags": ["compliance", profile.id], "precision": "very-high"},
        }
        for item in profile.items
    ]


def _finding_results(result: ScanResult, finding: Finding, rule_index: int, entry: CatalogueEntry | None) -> list:
    title = entry.title if entry else finding.id
    detail = f": {'; '.join(finding.details)}" if finding.details else ""
    service = finding.service.value if finding.service else None
    targets: list[str | None] = list(finding.endpoints) or [None]
    results = []
    for endpoint_id in targets:
        where = f" ({endpoint_id})" if endpoint_id else f" ({service} service)" if service else ""
        location = _location(result.domain, endpoint_id, service)
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
        results.append(
            {
                "ruleId": finding.id,
                "ruleIndex": rule_index,
                "level": LEVEL[finding.severity],
                "message": {"text": f"{title}{detail}{where}"},
                "locations": [location],
                "partialFingerprints": _fingerprint(finding.id, uri),
                "properties": {"severity": finding.severity.value, "service": service, "details": finding.details},
            }
        )
    return results


def _profile_results(result: ScanResult, profile: ProfileResult, first_index: int) -> list[dict[str, Any]]:
    index = {item.id: first_index + n for n, item in enumerate(profile.items)}
    items = {item.id: item for item in profile.items}
    results = []
    for endpoint in profile.endpoints:
        for outcome in endpoint.outcomes:
            if outcome.status is not ComplianceStatus.FAIL:
                continue
            item = items[outcome.item]
            rule_id = f"profile/{profile.id}/{item.id}"
            location = _location(result.domain, endpoint.endpoint, None)
            uri = location["physicalLocation"]["artifactLocation"]["uri"]
            detail = f": {'; '.join(outcome.details)}" if outcome.details else ""
            message = f"{profile.name} {profile.edition}: {item.title}{detail} ({endpoint.endpoint})"
            results.append(
                {
                    "ruleId": rule_id,
                    "ruleIndex": index[item.id],
                    "level": PROFILE_LEVEL[item.level],
                    "message": {"text": message},
                    "locations": [location],
                    "partialFingerprints": _fingerprint(rule_id, uri),
                    "properties": {"profile": profile.id, "item": item.id, "requirement": item.level.value},
                }
            )
    return results


def _notifications(result: ScanResult) -> list[dict[str, Any]]:
    notes = [
        {
            "level": "error",
            "message": {"text": f"{error.phase}: {error.message}"},
            "descriptor": {"id": error.reason.value},
        }
        for error in result.errors
    ]
    for service in (result.services.c2s, result.services.s2s):
        for endpoint in service.endpoints if service else []:
            if endpoint.grade is None and endpoint.errors:
                first = endpoint.errors[0]
                notes.append(
                    {
                        "level": "error",
                        "message": {"text": f"{endpoint.id} could not be scanned: {first.message}"},
                        "descriptor": {"id": first.reason.value},
                        "locations": [_location(result.domain, endpoint.id, None)],
                    }
                )
    return notes


def sarif_document(result: ScanResult) -> dict[str, Any]:
    entries = catalogue()
    rules = [_finding_rule(entry) for entry in entries.values()]
    rule_index = {entry_id: n for n, entry_id in enumerate(entries)}
    results: list[dict[str, Any]] = []
    for finding in result.findings:
        entry = entries.get(finding.id)
        if entry is None:  # a document judged by a newer catalogue: keep the result, describe it minimally
            rule_index[finding.id] = len(rules)
            rules.append({"id": finding.id, "defaultConfiguration": {"level": LEVEL[finding.severity]}})
        results += _finding_results(result, finding, rule_index[finding.id], entry)
    for profile in result.profiles:
        first = len(rules)
        rules += _profile_rules(profile)
        results += _profile_results(result, profile, first)
    notifications = _notifications(result)
    invocation: dict[str, Any] = {
        "executionSuccessful": not notifications,
        "startTimeUtc": result.started_at.isoformat().replace("+00:00", "Z"),
    }
    if result.finished_at is not None:
        invocation["endTimeUtc"] = result.finished_at.isoformat().replace("+00:00", "Z")
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    grades = {
        name: service.grade.letter
        for name, service in (("c2s", result.services.c2s), ("s2s", result.services.s2s))
        if service is not None and service.grade is not None
    }
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": {"name": TOOL_NAME, "version": result.scanner_version, "rules": rules}},
                # GitHub keeps one analysis per category: one per scanned domain.
                "automationDetails": {"id": f"{TOOL_NAME}/{result.domain}/"},
                "invocations": [invocation],
                "results": results,
                "properties": {
                    "domain": result.domain,
                    "rulesVersion": result.rules_version,
                    "formatVersion": result.format_version,
                    "grades": grades,
                    "profiles": {p.id: {"edition": p.edition, "status": p.status.value} for p in result.profiles},
                },
            }
        ],
    }


def render_sarif(result: ScanResult) -> str:
    return json.dumps(sarif_document(result), indent=2, ensure_ascii=False) + "\n"
