"""Every fix snippet the testbed can show, proven on real Prosody 0.12 and ejabberd 23.01.

Each case is a weak server, configured with a weakness and scanned (c2s STARTTLS on its one port) to
confirm the findings; then, for each distinct snippet of those findings, restarted with the
catalogue's snippet applied and scanned again: the findings the snippet is for are gone and nothing
but an informational finding is new.

Where the weakness reaches server-to-server streams too (the case's ``s2s`` findings: the snippet
has s2s lines, or the server applies one setting to both, as Prosody's global ``ssl`` does), the
s2s STARTTLS endpoint is scanned alongside, before and after: those findings are there before and
gone after on s2s as well. The catalogue marks every other proof ``proven_c2s_only``, with why.

* Prosody: the snippet's Lua goes verbatim into the global section, replacing the lines of the
  options it sets (as an admin edits them). The certificate comes from the certificates folder, as
  ``prosodyctl cert import`` leaves it, because several snippets replace the whole ``ssl`` table.
* ejabberd: the snippet's YAML is parsed; its top-level options go in as such, its ``listen``
  entries onto the testbed's listener of the same module and TLS mode (their ports are the
  standard ones, the testbed's are not).

``CASES`` and ``EJABBERD_CASES`` are also read, without starting anything, by
tests/unit/judgment/test_snippet_proofs.py: every case's findings must be marked ``proven`` in the
catalogue, and every ``proven`` mark must name a case here (or another test that exists).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from observatory.catalogue import catalogue
from observatory.model import ScanResult, Severity
from observatory.orchestrate import ScanOptions, incomplete, run_scan
from scanners.addresses import HostPort
from scanners.base import ServiceKind
from tests.testbed.dns import DnsTestbed
from tests.testbed.ejabberd import EjabberdFactory
from tests.testbed.engine import options_for_testbed
from tests.testbed.layout import DOMAIN, XmppPorts
from tests.testbed.pki import TestPKI
from tests.testbed.prosody import HOST, ProsodyFactory

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
    #: Those of ``findings`` the s2s STARTTLS endpoint shows too: their snippets must fix it there.
    s2s: tuple[str, ...] = ()


#: TLS 1.0 needs SHA-1 signatures, which Debian's OpenSSL 3 refuses above security level 0.
_LEVEL_0 = {"openssl_security_level": 0}

CASES: tuple[WeakServer, ...] = (
    WeakServer(
        "legacy-profile",
        # Prosody's own defaults without a Mozilla profile: TLS 1.0+ and HIGH, static RSA included.
        {"tls_profile": "legacy", "protocol": None, **_LEVEL_0},
        ("tls.protocol.tls10", "tls.protocol.tls11", "tls.cipher.static-rsa"),
        s2s=("tls.protocol.tls10", "tls.protocol.tls11", "tls.cipher.static-rsa"),
    ),
    WeakServer("tls13-only", {"protocol": "tlsv1_3"}, ("tls.protocol.no-tls12",), s2s=("tls.protocol.no-tls12",)),
    WeakServer("tls12-only", {"protocol": "tlsv1_2"}, ("tls.protocol.no-tls13",), s2s=("tls.protocol.no-tls13",)),
    WeakServer(
        "cipher-list",
        # An explicit list in the ssl table: the way a Prosody ends up with such suites at all.
        {"protocol": "tlsv1_2", "ciphers": "NULL-SHA256:AECDH-AES128-SHA:AES128-SHA:@SECLEVEL=0", **_LEVEL_0},
        ("tls.cipher.null", "tls.cipher.anonymous", "tls.cipher.no-aead"),
        s2s=("tls.cipher.null", "tls.cipher.anonymous", "tls.cipher.no-aead"),
    ),
    WeakServer(
        "rsa-key-exchange-only",
        {"protocol": "tlsv1_2", "ciphers": "AES128-GCM-SHA256:AES256-GCM-SHA384"},
        ("tls.cipher.no-forward-secrecy",),
        s2s=("tls.cipher.no-forward-secrecy",),
    ),
    WeakServer("client-order", {}, ("tls.cipher.client-order",), s2s=("tls.cipher.client-order",)),
    WeakServer(
        "optional-starttls",
        {
            "c2s_require_encryption": False,
            "s2s_require_encryption": False,
            "allow_unencrypted_plain_auth": True,
            "authentication": "internal_plain",
        },
        ("xmpp.starttls.optional", "xmpp.starttls.not-enforced", "xmpp.sasl.plain-before-tls"),
        # s2s offers no SASL before TLS; its dialback in clear is what not-enforced sees there.
        s2s=("xmpp.starttls.optional", "xmpp.starttls.not-enforced"),
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


def scan_options(kind: ServiceKind, port: int, dns_testbed: DnsTestbed, pki: TestPKI) -> ScanOptions:
    """A ``kind`` scan of the STARTTLS port ``port`` on 127.0.0.1 as the testbed's domain."""
    return options_for_testbed(
        dns_testbed, pki, domain=DOMAIN, kinds=(kind,), connect=HostPort(HOST, port), ipv6=False, http=False
    )


