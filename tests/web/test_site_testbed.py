"""The site end to end on the loopback testbed: submit the strong and the weak Prosody domains through
the API, follow the Server-Sent Events to ``done``, and find the CLI's grades and findings in the
report page and the API's document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from markupsafe import escape

from cli import cli
from observatory.catalogue import catalogue
from observatory.model import ScanResult
from observatory.web import SiteSettings, create_app
from scanners.policy import AddressPolicy, parse_networks
from tests.integration.test_scan_end_to_end import cli_args
from tests.testbed.dns import DnsTestbed
from tests.testbed.engine import options_for_testbed
from tests.testbed.pki import TestPKI
from tests.testbed.prosody import ProsodyInstance

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def site(
    dns_testbed: DnsTestbed,
    pki: TestPKI,
    prosody_strong: ProsodyInstance,
    prosody_weak: ProsodyInstance,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TestClient]:
    engine = options_for_testbed(dns_testbed, pki)
    folder = tmp_path_factory.mktemp("site")
    settings = SiteSettings(database_url=f"sqlite:///{folder / 'site.db'}", migrate=True, scan=engine)
    with TestClient(create_app(settings)) as client:
        yield client


def cli_result(dns_testbed: DnsTestbed, pki: TestPKI, domain: str, tmp_path: Path) -> ScanResult:
    out = tmp_path / f"{domain}.json"
    args = cli_args(dns_testbed, pki, domain, "--format", "json", "--no-save", "--output", str(out))
    CliRunner().invoke(cli, args, catch_exceptions=False)
    return ScanResult.model_validate_json(out.read_text())


def follow(site: TestClient, domain: str) -> tuple[int, list[dict]]:
    created = site.post("/api/v1/scans", json={"domain": domain})
    assert created.status_code == 202, created.text
    scan_id = created.json()["id"]
    with site.stream("GET", f"/api/v1/scans/{scan_id}/events") as stream:
        events = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
    return scan_id, events


def grades(result: ScanResult) -> dict[str, str | None]:
    letters: dict[str, str | None] = {}
    for name in ("c2s", "s2s"):
        service = getattr(result.services, name)
        letters[name] = service.grade.letter if service and service.grade else None
        for endpoint in service.endpoints if service else []:
            letters[endpoint.id] = endpoint.grade.letter if endpoint.grade else None
    return letters


@pytest.mark.parametrize("domain", ["example.test", "weak.example.test"])
def test_the_site_reports_what_the_cli_reports(
    site: TestClient, dns_testbed: DnsTestbed, pki: TestPKI, domain: str, tmp_path: Path
) -> None:
    # Given a scan submitted to the site, followed over SSE to its end
    scan_id, events = follow(site, domain)
    assert events[-1]["status"] == "done", events[-1]
    steps = [event["step"] for event in events]
    assert steps.index("discovery-started") < steps.index("discovery-done") < steps.index("probe-done")
    probes = [event for event in events if event["step"] == "probe-done"]
    assert probes[-1]["done"] == probes[-1]["total"] > 0
    # and the same domain scanned by the CLI
    expected = cli_result(dns_testbed, pki, domain, tmp_path)
    # then the API's document has the CLI's grades (service and every endpoint) and findings,
    body = site.get(f"/api/v1/scans/{scan_id}").json()
    stored = ScanResult.model_validate(body["result"])
    assert grades(stored) == grades(expected)
    assert {(f.id, f.service) for f in stored.findings} == {(f.id, f.service) for f in expected.findings}
    # and the report page shows those grades and every finding's title.
    page = site.get(f"/scans/{scan_id}").text
    for name in ("c2s", "s2s"):
        letter = getattr(expected.services, name).grade.letter
        assert f">{letter}</span>" in page
    entries = catalogue()
    for finding in expected.findings:
        assert str(escape(entries[finding.id].title)) in page, finding.id
    # The weak server's planted weaknesses are in both.
    if domain.startswith("weak."):
        assert {"tls.protocol.tls10", "xmpp.starttls.optional"} <= {f.id for f in stored.findings}


def public_site(dns_testbed: DnsTestbed, pki: TestPKI, folder: Path, **policy: object) -> TestClient:
    engine = options_for_testbed(dns_testbed, pki, policy=AddressPolicy(public_only=True, **policy))  # type: ignore[arg-type]
    settings = SiteSettings(database_url=f"sqlite:///{folder / 'public.db'}", migrate=True, scan=engine, public=True)
    return TestClient(create_app(settings))


def test_public_mode_refuses_the_loopback_servers_and_says_so(
    dns_testbed: DnsTestbed, pki: TestPKI, prosody_strong: ProsodyInstance, tmp_path: Path
) -> None:
    # The resolver is the operator's (on loopback here); the servers it names are on loopback: refused.
    with public_site(dns_testbed, pki, tmp_path) as site:
        scan_id, events = follow(site, "example.test")
        assert events[-1]["status"] == "done"
        result = ScanResult.model_validate(site.get(f"/api/v1/scans/{scan_id}").json()["result"])
        endpoints = [e for s in (result.services.c2s, result.services.s2s) if s for e in s.endpoints]
        assert len(endpoints) == 8
        for endpoint in endpoints:
            assert endpoint.grade is None
            assert endpoint.stream is None
            assert endpoint.tls is None
            assert [error.reason.value for error in endpoint.errors] == ["policy"]
        assert result.services.c2s is not None
        assert result.services.c2s.grade is None
        page = site.get(f"/scans/{scan_id}").text
        assert "is refused by the address policy (loopback" in page


def test_public_mode_scans_an_operator_allowed_network(
    dns_testbed: DnsTestbed, pki: TestPKI, prosody_strong: ProsodyInstance, tmp_path: Path
) -> None:
    allowed = parse_networks(["127.0.0.0/8", "::1"])
    with public_site(dns_testbed, pki, tmp_path, allow=allowed) as site:
        scan_id, _ = follow(site, "example.test")
        body = site.get(f"/api/v1/scans/{scan_id}").json()
        assert body["grades"]["c2s"]["letter"] == "A+"
        assert body["grades"]["s2s"]["letter"] == "A+"
