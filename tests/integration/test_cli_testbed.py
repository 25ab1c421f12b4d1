"""The testbed's own trust anchor (a dnssec-signzone dsset file) is what --trust-anchor reads.

The CLI scanning with it end to end is in test_scan_end_to_end.py."""

from __future__ import annotations

import pytest

from scanners.dns.trust_anchors import load_trust_anchors
from tests.testbed.dns import DnsTestbed

pytestmark = pytest.mark.integration


def test_dsset_file_written_by_dnssec_signzone_is_a_trust_anchor(dns_testbed: DnsTestbed) -> None:
    anchors = load_trust_anchors(dns_testbed.trust_anchor_path)
    assert [name.to_text() for name in anchors.zones] == ["test."]
    assert all(rrset.rdtype == 43 for rrset in anchors.rrsets)  # DS