Findings = dict[str, Severity]


def finding_ids(result: ScanResult) -> Findings:
    """The scan's findings, once it is known to be complete: a finding must not vanish because a
    probe failed after the restart."""
    failures = list(incomplete(result))
    for service in (result.services.c2s, result.services.s2s):
        for endpoint in service.endpoints if service else []:
            probes = [
                *(endpoint.stream.errors if endpoint.stream else []),
                *(endpoint.tls.errors if endpoint.tls else []),
            ]
            failures += [f"{endpoint.id}: {error.phase}: {error.message}" for error in probes]
    assert not failures, failures
    return {finding.id: finding.severity for finding in result.findings}


def scan_ports(
    ports: XmppPorts, dns_testbed: DnsTestbed, pki: TestPKI, *, s2s: bool
) -> tuple[Findings, Findings | None]:
    """The c2s STARTTLS endpoint's findings and, with ``s2s``, the s2s STARTTLS endpoint's (else None).

    Both scans run at once: most of a scan is waiting for the server, so s2s adds little time.
    """
    c2s_options = scan_options(ServiceKind.C2S, ports.c2s, dns_testbed, pki)
    if not s2s:
        return finding_ids(asyncio.run(run_scan(c2s_options))), None

    async def both() -> tuple[ScanResult, ScanResult]:
        s2s_options = scan_options(ServiceKind.S2S, ports.s2s, dns_testbed, pki)
        return await asyncio.gather(run_scan(c2s_options), run_scan(s2s_options))

    c2s_result, s2s_result = asyncio.run(both())
    return finding_ids(c2s_result), finding_ids(s2s_result)


def check_fixed(fixed: Sequence[str], before: Findings, after: Findings, where: str) -> None:
    """The findings ``fixed`` are gone, and nothing but an informational finding is new."""
    assert not set(fixed) & set(after), f"{where}: the snippet for {fixed} leaves {set(fixed) & set(after)}"
    new = {finding: severity for finding, severity in after.items() if finding not in before}
    # A fix may trade a weakness for an informational note (Mozilla's intermediate profile
    # leaves the suite order to the client), never for anything that counts.
    assert all(severity is Severity.INFO for severity in new.values()), (where, fixed, new)


def check_case(
    case: WeakServer,
    ports: XmppPorts,
    snippets: Mapping[str, Sequence[str]],
    apply: Callable[[str], None],
    dns_testbed: DnsTestbed,
    pki: TestPKI,
) -> None:
    """Scan the weak server, then apply each snippet (text → the findings it is for) and rescan.

    The s2s endpoint is scanned only before and after the snippets for ``case.s2s``.
    """
    assert set(case.s2s) <= set(case.findings), case.id
    before, s2s_before = scan_ports(ports, dns_testbed, pki, s2s=bool(case.s2s))
    assert set(case.findings) <= set(before), f"the weak server does not show {set(case.findings) - set(before)}"
    if s2s_before is not None:
        missing = set(case.s2s) - set(s2s_before)
        assert not missing, f"the weak server's s2s endpoint does not show {missing}"
    for snippet, fixed in snippets.items():
        apply(snippet)
        on_s2s = [finding for finding in fixed if finding in case.s2s]
        after, s2s_after = scan_ports(ports, dns_testbed, pki, s2s=bool(on_s2s))
        check_fixed(fixed, before, after, "c2s")
        if s2s_before is not None and s2s_after is not None:
            check_fixed(on_s2s, s2s_before, s2s_after, "s2s")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_prosody_snippet_fixes(
    case: WeakServer, prosody_factory: ProsodyFactory, dns_testbed: DnsTestbed, pki: TestPKI
) -> None:
    weak = prosody_factory(f"snippet-{case.id}", certificate_in_ssl=False, **case.knobs)
    by_snippet: dict[str, list[str]] = {}
    for finding in case.findings:
        by_snippet.setdefault(prosody_snippet(finding), []).append(finding)
    weak_config = weak.config

    def apply(snippet: str) -> None:
        weak.restart(dataclasses.replace(weak_config, global_lua=(snippet,)))

    check_case(case, weak.ports, by_snippet, apply, dns_testbed, pki)


# --- ejabberd -----------------------------------------------------------------------------------

#: The catalogue's ``listen`` entries name the standard ports; the testbed's listeners are the ones
#: with the same module and the same TLS mode (STARTTLS or Direct TLS).
EJABBERD_LISTENERS = {
    ("ejabberd_c2s", False): "c2s",
    ("ejabberd_c2s", True): "c2s_direct",
    ("ejabberd_s2s_in", False): "s2s",
    ("ejabberd_s2s_in", True): "s2s_direct",
}
EJABBERD_TEST_NODE = "tests/integration/test_fix_snippets_testbed.py::test_ejabberd_snippet_fixes"

