"""JUnit XML for CI test reports: one test case per check and endpoint.

Suites: the scan-wide checks, each service's checks, each endpoint's checks, and one per compliance
profile that was judged. A check whose finding was reported fails (type = severity, the text says
what was seen and how to fix it), unless the finding is only informational (severity ``info``):
that case passes and says what was seen in ``system-out``. A check that ran and found nothing
passes; the checks of an endpoint that could not be scanned are skipped, except
``endpoint.unreachable``, which fails.
Profile items: a failed MUST fails; a failed SHOULD passes with a warning in ``system-out``; items
not evaluated or not applicable are skipped with the reason.

Everything a remote server controls ends up in attributes and text, so characters XML 1.0 cannot
carry are replaced. The renderer only reads the judged result; it never recomputes a finding.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from observatory.catalogue import SERVERS, CatalogueEntry, catalogue
from observatory.checks import ENDPOINT_CHECKS, SCAN_CHECKS, SERVICE_CHECKS, all_check_ids
from observatory.model import (
    ComplianceLevel,
    ComplianceStatus,
    Endpoint,
    Finding,
    ProfileResult,
    ScanResult,
    Severity,
)

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _element(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {key: _clean(value) for key, value in attributes.items()})
    if text is not None:
        element.text = _clean(text)
    return element


def _failure_text(entry: CatalogueEntry | None, findings: Iterable[Finding]) -> str:
    lines = [detail for finding in findings for detail in finding.details]
    if entry is not None:
        lines += ["", f"Why: {entry.why}", f"Fix: {entry.fix}"]
        for server in SERVERS:
            snippet, reason = entry.fix_for(server)
            if snippet is not None:
                lines += ["", f"{server}:", snippet]
            elif reason is not None:
                lines += ["", f"{server}: {reason}"]
    return "\n".join(lines).strip("\n")


class _Suite:
    def __init__(self, root: ET.Element, name: str, timestamp: str) -> None:
        self.element = _element(root, "testsuite", name=name, timestamp=timestamp)
        self.counts = {"tests": 0, "failures": 0, "skipped": 0}

    def case(self, classname: str, name: str) -> ET.Element:
        self.counts["tests"] += 1
        return _element(self.element, "testcase", classname=classname, name=name, time="0")

    def check(self, classname: str, finding_id: str, found: list[Finding], skip_reason: str | None = None) -> None:
        entry = catalogue().get(finding_id)
        case = self.case(classname, finding_id)
        title = entry.title if entry else finding_id
        if found and found[0].severity is Severity.INFO:
            # Informational findings are not problems: the case passes and says what was seen.
            _element(case, "system-out", f"info: {title}\n{_failure_text(entry, found)}")
        elif found:
            self.counts["failures"] += 1
            _element(case, "failure", _failure_text(entry, found), message=title, type=found[0].severity.value)
        elif skip_reason is not None:
            self.counts["skipped"] += 1
            _element(case, "skipped", message=skip_reason)

    def close(self) -> dict[str, int]:
        for key, value in self.counts.items():
            self.element.set(key, str(value))
        self.element.set("errors", "0")
        self.element.set("time", "0")
        return self.counts


def _endpoint_suite(suite: _Suite, endpoint: Endpoint, findings: dict[str, list[Finding]]) -> None:
    skip = None
    if endpoint.grade is None:
        skip = "not scanned" + (f": {endpoint.errors[0].message}" if endpoint.errors else "")
    for finding_id in ENDPOINT_CHECKS:
        found = [f for f in findings.get(finding_id, []) if endpoint.id in f.endpoints]
        suite.check(endpoint.id, finding_id, found, None if found else skip)


def _profile_suite(suite: _Suite, profile: ProfileResult) -> None:
    items = {item.id: item for item in profile.items}
    for endpoint in profile.endpoints:
        if not endpoint.outcomes:
            for item in profile.items:
                case = suite.case(endpoint.endpoint, f"{profile.id}: {item.id}")
                suite.counts["skipped"] += 1
                _element(case, "skipped", message="; ".join(endpoint.notes) or "not evaluated")
            continue
        for outcome in endpoint.outcomes:
            item = items[outcome.item]
            case = suite.case(endpoint.endpoint, f"{profile.id}: {item.id}")
            detail = "; ".join(outcome.details)
            if outcome.status is ComplianceStatus.FAIL and item.level is ComplianceLevel.MUST:
                suite.counts["failures"] += 1
                text = "\n".join([*outcome.details, "", f"{item.title} ({item.reference or profile.name})"])
                _element(case, "failure", text.strip(), message=item.title, type="must")
            elif outcome.status is ComplianceStatus.FAIL:
                _element(case, "system-out", f"warning (SHOULD): {item.title}: {detail}")
            elif outcome.status in (ComplianceStatus.NOT_EVALUATED, ComplianceStatus.NOT_APPLICABLE):
                suite.counts["skipped"] += 1
                _element(case, "skipped", message=f"{outcome.status.value}: {detail}")


def junit_tree(result: ScanResult) -> ET.ElementTree:
    all_check_ids()  # loads the check registry: the names of the checks, never run here
    root = ET.Element("testsuites", {"name": _clean(f"xmpp-observatory {result.domain}")})
    timestamp = result.started_at.isoformat()
    by_id: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_id.setdefault(finding.id, []).append(finding)
    suites: list[_Suite] = []

    scan_suite = _Suite(root, f"{result.domain} (scan)", timestamp)
    # Nothing was learnt through a resolver that cannot resolve public names: skipped, not passed.
    unresolved = result.dns.resolver_failure if result.dns is not None else None
    skip = f"not scanned: {unresolved.message}" if unresolved is not None else None
    for finding_id in SCAN_CHECKS:
        found = [f for f in by_id.get(finding_id, []) if f.service is None]
        scan_suite.check(result.domain, finding_id, found, None if found else skip)
    suites.append(scan_suite)
    for name in ("c2s", "s2s"):
        service = getattr(result.services, name)
        if service is None:
            continue
        service_suite = _Suite(root, f"{result.domain} {name}", timestamp)
        for finding_id in SERVICE_CHECKS:
            found = [f for f in by_id.get(finding_id, []) if f.service is not None and f.service.value == name]
            service_suite.check(f"{result.domain}/{name}", finding_id, found)
        suites.append(service_suite)
        for endpoint in service.endpoints:
            endpoint_suite = _Suite(root, endpoint.id, timestamp)
            _endpoint_suite(endpoint_suite, endpoint, by_id)
            suites.append(endpoint_suite)
    for profile in result.profiles:
        profile_suite = _Suite(root, f"profile {profile.id} ({profile.name} {profile.edition})", timestamp)
        _profile_suite(profile_suite, profile)
        suites.append(profile_suite)

    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for suite in suites:
        for key, value in suite.close().items():
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    if result.finished_at is not None:
        root.set("time", f"{(result.finished_at - result.started_at).total_seconds():.3f}")
    ET.indent(root)
    return ET.ElementTree(root)


def render_junit(result: ScanResult) -> str:
    tree = junit_tree(result)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(tree.getroot(), encoding="unicode") + "\n"
