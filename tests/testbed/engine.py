"""The scan engine pointed at the loopback testbed: its resolver, trust anchor, test CA and scanner
domain, as ``ScanOptions`` (for a site or a batch built in the test) and as the CLI's flags (for the
real ``observatory`` processes)."""

from __future__ import annotations

import dataclasses

from observatory.orchestrate import ScanOptions
from observatory.trust_store import load_ca_file
from scanners.addresses import HostPort
from scanners.dns.trust_anchors import load_trust_anchors
from tests.testbed.dns import DnsTestbed
from tests.testbed.layout import SCANNER_DOMAIN
from tests.testbed.pki import TestPKI

TIMEOUT = 120


def options_for_testbed(dns_testbed: DnsTestbed, pki: TestPKI, **changes: object) -> ScanOptions:
    host, port = dns_testbed.resolver
    options = ScanOptions(
        domain="site.invalid",
        resolver=HostPort(host, port),
        trust_anchors=load_trust_anchors(dns_testbed.trust_anchor_path),
        ca_file=str(pki.root_path),
        extra_roots=tuple(load_ca_file(pki.root_path)),
        from_domain=SCANNER_DOMAIN,
        timeout=TIMEOUT,
    )
    return dataclasses.replace(options, **changes)  # type: ignore[arg-type]


def flags_for_testbed(dns_testbed: DnsTestbed, pki: TestPKI) -> list[str]:
    host, port = dns_testbed.resolver
    return [
        "--resolver",
        f"{host}:{port}",
        "--trust-anchor",
        str(dns_testbed.trust_anchor_path),
        "--ca-file",
        str(pki.root_path),
        "--from-domain",
        SCANNER_DOMAIN,
    ]