#: fast_tls's options for TLS 1.2 and 1.3 (ejabberd's strong default).
_TLS12_UP = ("no_sslv3", "no_tlsv1", "no_tlsv1_1")

EJABBERD_CASES: tuple[WeakServer, ...] = (
    WeakServer(
        "old-protocols",
        # fast_tls uses the system libssl, whose level 2 refuses TLS 1.0/1.1 whatever ejabberd says.
        {
            "protocol_options": ("no_sslv3",),
            # TLS 1.0 and 1.1 have no GCM suite: a CBC one beside the strong default's.
            "ciphers": "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:@SECLEVEL=0",
            "openssl_security_level": 0,
        },
        ("tls.protocol.tls10", "tls.protocol.tls11"),
        s2s=("tls.protocol.tls10", "tls.protocol.tls11"),
    ),
    WeakServer(
        "tls13-only",
        {"protocol_options": (*_TLS12_UP, "no_tlsv1_2")},
        ("tls.protocol.no-tls12",),
        s2s=("tls.protocol.no-tls12",),
    ),
    WeakServer(
        "tls12-only",
        {"protocol_options": (*_TLS12_UP, "no_tlsv1_3")},
        ("tls.protocol.no-tls13",),
        s2s=("tls.protocol.no-tls13",),
    ),
    WeakServer(
        "cipher-list",
        {
            "protocol_options": (*_TLS12_UP, "no_tlsv1_3"),
            "ciphers": "NULL-SHA256:AECDH-AES128-SHA:AES128-SHA:@SECLEVEL=0",
            "openssl_security_level": 0,
        },
        ("tls.cipher.null", "tls.cipher.anonymous", "tls.cipher.static-rsa", "tls.cipher.no-aead"),
        s2s=("tls.cipher.null", "tls.cipher.anonymous", "tls.cipher.static-rsa", "tls.cipher.no-aead"),
    ),
    WeakServer(
        "rsa-key-exchange-only",
        {
            "protocol_options": (*_TLS12_UP, "no_tlsv1_3"),
            "ciphers": "AES128-GCM-SHA256:AES256-GCM-SHA384",
        },
        ("tls.cipher.no-forward-secrecy",),
        s2s=("tls.cipher.no-forward-secrecy",),
    ),
    WeakServer("client-order", {}, ("tls.cipher.client-order",), s2s=("tls.cipher.client-order",)),
    WeakServer(
        "optional-starttls",
        {"starttls_required": False, "s2s_use_starttls": "optional", "auth_password_format": "plain"},
        ("xmpp.starttls.optional", "xmpp.starttls.not-enforced", "xmpp.sasl.plain-before-tls"),
        s2s=("xmpp.starttls.optional", "xmpp.starttls.not-enforced"),
    ),
    WeakServer(
        "scram-before-tls",
        {"starttls_required": False, "disable_sasl_mechanisms": ("PLAIN", "X-OAUTH2")},
        ("xmpp.sasl.mechanisms-before-tls",),
    ),
)


def ejabberd_snippet(finding: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The catalogue's ejabberd snippet as (top-level options, listener options by testbed listener)."""
    text = catalogue()[finding].snippets.get("ejabberd")
    assert text is not None, f"{finding} has no ejabberd snippet"
    options = yaml.safe_load(text)
    assert isinstance(options, dict), finding
    listeners: dict[str, dict[str, Any]] = {}
    for listener in options.pop("listen", []):
        settings = dict(listener)
        module = settings.pop("module")
        settings.pop("port")
        listeners[EJABBERD_LISTENERS[module, bool(settings.get("tls"))]] = settings
    return options, listeners


@pytest.mark.parametrize("case", EJABBERD_CASES, ids=[case.id for case in EJABBERD_CASES])
def test_ejabberd_snippet_fixes(
    case: WeakServer, ejabberd_factory: EjabberdFactory, dns_testbed: DnsTestbed, pki: TestPKI
) -> None:
    weak = ejabberd_factory(f"snippet-{case.id}", **case.knobs)
    by_snippet: dict[str, list[str]] = {}
    for finding in case.findings:
        by_snippet.setdefault(catalogue()[finding].snippets["ejabberd"], []).append(finding)
    weak_extra, weak_listeners = dict(weak.config.extra), dict(weak.config.listener_extra)

    def apply(snippet: str) -> None:
        options, listeners = ejabberd_snippet(by_snippet[snippet][0])
        merged = {
            name: {**weak_listeners.get(name, {}), **listeners.get(name, {})} for name in {*weak_listeners, *listeners}
        }
        weak.restart(extra={**weak_extra, **options}, listener_extra=merged)

    check_case(case, weak.ports, by_snippet, apply, dns_testbed, pki)
