"""The JUnit report: well-formed XML that CI parsers read, one case per check and endpoint."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from observatory.checks import ENDPOINT_CHECKS, SCAN_CHECKS, SERVICE_CHECKS, all_check_ids
from reports.junit import render_junit
from tests.unit.reports.judged import judged, with_hostile_detail

UNSCANNED = "c2s/starttls/xmpp.example.org/[2001:db8::10]:5222"
SCANNED = "c2s/starttls/xmpp.example.org/192.0.2.10:5222"


def parsed(result=None) -> ET.Element:  # type: ignore[no-untyped-def]
    return ET.fromstring(render_junit(result or judged()))


def suites(root: ET.Element) -> dict[str, ET.Element]:
    return {suite.get("name", ""): suite for suite in root.iter("testsuite")}


def cases(suite: ET.Element) -> dict[str, ET.Element]:
    return {case.get("name", ""): case for case in suite.iter("testcase")}


def test_one_case_per_check_and_endpoint() -> None:
    all_check_ids()
    root = parsed()
    by_name = suites(root)
    for endpoint in ("c2s/starttls/xmpp.example.org/192.0.2.10:5222", "s2s/starttls/xmpp.example.org/192.0.2.10:5269"):
        assert set(cases(by_name[endpoint])) == set(ENDPOINT_CHECKS)
        assert {case.get("classname") for case in by_name[endpoint].iter("testcase")} == {endpoint}
    assert set(cases(by_name["example.org c2s"])) == set(SERVICE_CHECKS)
    assert set(cases(by_name["example.org (scan)"])) == set(SCAN_CHECKS)


def test_findings_fail_and_checks_that_found_nothing_pass() -> None:
    suite = suites(parsed())[SCANNED]
    failed = {name for name, case in cases(suite).items() if case.find("failure") is not None}
    assert failed == {"dane.mismatch", "cert.untrusted"}
    # Informational findings pass, saying what was seen.
    info = cases(suite)["tls.cipher.client-order"]
    assert [child.tag for child in info] == ["system-out"]
    assert (info[0].text or "").startswith("info: The server follows the client's suite order\nTLSv1.3")
    failure = cases(suite)["cert.untrusted"].find("failure")
    assert failure is not None
    assert failure.get("type") == "high"
    assert failure.get("message") == "The certificate chain is not trusted"
    assert "Fix: Use a certificate from a public CA" in (failure.text or "")
    assert "ejabberd:" in (failure.text or "")
    passed = cases(suite)["tls.protocol.tls10"]
    assert list(passed) == []


def test_checks_of_an_unscanned_endpoint_are_skipped_except_unreachable() -> None:
    suite = suites(parsed())[UNSCANNED]
    outcome = {name: [child.tag for child in case] for name, case in cases(suite).items()}
    assert outcome.pop("endpoint.unreachable") == ["failure"]
    assert set(map(tuple, outcome.values())) == {("skipped",)}
    skipped = cases(suite)["tls.protocol.tls10"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "not scanned: no answer within 10 s"


def test_profile_suites_fail_must_items_and_skip_what_was_not_evaluated() -> None:
    suite = suites(parsed())["profile mozilla-intermediate (Mozilla intermediate 6.0)"]
    by_case = {(case.get("classname"), case.get("name")): case for case in suite.iter("testcase")}
    trusted = by_case[(SCANNED, "mozilla-intermediate: certificate.trusted")]
    assert [child.tag for child in trusted] == ["failure"]
    groups = by_case[(SCANNED, "mozilla-intermediate: groups")].find("skipped")
    assert groups is not None
    assert (groups.get("message") or "").startswith("not-evaluated: the key exchange groups were not observed")
    versions = by_case[(SCANNED, "mozilla-intermediate: versions")]
    assert list(versions) == []


def test_totals_add_up() -> None:
    root = parsed()
    all_cases = list(root.iter("testcase"))
    assert int(root.get("tests", "")) == len(all_cases)
    assert int(root.get("failures", "")) == sum(1 for case in all_cases if case.find("failure") is not None)
    assert int(root.get("skipped", "")) == sum(1 for case in all_cases if case.find("skipped") is not None)
    for suite in root.iter("testsuite"):
        assert int(suite.get("tests", "")) == len(list(suite.iter("testcase")))
    assert root.get("time") == "9.000"


def test_hostile_details_cannot_break_the_xml() -> None:
    root = parsed(with_hostile_detail())
    failure = cases(suites(root)[SCANNED])["xmpp.starttls.not-enforced"].find("failure")
    assert failure is not None
    text = failure.text or ""
    assert "<img src=x onerror=alert(1)>" in text  # kept as text, escaped in the XML
    assert "\x00" not in text
    assert "\ufffd" in text
