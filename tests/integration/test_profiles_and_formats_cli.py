"""`observatory scan --profile … --format sarif|junit|markdown` against the testbed's strong and weak Prosody."""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from cli import EXIT_BELOW_BAR, EXIT_INCOMPLETE, EXIT_OK, cli
from tests.integration.test_scan_end_to_end import cli_args
from tests.testbed.dns import DnsTestbed
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator
from tests.testbed.prosody import ProsodyInstance

pytestmark = pytest.mark.integration

SARIF_SCHEMA = json.loads((Path(__file__).parents[1] / "data" / "sarif-schema-2.1.0.json").read_text())


def run(dns_testbed: DnsTestbed, pki: TestPKI, domain: str, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, cli_args(dns_testbed, pki, domain, "--kind", "c2s", "--no-save", *extra))
    return result.exit_code, result.output


def test_strong_server_meets_mozilla_intermediate_and_bcp195_in_sarif(
    dns_testbed: DnsTestbed, pki: TestPKI, prosody_strong: ProsodyInstance, tmp_path: Path
) -> None:
    out = tmp_path / "strong.sarif"
    profiles = ("--profile", "mozilla-intermediate", "--profile", "bcp195")
    code, output = run(dns_testbed, pki, "example.test", *profiles, "--format", "sarif", "--output", str(out))
    assert code == EXIT_OK, output
    sarif = json.loads(out.read_text())
    jsonschema.Draft7Validator(SARIF_SCHEMA).validate(sarif)
    (scan_run,) = sarif["runs"]
    assert scan_run["properties"]["profiles"] == {
        "mozilla-intermediate": {"edition": "6.0", "status": "pass"},
        "bcp195": {"edition": "RFC 9325 (November 2022), with RFC 10015 (July 2026)", "status": "pass"},
    }
    assert scan_run["properties"]["grades"] == {"c2s": "A+"}
    # Prosody 0.12 follows the client's order and cannot staple OCSP: informational results, and the
    # profiles' OCSP items are SHOULDs (reported, not failed).
    allowed = {
        "tls.cipher.client-order",
        "xmpp.sasl.no-channel-binding",
        "tls.ocsp.no-staple",
        "profile/mozilla-intermediate/ocsp-stapling",
        "profile/bcp195/ocsp-stapling",
    }
    assert {r["ruleId"] for r in scan_run["results"]} <= allowed
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in scan_run["results"]}
    assert all(uri.startswith("example.test/c2s/") for uri in uris)


def test_weak_server_fails_mozilla_intermediate_in_junit(
    dns_testbed: DnsTestbed, pki: TestPKI, prosody_weak: ProsodyInstance, tmp_path: Path
) -> None:
    out = tmp_path / "weak.xml"
    args = ("--profile", "mozilla-intermediate", "--format", "junit", "--output", str(out))
    code, output = run(dns_testbed, pki, "weak.example.test", *args)
    assert code == EXIT_BELOW_BAR, output
    assert "the Mozilla intermediate (6.0) profile fails" in output
    root = ET.parse(out).getroot()
    suites = {suite.get("name", ""): suite for suite in root.iter("testsuite")}
    profile_suite = suites["profile mozilla-intermediate (Mozilla intermediate 6.0)"]
    failed = {
        (case.get("classname", "").split("/")[1], case.get("name"))
        for case in profile_suite.iter("testcase")
        if case.find("failure") is not None
    }
    for transport in ("starttls", "directtls"):
        assert (transport, "mozilla-intermediate: versions") in failed
        assert (transport, "mozilla-intermediate: suites.tls12") in failed
    assert ("starttls", "mozilla-intermediate: encryption-required") in failed
    assert ("directtls", "mozilla-intermediate: encryption-required") not in failed
    # The findings the weak server has planted fail their own test cases too.
    endpoint_failures = {
        case.get("name")
        for suite in root.iter("testsuite")
        if suite.get("name", "").startswith("c2s/starttls/")
        for case in suite.iter("testcase")
        if case.find("failure") is not None
    }
    assert {"tls.protocol.tls10", "xmpp.starttls.optional", "xmpp.sasl.plain-before-tls"} <= endpoint_failures


def test_strong_server_fails_nist_for_chacha20_and_says_so_in_markdown(
    dns_testbed: DnsTestbed, pki: TestPKI, prosody_strong: ProsodyInstance
) -> None:
    code, output = run(dns_testbed, pki, "example.test", "--profile", "nist-800-52r2", "--format", "markdown")
    assert code == EXIT_BELOW_BAR, output
    assert "| NIST SP 800-52r2 | Revision 2 (August 2019) | **FAIL** | 4 of 4 |" in output
    assert "TLS\\_CHACHA20\\_POLY1305\\_SHA256" in output


def test_text_report_ends_with_the_compliance_lines(
    dns_testbed: DnsTestbed, pki: TestPKI, prosody_weak: ProsodyInstance
) -> None:
    code, output = run(dns_testbed, pki, "weak.example.test", "--profile", "mozilla-old", "--fail-under", "F")
    assert code == EXIT_BELOW_BAR, output
    assert "Compliance:\n  Mozilla old (5.7): FAIL on 4 of 4 endpoints\n" in output
    assert "certificate.trusted (does not name weak.example.test)" in output


def test_an_incomplete_scan_exits_3_with_the_profile_not_evaluated(
    dns_testbed: DnsTestbed, pki: TestPKI, ports: PortAllocator, tmp_path: Path
) -> None:
    host, port = "127.0.0.1", ports.take()
    with socket.socket() as silent:
        silent.bind((host, port))
        silent.listen(8)
        args = ("--connect", f"{host}:{port}", "--probe-timeout", "2", "--timeout", "5", "--no-http")
        args += ("--profile", "bcp195")
        out = tmp_path / "silent.sarif"
        code, output = run(dns_testbed, pki, "example.test", *args, "--format", "sarif", "--output", str(out))
    assert code == EXIT_INCOMPLETE, output
    sarif = json.loads(out.read_text())
    assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is False
    assert sarif["runs"][0]["properties"]["profiles"]["bcp195"]["status"] == "not-evaluated"
