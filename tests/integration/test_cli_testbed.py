"""The CLI accepts the testbed's own trust anchor (a dnssec-signzone dsset file) and test root CA."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli import EXIT_INCOMPLETE, cli
from scanners.dns.trust_anchors import load_trust_anchors
from tests.testbed.dns import DnsTestbed
from tests.testbed.pki import TestPKI

pytestmark = pytest.mark.integration


def test_dsset_file_written_by_dnssec_signzone_is_a_trust_anchor(dns_testbed: DnsTestbed) -> None:
    anchors = load_trust_anchors(dns_testbed.trust_anchor_path)
    assert [name.to_text() for name in anchors.zones] == ["test."]
    assert all(rrset.rdtype == 43 for rrset in anchors.rrsets)  # DS


def test_scan_accepts_testbed_trust_anchor_resolver_and_ca(dns_testbed: DnsTestbed, pki: TestPKI) -> None:
    host, port = dns_testbed.resolver
    result = CliRunner().invoke(
        cli,
        [
            "scan",
            "example.test",
            "--resolver",
            f"{host}:{port}",
            "--trust-anchor",
            str(dns_testbed.trust_anchor_path),
            "--ca-file",
            str(pki.root_path),
        ],
    )
    assert result.exit_code == EXIT_INCOMPLETE, result.output
    assert "example.test, c2s+s2s" in result.output
