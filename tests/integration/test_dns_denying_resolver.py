"""A resolver that cannot resolve public names (a real unbound denying the root zone with NXDOMAIN, or
refusing every client): the scan stops with one reason and exit 3, learns nothing and judges nothing;
only a ``--connect`` address, which needs no DNS, is still scanned. On the working testbed a domain
with no SRV record and no address gets the fallback finding, never an SRV target's."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import EXIT_INCOMPLETE, cli
from observatory.document import load_result
from observatory.model import ScanResult
from observatory.orchestrate import ScanOptions, incomplete, run_scan
from scanners.addresses import HostPort
from scanners.base import ErrorReason, ServiceKind
from scanners.dns.trust_anchors import load_trust_anchors
from tests.testbed.denying_dns import Denial, DenyingResolver
from tests.testbed.dns import DnsTestbed
from tests.testbed.engine import flags_for_testbed
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator
from tests.testbed.prosody import ProsodyInstance

pytestmark = pytest.mark.integration

SAID = {Denial.NXDOMAIN: "it answered NXDOMAIN", Denial.REFUSE: "it answered REFUSED"}


def scan_cli(denying: DenyingResolver, *args: str) -> Result:
    host, port = denying.address
    return CliRunner().invoke(cli, ["scan", *args, "--resolver", f"{host}:{port}", "--no-save", "--dns-timeout", "1"])


def reasons(result: Result) -> list[str]:
    lines = result.stderr.splitlines()
    start = lines.index("observatory: the scan could not be completed:")
    return [line.strip() for line in lines[start + 1 :] if line.startswith("  ")]


@pytest.mark.parametrize("denial", list(Denial))
def test_the_cli_gives_one_reason_exit_3_and_no_findings(
    denying_resolvers: dict[Denial, DenyingResolver], denial: Denial
) -> None:
    denying = denying_resolvers[denial]
    host, port = denying.address

    result = scan_cli(denying, "example.org")

    assert result.exit_code == EXIT_INCOMPLETE, result.output
    [reason] = reasons(result)
    assert reason.startswith(
        f"dns: the resolver at {host}:{port} cannot resolve the trust anchor zone . (the DNS root)"
    )
    assert f"{SAID[denial]} for . DNSKEY" in reason
    report = result.stdout
    assert "DNS could not be used:" in report
    assert "nothing was learnt about the domain" in report
    assert "No findings." not in report
    # The old, doubly wrong verdicts: the fallback host taken for an SRV target, silence read as absence.
    assert "no SRV record and no address" not in report
    assert "SRV target" not in report


def test_the_json_document_holds_the_failure_and_nothing_else(
    denying_resolvers: dict[Denial, DenyingResolver], dns_testbed: DnsTestbed, tmp_path: Path
) -> None:
    denying = denying_resolvers[Denial.NXDOMAIN]
    out = tmp_path / "denied.json"
    anchor = str(dns_testbed.trust_anchor_path)

    result = scan_cli(denying, "example.test", "--trust-anchor", anchor, "--format", "json", "--output", str(out))

    assert result.exit_code == EXIT_INCOMPLETE, result.output
    document = load_result(out.read_text())
    assert document.dns is not None
    failure = document.dns.resolver_failure
    assert failure is not None
    # The testbed's anchor covers test.: that is the zone asked for, the one query sent.
    assert (failure.zone, failure.rcode, failure.resolver) == (
        "test",
        "NXDOMAIN",
        f"{denying.address[0]}:{denying.address[1]}",
    )
    assert "the zone of the given trust anchor" in failure.message
    assert (document.dns.queries, document.dns.queries_by_type) == (1, {"DNSKEY": 1})
    assert [(e.phase, e.reason, e.message) for e in document.errors] == [("dns", ErrorReason.DNS, failure.message)]
    assert document.findings == []
    assert (document.services.c2s, document.services.s2s, document.http) == (None, None, None)
    raw = json.loads(out.read_text())
    assert raw["format_version"] == "1.4"
    assert raw["dns"]["resolver_failure"]["rcode"] == "NXDOMAIN"


async def _count_connections(port: int, scan: ScanOptions) -> tuple[ScanResult, int]:
    accepted = 0

    async def handle(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        return await run_scan(scan), accepted
    finally:
        server.close()
        await server.wait_closed()


def test_no_https_discovery_is_attempted(
    denying_resolvers: dict[Denial, DenyingResolver], ports: PortAllocator
) -> None:
    web_port = ports.take()
    options = ScanOptions(
        domain="example.org",
        kinds=(ServiceKind.C2S,),
        resolver=HostPort(*denying_resolvers[Denial.REFUSE].address),
        dns_timeout=1,
        timeout=20,
        http=True,
        https_port=web_port,
        http_port=web_port,
    )

    result, accepted = asyncio.run(_count_connections(web_port, options))

    assert accepted == 0
    assert result.http is None
    assert result.findings == []
    [reason] = incomplete(result)
    assert "cannot resolve the trust anchor zone" in reason


def test_a_connect_address_is_still_scanned_and_a_connect_name_is_not(
    denying_resolvers: dict[Denial, DenyingResolver],
    dns_testbed: DnsTestbed,
    pki: TestPKI,
    prosody_strong: ProsodyInstance,
    tmp_path: Path,
) -> None:
    denying = denying_resolvers[Denial.NXDOMAIN]
    flags = flags_for_testbed(dns_testbed, pki)
    # The testbed's resolver flag is replaced by the denying one (scan_cli appends its --resolver last).
    c2s = prosody_strong.ports.c2s
    out = tmp_path / "connect.json"

    by_address = scan_cli(
        denying, "example.test", *flags, "--kind", "c2s", "--connect", f"127.0.0.1:{c2s}", "--no-http",
        "--format", "json", "--output", str(out),
    )  # fmt: skip

    assert by_address.exit_code == EXIT_INCOMPLETE, by_address.output
    [reason] = reasons(by_address)
    assert "cannot resolve the trust anchor zone test" in reason
    document = load_result(out.read_text())
    assert document.services.c2s is not None
    [endpoint] = document.services.c2s.endpoints
    assert (endpoint.address, endpoint.port) == ("127.0.0.1", c2s)
    assert endpoint.grade is not None  # scanned without DNS: TLS and the certificate were judged
    assert endpoint.tlsa is not None
    assert endpoint.tlsa.records == []
    assert document.dns is not None
    assert document.dns.queries == 1

    by_name = scan_cli(denying, "example.test", *flags, "--kind", "c2s", "--connect", f"xmpp.example.test:{c2s}")

    assert by_name.exit_code == EXIT_INCOMPLETE, by_name.output
    [reason] = reasons(by_name)
    assert "cannot resolve the trust anchor zone test" in reason
    assert "nothing was learnt about the domain" in by_name.stdout


def test_a_silent_resolver_is_reported_within_its_timeout(ports: PortAllocator) -> None:
    # A bound UDP socket that never answers: offline behind a dead forwarder.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", ports.take()))
        host, port = silent.getsockname()
        result = CliRunner().invoke(
            cli, ["scan", "example.org", "--resolver", f"{host}:{port}", "--no-save", "--dns-timeout", "0.5"]
        )

    assert result.exit_code == EXIT_INCOMPLETE, result.output
    [reason] = reasons(result)
    assert (
        f"cannot resolve the trust anchor zone . (the DNS root) — no answer: {host}:{port}: no answer within" in reason
    )
    assert "No findings." not in result.stdout


def test_the_fallback_host_without_address_is_not_an_srv_target(dns_testbed: DnsTestbed) -> None:
    host, port = dns_testbed.resolver
    options = ScanOptions(
        domain="nowhere.example.test",
        resolver=HostPort(host, port),
        trust_anchors=load_trust_anchors(dns_testbed.trust_anchor_path),
        http=False,
        timeout=30,
    )

    result = asyncio.run(run_scan(options))

    assert result.dns is not None
    assert result.dns.resolver_failure is None
    found = {(finding.id, finding.service.value if finding.service else None) for finding in result.findings}
    assert found == {("dns.fallback.no-address", "c2s"), ("dns.fallback.no-address", "s2s")}
    for finding in result.findings:
        assert finding.details == ["nowhere.example.test"]
