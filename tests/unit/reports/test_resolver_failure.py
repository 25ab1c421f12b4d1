"""A scan whose resolver could not resolve the trust anchor zone: every report says so first, and none
says "No findings." as if the domain were clean."""

from __future__ import annotations

from datetime import UTC, datetime

from observatory.model import ScanRequest, ScanResult
from reports.junit import junit_tree
from reports.markdown import render_markdown
from reports.text import NOTHING_LEARNT, render_text
from scanners.base import ErrorReason, ProbeError, ServiceKind
from scanners.dns.facts import DnsStats, ResolverFailure

MESSAGE = (
    "the resolver at 192.0.2.53:53 cannot resolve the trust anchor zone . (the DNS root) — it answered "
    "NXDOMAIN for . DNSKEY; it cannot resolve public names (offline, or a resolver that denies them), so "
    "nothing was learnt about the domain"
)


def unresolved() -> ScanResult:
    failure = ResolverFailure(resolver="192.0.2.53:53", zone=".", rcode="NXDOMAIN", message=MESSAGE)
    return ScanResult(
        domain="example.org",
        started_at=datetime(2026, 12, 5, 8, 0, tzinfo=UTC),
        request=ScanRequest(domain="example.org", kinds=[ServiceKind.C2S, ServiceKind.S2S]),
        rules_version="2026.1",
        dns=DnsStats(
            resolver="192.0.2.53:53",
            trust_anchor="IANA root",
            queries=1,
            queries_by_type={"DNSKEY": 1},
            resolver_failure=failure,
        ),
        errors=[ProbeError(phase="dns", reason=ErrorReason.DNS, message=MESSAGE)],
    )


def test_text_leads_with_the_reason_and_does_not_call_the_domain_clean() -> None:
    text = " ".join(render_text(unresolved()).split())  # rich wraps long lines
    assert text.index("DNS could not be used:") < text.index(MESSAGE)
    assert text.count(MESSAGE) == 1  # not again under "Could not complete"
    assert NOTHING_LEARNT in text
    assert "No findings." not in text


def test_markdown_says_the_same() -> None:
    text = render_markdown(unresolved())
    assert f"**DNS could not be used:** {MESSAGE}" in text
    assert text.count(MESSAGE) == 1
    assert NOTHING_LEARNT in text
    assert "No findings." not in text


def test_junit_skips_the_scan_checks_instead_of_passing_them() -> None:
    root = junit_tree(unresolved()).getroot()
    cases = root.findall("./testsuite/testcase")
    assert cases
    assert all(case.find("skipped") is not None for case in cases)
    assert {case.find("skipped").get("message") for case in cases} == {f"not scanned: {MESSAGE}"}  # type: ignore[union-attr]
    assert root.get("skipped") == root.get("tests")


def test_a_clean_result_still_says_no_findings() -> None:
    clean = unresolved().model_copy(update={"dns": None, "errors": []})
    assert "No findings." in render_text(clean)
    assert NOTHING_LEARNT not in render_markdown(clean)
