"""Every Prosody fix snippet the testbed can show, proven on real Prosody 0.12.

Each case is a weak server: a Prosody configured with a weakness, scanned (c2s STARTTLS on its one
port) to confirm the findings, then, for each distinct snippet of those findings, restarted with the
catalogue's Prosody snippet appended verbatim to its global section and scanned again: the findings
the snippet is for are gone and nothing but an informational finding is new. The certificate comes
from the certificates folder, as ``prosodyctl cert import`` leaves it, because several snippets
replace the whole ``ssl`` table.

``CASES`` is also read, without starting anything, by tests/unit/test_catalogue_proofs.py: every case
id with its findings must be marked ``proven`` in the catalogue, and every ``proven`` mark must name
a case here (or another test that exists).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from observatory.catalogue import catalogue
from observatory.model import ScanResult, Severity
from observatory.orchestrate import ScanOptions, run_scan
from scanners.addresses import HostPort
from scanners.base import ServiceKind
from tests.testbed.dns import DnsTestbed
from tests.testbed.engine import options_for_testbed
from tests.testbed.layout import DOMAIN
from tests.testbed.pki import TestPKI
from tests.testbed.prosody import HOST, ProsodyFactory, ProsodyInstance

pytestmark = pytest.mark.integration

#: Where each case is proven, as the catalogue's ``proven`` marks name it.
TEST_NODE = "tests/integration/test_fix_snippets_testbed.py::test_prosody_snippet_fixes"


@dataclass(frozen=True)
class WeakServer:
    """One weakly configured Prosody and the findings it must show (each fixed by its own snippet)."""

    id: str
    #: ``ProsodyConfig`` knobs on top of the testbed's strong defaults.
    knobs: Mapping[str, Any]
    findings: tuple[str, ...]


#: TLS 1.0 needs SHA-1 signatures, which Debian's OpenSSL 3 refuses above security level 0.
_LEVEL_0 = {"openssl_security_level": 0}

CASES: tuple[WeakServer, ...] = (
    WeakServer(
        "legacy-profile",
        # Prosody's own defaults without a Mozilla profile: TLS 1.0+ and HIGH, static RSA included.
        {"tls_profile": "legacy", "protocol": None, **_LEVEL_0},
        ("tls.protocol.tls10", "tls.protocol.tls11", "tls.cipher.static-rsa"),
    ),
    WeakServer("tls13-only", {"protocol": "tlsv1_3"}, ("tls.protocol.no-tls12",)),
    WeakServer("tls12-only", {"protocol": "tlsv1_2"}, ("tls.protocol.no-tls13",)),
    WeakServer(
        "cipher-list",
        # An explicit list in the ssl table: the way a Prosody ends up with such suites at all.
        {"protocol": "tlsv1_2", "ciphers": "NULL-SHA256:AECDH-AES128-SHA:AES128-SHA:@SECLEVEL=0", **_LEVEL_0},
        (
            "tls.cipher.null",
            "tls.cipher.anonymous",
            "tls.cipher.no-aead",
        ),
    ),
    WeakServer(
        "rsa-key-exchange-only",
        {"protocol": "tlsv1_2", "ciphers": "AES128-GCM-SHA256:AES256-GCM-SHA384"},
        ("tls.cipher.no-forward-secrecy",),
    ),
    WeakServer("client-order", {}, ("tls.cipher.client-order",)),
    WeakServer(
        "optional-starttls",
        {
            "c2s_require_encryption": False,
            "s2s_require_encryption": False,
            "allow_unencrypted_plain_auth": True,
            "authentication": "internal_plain",
        },
        ("xmpp.starttls.optional", "xmpp.starttls.not-enforced", "xmpp.sasl.plain-before-tls"),
    ),
    # SCRAM only before TLS: the finding for mechanisms in clear that are not PLAIN.
    # Every built-in password provider offers SCRAM (it is derived from a plain-text store too);
    # anonymous login alone offers nothing else.
    WeakServer("anonymous-login", {"authentication": "anonymous", "users": ()}, ("xmpp.sasl.no-scram",)),
    WeakServer("scram-before-tls", {"c2s_require_encryption": False}, ("xmpp.sasl.mechanisms-before-tls",)),
)


def prosody_snippet(finding: str) -> str:
    snippet = catalogue()[finding].snippets.get("prosody")
    assert snippet is not None, f"{finding} has no Prosody snippet"
    return snippet


def scan_c2s(instance: ProsodyInstance, dns_testbed: DnsTestbed, pki: TestPKI) -> ScanResult:
    options: ScanOptions = options_for_testbed(
        dns_testbed,
        pki,
        domain=DOMAIN,
        kinds=(ServiceKind.C2S,),
        connect=HostPort(HOST, instance.ports.c2s),
        ipv6=False,
        http=False,
    )
    return asyncio.run(run_scan(options))


def finding_ids(result: ScanResult) -> dict[str, Severity]:
    return {finding.id: finding.severity for finding in result.findings}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_prosody_snippet_fixes(
    case: WeakServer, prosody_factory: ProsodyFactory, dns_testbed: DnsTestbed, pki: TestPKI
) -> None:
    weak = prosody_factory(f"snippet-{case.id}", certificate_in_ssl=False, **case.knobs)
    before = finding_ids(scan_c2s(weak, dns_testbed, pki))
    assert set(case.findings) <= set(before), f"the weak server does not show {set(case.findings) - set(before)}"
    by_snippet: dict[str, list[str]] = {}
    for finding in case.findings:
        by_snippet.setdefault(prosody_snippet(finding), []).append(finding)
    weak_config = weak.config
    for snippet, fixed in by_snippet.items():
        weak.restart(dataclasses.replace(weak_config, global_lua=(snippet,)))
        after = finding_ids(scan_c2s(weak, dns_testbed, pki))
        assert not set(fixed) & set(after), f"{snippet!r} leaves {set(fixed) & set(after)}"
        new = {finding: severity for finding, severity in after.items() if finding not in before}
        # A fix may trade a weakness for an informational note (Mozilla's intermediate profile
        # leaves the suite order to the client), never for anything that counts.
        assert all(severity is Severity.INFO for severity in new.values()), (snippet, new)
