"""The SARIF report: valid against the OASIS 2.1.0 schema, and what code-scanning dashboards need."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from observatory.catalogue import catalogue
from reports.sarif import endpoint_uri, render_sarif
from tests.unit.reports.judged import HOSTILE, judged, with_hostile_detail

SCHEMA = json.loads((Path(__file__).parents[2] / "data" / "sarif-schema-2.1.0.json").read_text())
#: RFC 3986 characters of a relative reference (unreserved, sub-delims, ":", "@", "/", "%" escapes).
URI_REFERENCE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%]+")


def document(result=None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return json.loads(render_sarif(result or judged()))


def test_report_is_valid_sarif_2_1_0() -> None:
    jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(document())


def test_hostile_details_stay_valid_and_intact() -> None:
    sarif = document(with_hostile_detail())
    jsonschema.Draft7Validator(SCHEMA).validate(sarif)
    messages = [r["message"]["text"] for r in sarif["runs"][0]["results"]]
    assert any(HOSTILE in message for message in messages)


def test_every_finding_and_endpoint_is_one_result_with_its_rule_and_level() -> None:
    result = judged()
    run = document()["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    expected = {(f.id, endpoint) for f in result.findings for endpoint in f.endpoints}
    found = set()
    for item in run["results"]:
        if item["ruleId"].startswith("profile/"):
            continue
        assert rules[item["ruleIndex"]]["id"] == item["ruleId"]
        uri = item["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri.startswith("example.org/")
        found.add(
            (
                item["ruleId"],
                item["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].removeprefix("example.org/"),
            )
        )
        severity = catalogue()[item["ruleId"]].severity.value
        assert item["level"] == {"critical": "error", "high": "error", "medium": "warning"}.get(severity, "note")
    assert found == expected


def test_every_catalogue_entry_is_a_rule_with_help_for_three_servers() -> None:
    rules = {rule["id"]: rule for rule in document()["runs"][0]["tool"]["driver"]["rules"]}
    assert set(catalogue()) <= set(rules)
    untrusted = rules["cert.untrusted"]
    assert untrusted["properties"]["security-severity"] == "8.0"
    assert "security" in untrusted["properties"]["tags"]
    for server in ("prosody", "ejabberd", "openfire"):
        assert f"{server}:" in untrusted["help"]["text"]
    assert "```yaml" in untrusted["help"]["markdown"]


def test_locations_are_relative_uris_with_a_region_and_a_logical_location() -> None:
    for item in document()["runs"][0]["results"]:
        (location,) = item["locations"]
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
        assert URI_REFERENCE.fullmatch(uri), uri
        assert ":" not in uri.split("/")[0]  # a relative reference: no scheme
        assert location["physicalLocation"]["region"] == {"startLine": 1}
        assert location["logicalLocations"][0]["kind"] == "resource"


@pytest.mark.parametrize(
    ("endpoint_id", "uri"),
    [
        ("c2s/starttls/xmpp.example.org/192.0.2.10:5222", "example.org/c2s/starttls/xmpp.example.org/192.0.2.10:5222"),
        (
            "s2s/directtls/x.example.org/[2001:db8::1]:5270",
            "example.org/s2s/directtls/x.example.org/%5B2001:db8::1%5D:5270",
        ),
        (None, "example.org/c2s"),
    ],
)
def test_endpoint_uri(endpoint_id: str | None, uri: str) -> None:
    assert endpoint_uri("example.org", endpoint_id, "c2s") == uri


def test_fingerprints_are_stable_and_distinct() -> None:
    first, again = document()["runs"][0]["results"], document()["runs"][0]["results"]
    prints = [r["partialFingerprints"]["primaryLocationLineHash"] for r in first]
    assert prints == [r["partialFingerprints"]["primaryLocationLineHash"] for r in again]
    assert len(set(prints)) == len(prints)


def test_profile_violations_are_results_of_their_own_rules() -> None:
    run = document()["runs"][0]
    profile_results = [r for r in run["results"] if r["ruleId"].startswith("profile/")]
    assert {r["ruleId"] for r in profile_results} == {
        "profile/mozilla-intermediate/certificate.trusted",
        "profile/bcp195/certificate.trusted",
    }
    assert all(r["level"] == "error" for r in profile_results)
    assert run["properties"]["profiles"]["bcp195"]["status"] == "fail"


def test_an_endpoint_that_could_not_be_scanned_is_a_failed_execution_notification() -> None:
    (invocation,) = document()["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert "[2001:db8::10]:5222 could not be scanned" in note["message"]["text"]
    assert invocation["startTimeUtc"] == "2026-11-25T12:00:00Z"


def test_one_category_per_domain() -> None:
    assert document()["runs"][0]["automationDetails"]["id"] == "xmpp-observatory/example.org/"
