"""The whole scan on the loopback testbed: discovery, streams, TLS, certificates, DANE, grades."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from observatory.model import ScanResult
from observatory.orchestrate import ScanOptions, incomplete, run_scan
from observatory.trust_store import load_ca_file
from scanners.addresses import HostPort
from scanners.base import ServiceKind
from scanners.dns.trust_anchors import load_trust_anchors
from tests.testbed.dns import DnsTestbed
from tests.testbed.engine import flags_for_testbed
from tests.testbed.https_server import HttpsTestServer
from tests.testbed.layout import SCANNER_DOMAIN
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator
from tests.testbed.prosody import ProsodyInstance

pytestmark = pytest.mark.integration


def scan(dns_testbed: DnsTestbed, pki: TestPKI, domain: str, *, trusted: bool = True, **extra) -> ScanResult:  # type: ignore[no-untyped-def]
    host, port = dns_testbed.resolver
    options = ScanOptions(
        domain=domain,
        resolver=HostPort(host, port),
        trust_anchors=load_trust_anchors(dns_testbed.trust_anchor_path),
        extra_roots=tuple(load_ca_file(pki.root_path)) if trusted else (),
        from_domain=SCANNER_DOMAIN,
        timeout=120,
        **extra,
    )
    return asyncio.run(run_scan(options))


@pytest.fixture(scope="module")
def strong_result(dns_testbed: DnsTestbed, pki: TestPKI, prosody_strong: ProsodyInstance) -> ScanResult:
    return scan(dns_testbed, pki, "example.test")


@pytest.fixture(scope="module")
def weak_result(dns_testbed: DnsTestbed, pki: TestPKI, prosody_weak: ProsodyInstance) -> ScanResult:
    return scan(dns_testbed, pki, "weak.example.test")


def test_strong_server_gets_a_plus_everywhere_and_no_false_finding(strong_result: ScanResult) -> None:
    assert incomplete(strong_result) == []
    for kind in ("c2s", "s2s"):
        service = getattr(strong_result.services, kind)
        assert service is not None
        # Every SRV target × address × transport: 2 transports × (127.0.0.1, ::1)
        assert len(service.endpoints) == 4
        for endpoint in service.endpoints:
            assert endpoint.grade is not None
            assert endpoint.grade.letter == "A+", (endpoint.id, endpoint.grade)
            assert endpoint.certificate is not None
            assert endpoint.certificate.trusted is True
            assert endpoint.certificate.identity_matches is True
            assert endpoint.dane is not None
            assert endpoint.dane.status.value == "valid"
        assert service.grade is not None
        assert service.grade.letter == "A+"
    # Informational only: Prosody 0.12 follows the client's order (Mozilla intermediate), has no
    # channel binding usable on TLS 1.3 and cannot staple OCSP.
    informational = {"tls.cipher.client-order", "xmpp.sasl.no-channel-binding", "tls.ocsp.no-staple"}
    assert {f.id for f in strong_result.findings} <= informational
    assert {f.severity.value for f in strong_result.findings} == {"info"}


def test_weak_server_shows_every_planted_weakness(weak_result: ScanResult) -> None:
    ids = {f.id for f in weak_result.findings if f.service is ServiceKind.C2S}
    planted = {
        "tls.protocol.tls10",
        "tls.protocol.tls11",
        "tls.cipher.static-rsa",
        "xmpp.starttls.optional",
        "xmpp.sasl.plain-before-tls",
        "dane.mismatch",
    }
    assert planted <= ids, planted - ids
    c2s = weak_result.services.c2s
    assert c2s is not None
    assert c2s.grade is not None
    # DANE mismatch caps at F; without it TLS 1.0/1.1, optional STARTTLS and PLAIN would give C.
    assert c2s.grade.letter == "F"
    starttls = [e for e in c2s.endpoints if e.transport.value == "starttls"]
    assert all(e.stream and e.stream.starttls and e.stream.starttls.value == "optional" for e in starttls)
    # Each weakness shows up as a cap with its reason on the endpoint's grade.
    caps = {cap.finding: cap.grade for e in starttls if e.grade for cap in e.grade.caps}
    assert caps["tls.protocol.tls10"] == "B"
    assert caps["xmpp.starttls.optional"] == "B"
    assert caps["xmpp.sasl.plain-before-tls"] == "C"
    assert caps["dane.mismatch"] == "F"


def test_untrusted_chain_gives_t(dns_testbed: DnsTestbed, pki: TestPKI, prosody_strong: ProsodyInstance) -> None:
    result = scan(dns_testbed, pki, "example.test", trusted=False, kinds=(ServiceKind.C2S,))
    c2s = result.services.c2s
    assert c2s is not None
    assert {e.grade.letter for e in c2s.endpoints if e.grade} == {"T"}
    assert {e.grade.if_trusted for e in c2s.endpoints if e.grade} == {"A+"}
    assert "cert.untrusted" in {f.id for f in result.findings}


def test_bogus_zone_gives_f(dns_testbed: DnsTestbed, pki: TestPKI, prosody_strong: ProsodyInstance) -> None:
    result = scan(dns_testbed, pki, "bogus.test", kinds=(ServiceKind.C2S,))
    assert "dns.dnssec.bogus" in {f.id for f in result.findings}
    c2s = result.services.c2s
    assert c2s is not None
    assert c2s.grade is not None
    assert c2s.grade.letter == "F"


def cli_args(dns_testbed: DnsTestbed, pki: TestPKI, domain: str, *extra: str) -> list[str]:
    return ["scan", domain, *flags_for_testbed(dns_testbed, pki), *extra]


def test_cli_json_report_fail_under_and_saved_history(
    dns_testbed: DnsTestbed,
    pki: TestPKI,
    prosody_strong: ProsodyInstance,
    prosody_weak: ProsodyInstance,
    tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    from cli import EXIT_BELOW_BAR, cli
    from observatory.document import load_result

    db = f"sqlite:///{tmp_path / 'scans.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade", "--db", db]).exit_code == 0
    # Given a strong server, the JSON report is a valid document and A+ meets an A bar.
    out = tmp_path / "strong.json"
    strong = runner.invoke(
        cli,
        cli_args(
            dns_testbed,
            pki,
            "example.test",
            "--kind",
            "c2s",
            "--format",
            "json",
            "--output",
            str(out),
            "--fail-under",
            "A",
            "--db",
            db,
        ),
    )
    assert strong.exit_code == 0, strong.output
    document = load_result(out.read_text())
    assert document.services.c2s is not None
    assert document.services.c2s.grade is not None
    assert document.services.c2s.grade.letter == "A+"
    # A weak server falls below the bar: exit code 1, and the text report says why.
    weak = runner.invoke(
        cli, cli_args(dns_testbed, pki, "weak.example.test", "--kind", "c2s", "--fail-under", "B", "--db", db)
    )
    assert weak.exit_code == EXIT_BELOW_BAR, weak.output
    assert "TLS 1.0 is accepted" in weak.output
    assert 'ssl = { protocol = "tlsv1_2+" }' in weak.output
    # Both scans were stored; a second scan with --diff compares with the first.
    again = runner.invoke(cli, cli_args(dns_testbed, pki, "example.test", "--kind", "c2s", "--diff", "--db", db))
    assert again.exit_code == 0, again.output
    assert "Changes since the last scan" in again.output
    history = runner.invoke(cli, ["history", "example.test", "--db", db])
    assert history.exit_code == 0
    assert history.output.count("c2s A+") == 2
    # Re-grading the stored facts under the same rules changes nothing.
    rescored = runner.invoke(cli, ["rescore", "--all", "--db", db])
    assert rescored.exit_code == 0, rescored.output
    assert "3 re-graded, 0 changed, 0 skipped" in rescored.output


def test_endpoint_that_times_out_gives_exit_3_with_valid_json(
    dns_testbed: DnsTestbed, pki: TestPKI, ports: PortAllocator, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from cli import EXIT_INCOMPLETE, cli
    from observatory.document import load_result

    # A listening socket that never accepts: the kernel completes the TCP handshake, nobody answers.
    host, port = "127.0.0.1", ports.take()
    with socket.socket() as silent:
        silent.bind((host, port))
        silent.listen(64)
        out = tmp_path / "silent.json"
        result = CliRunner().invoke(
            cli,
            cli_args(
                dns_testbed,
                pki,
                "example.test",
                "--kind",
                "c2s",
                "--connect",
                f"{host}:{port}",
                "--probe-timeout",
                "2",
                "--timeout",
                "20",
                "--format",
                "json",
                "--output",
                str(out),
                "--no-save",
            ),
        )
    assert result.exit_code == EXIT_INCOMPLETE, result.output
    document = load_result(out.read_text())
    assert document.services.c2s is not None
    (endpoint,) = document.services.c2s.endpoints
    assert endpoint.grade is None
    # Each wait for it is bounded (--wait-timeout), so the probes end on their own, well before --timeout.
    assert endpoint.stream is not None
    assert endpoint.tls is not None
    assert {error.reason.value for error in endpoint.stream.errors + endpoint.tls.errors} == {"timeout"}
    assert "endpoint.unreachable" in {f.id for f in document.findings}


def test_https_discovery_host_meta_and_posh(
    dns_testbed: DnsTestbed, pki: TestPKI, prosody_strong: ProsodyInstance, https_server: HttpsTestServer
) -> None:
    import base64
    import hashlib

    from tests.testbed.https_server import Route

    leaf = pki.leaf("good")
    fingerprint = base64.b64encode(hashlib.sha256(leaf.der).digest()).decode()
    other = base64.b64encode(hashlib.sha256(b"another certificate").digest()).decode()
    xrd = (
        "<?xml version='1.0'?><XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>"
        "<Link rel='urn:xmpp:alt-connections:websocket' href='ws://example.test/xmpp-websocket'/></XRD>"
    )
    https_server.serve(
        {
            "/.well-known/host-meta": Route.xml(xrd),
            "/.well-known/posh/xmpp-client.json": Route.json(
                {"fingerprints": [{"sha-256": fingerprint}], "expires": 600}
            ),
            "/.well-known/posh/xmpp-server.json": Route.json({"fingerprints": [{"sha-256": other}], "expires": 600}),
        }
    )
    result = scan(
        dns_testbed, pki, "example.test", https_port=https_server.https_port, http_port=https_server.http_port
    )
    assert result.http is not None
    ids = {f.id: f for f in result.findings}
    assert ids["xmpp.hostmeta.insecure-link"].details == ["ws://example.test/xmpp-websocket"]
    c2s, s2s = result.services.c2s, result.services.s2s
    assert c2s is not None
    assert s2s is not None
    assert {e.posh.status.value for e in c2s.endpoints if e.posh} == {"match"}
    assert {e.posh.status.value for e in s2s.endpoints if e.posh} == {"mismatch"}
    assert ids["posh.mismatch"].service is ServiceKind.S2S
