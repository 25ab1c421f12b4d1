"""Public mode's abuse controls through the site, on SQLite and PostgreSQL: per-client limits and the
queue cap (429/503 with Retry-After), the client address from trusted proxies only, the block list and
forget, and request size bounds."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from cli import cli
from observatory.model import ScanRequest
from observatory.storage import open_database
from observatory.storage.blocklist import block
from observatory.storage.queue import SubmissionLimits, submit_scan
from observatory.storage.repository import SCANS
from observatory.web import SiteSettings, create_app
from scanners.base import ServiceKind
from scanners.policy import parse_networks
from tests.web.conftest import BACKENDS
from tests.web.support import graded, store

pytestmark = pytest.mark.parametrize("db_url", BACKENDS, indirect=True)

PROBLEM = "application/problem+json"


def site(settings: SiteSettings, *, peer: str = "203.0.113.10", **changes: object) -> TestClient:
    app = create_app(dataclasses.replace(settings, public=True, **changes))  # type: ignore[arg-type]
    return TestClient(app, client=(peer, 40000))


@pytest.fixture
def limited(settings: SiteSettings) -> Iterator[TestClient]:
    limits = SubmissionLimits(per_client_active=2, per_client_hour=3, queue=100)
    with site(settings, limits=limits) as client:
        yield client


def clients_of(db_url: str) -> dict[str, str | None]:
    with open_database(db_url) as database, database.session() as session:
        return {row.domain: row.client for row in session.execute(select(SCANS.c.domain, SCANS.c.client))}


def test_one_client_is_limited_per_hour_with_retry_after(limited: TestClient) -> None:
    statuses = [limited.post("/api/v1/scans", json={"domain": f"d{i}.example"}).status_code for i in range(3)]
    assert 429 not in statuses[:2]
    refused = limited.post("/api/v1/scans", json={"domain": "d9.example"})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    assert int(refused.headers["retry-after"]) >= 1
    assert "scans" in refused.json()["detail"]
    # Sharing a scan that exists costs nothing: still served.
    assert limited.post("/api/v1/scans", json={"domain": "d0.example"}).status_code == 200


def test_the_limit_is_per_client_address(settings: SiteSettings) -> None:
    limits = SubmissionLimits(per_client_hour=1)
    with site(settings, limits=limits, peer="203.0.113.10") as first:
        assert first.post("/api/v1/scans", json={"domain": "a.example"}).status_code == 202
        assert first.post("/api/v1/scans", json={"domain": "b.example"}).status_code == 429
    with site(settings, limits=limits, peer="203.0.113.11") as second:
        assert second.post("/api/v1/scans", json={"domain": "b.example"}).status_code == 202


def test_active_scans_per_client(settings: SiteSettings, db_url: str) -> None:
    # Given a client with two scans still queued (no executor has run them)
    with open_database(db_url, migrate=True) as database, database.session() as session:
        for name in ("q1.example", "q2.example"):
            request = ScanRequest(domain=name, kinds=[ServiceKind.C2S])
            submit_scan(session, request=request, client="203.0.113.10")
    limits = SubmissionLimits(per_client_active=2)
    app = create_app(dataclasses.replace(settings, public=True, limits=limits))
    client = TestClient(app, client=("203.0.113.10", 40000))  # not started: the queued scans stay queued
    refused = client.post("/api/v1/scans", json={"domain": "q3.example"})
    assert refused.status_code == 429
    assert "queued or running" in refused.json()["detail"]
    assert refused.headers["retry-after"] == "30"


def test_a_full_queue_is_503_with_retry_after(settings: SiteSettings, db_url: str) -> None:
    with open_database(db_url, migrate=True) as database, database.session() as session:
        submit_scan(session, request=ScanRequest(domain="waiting.example", kinds=[ServiceKind.C2S]))
    app = create_app(dataclasses.replace(settings, public=True, limits=SubmissionLimits(queue=1)))
    client = TestClient(app, client=("203.0.113.10", 40000))
    busy = client.post("/api/v1/scans", json={"domain": "late.example"})
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "60"
    assert "busy" in busy.json()["detail"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)  # type: ignore[union-attr]
    page = client.post("/scans", data={"domain": "late.example", "csrf_token": token})
    assert page.status_code == 503
    assert "busy" in page.text


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(settings: SiteSettings, db_url: str) -> None:
    header = {"x-forwarded-for": "198.51.100.1, 192.0.2.77"}
    # A stranger's header is ignored: the socket's address counts.
    with site(settings, peer="203.0.113.10") as direct:
        direct.post("/api/v1/scans", json={"domain": "spoof.example"}, headers=header)
    # Through a trusted proxy, the right-most address it did not add itself is the client.
    proxies = parse_networks(["127.0.0.1", "10.0.0.0/8"])
    with site(settings, peer="127.0.0.1", trusted_proxies=proxies) as proxied:
        chain = {"x-forwarded-for": "198.51.100.1, 192.0.2.77, 10.1.2.3", "x-forwarded-proto": "https"}
        proxied.post("/api/v1/scans", json={"domain": "proxied.example"}, headers=chain)
        # The scheme came from the proxy too: the CSRF cookie is marked Secure.
        assert "secure" in proxied.get("/", headers=chain).headers["set-cookie"].lower()
    clients = clients_of(db_url)
    assert clients["spoof.example"] == "203.0.113.10"
    assert clients["proxied.example"] == "192.0.2.77"


def test_blocked_domains_and_their_subdomains_are_refused(settings: SiteSettings, db_url: str) -> None:
    with open_database(db_url, migrate=True) as database, database.session() as session:
        block(session, domain="private.example", reason="owner's request")
    with site(settings) as client:
        for domain in ("private.example", "xmpp.private.example"):
            refused = client.post("/api/v1/scans", json={"domain": domain})
            assert refused.status_code == 403
            assert "its owner asked us not to (owner's request)" in refused.json()["detail"]
        assert client.post("/api/v1/scans", json={"domain": "notprivate.example"}).status_code == 202


def test_block_and_forget_commands(settings: SiteSettings, db_url: str) -> None:
    store(db_url, graded("gone.example"))
    store(db_url, graded("kept.example"))
    runner = CliRunner()
    added = runner.invoke(cli, ["block", "add", "Gone.Example", "--reason", "asked", "--db", db_url])
    assert added.exit_code == 0, added.output
    assert "blocked gone.example" in added.output
    listing = runner.invoke(cli, ["block", "list", "--db", db_url])
    assert "gone.example" in listing.output
    assert "asked" in listing.output
    forgotten = runner.invoke(cli, ["forget", "gone.example", "--yes", "--db", db_url])
    assert forgotten.exit_code == 0
    assert "deleted 1 scan of gone.example" in forgotten.output
    assert runner.invoke(cli, ["forget", "kept.example", "--db", db_url], input="n\n").exit_code == 1
    with site(settings) as client:
        assert client.get("/api/v1/domains/gone.example").status_code == 404
        assert client.get("/api/v1/domains/kept.example").status_code == 200
        assert client.get("/api/v1/stats").json()["domains"] == 1
        assert client.post("/api/v1/scans", json={"domain": "gone.example"}).status_code == 403
    removed = runner.invoke(cli, ["block", "remove", "gone.example", "--db", db_url])
    assert removed.exit_code == 0
    assert runner.invoke(cli, ["block", "remove", "gone.example", "--db", db_url]).exit_code == 1


def test_oversized_requests_are_refused(settings: SiteSettings) -> None:
    with site(settings) as client:
        big = client.post(
            "/api/v1/scans", content=b"{" + b" " * 20_000 + b"}", headers={"content-type": "application/json"}
        )
        assert big.status_code == 413
        assert big.headers["content-type"] == PROBLEM

        def chunks() -> Iterator[bytes]:
            for _ in range(40):
                yield b" " * 1024

        streamed = client.post("/api/v1/scans", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        # A redirect only ever goes to our own scan page.
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)  # type: ignore[union-attr]
        moved = client.post(
            "/scans",
            data={"domain": "ok.example", "csrf_token": token, "next": "https://evil.example/"},
            follow_redirects=False,
        )
        assert re.fullmatch(r"/scans/\d+", moved.headers["location"])
