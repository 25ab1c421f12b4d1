"""The JSON API on a real SQLite database with the real in-process executor (its scans can only reach a
closed loopback port, so they end quickly, incomplete)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from observatory.model import ScanResult
from observatory.web import SiteSettings
from reports.json import render_json
from tests.web.conftest import BACKENDS
from tests.web.support import graded, store

pytestmark = pytest.mark.parametrize("db_url", BACKENDS, indirect=True)

PROBLEM = "application/problem+json"


def wait_final(client: TestClient, scan_id: int, seconds: float = 20) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/scans/{scan_id}").json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"scan #{scan_id} did not end in {seconds} s")


def test_submit_runs_a_scan_to_its_end_and_returns_the_document(client: TestClient) -> None:
    # Given a submission of a domain that the offline resolver cannot resolve
    created = client.post("/api/v1/scans", json={"domain": "Nothing.Example.", "kinds": "c2s"})
    # then it is queued (202) under its normalised name, with a Location and links,
    assert created.status_code == 202, created.text
    info = created.json()
    assert info["domain"] == "nothing.example"
    assert info["kinds"] == ["c2s"]
    assert info["status"] in ("queued", "running")
    assert created.headers["location"] == f"/api/v1/scans/{info['id']}"
    assert info["links"]["json"] == f"/scans/{info['id']}.json"
    # and it ends done with a full, valid result document that says what failed: the resolver
    # cannot give even the root's keys, so nothing was learnt and nothing is judged.
    final = wait_final(client, info["id"])
    assert final["status"] == "done"
    result = ScanResult.model_validate(final["result"])
    assert result.domain == "nothing.example"
    assert result.dns is not None
    assert result.dns.resolver_failure is not None
    assert [error.message for error in result.errors] == [result.dns.resolver_failure.message]
    assert result.services.c2s is None
    assert result.findings == []


def test_a_second_submission_within_the_cooldown_shares_the_scan(client: TestClient) -> None:
    first = client.post("/api/v1/scans", json={"domain": "shared.example"})
    second = client.post("/api/v1/scans", json={"domain": "shared.example", "kinds": "c2s"})
    assert first.status_code == 202
    # c2s is covered by the running "both" scan: the same scan, 200.
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    wait_final(client, first.json()["id"])
    # Finished within the cooldown: still shared.
    third = client.post("/api/v1/scans", json={"domain": "shared.example"})
    assert (third.status_code, third.json()["id"]) == (200, first.json()["id"])
    # Another service set that the first does not cover is a new scan... unless covered: s2s is covered.
    assert client.post("/api/v1/scans", json={"domain": "shared.example", "kinds": "s2s"}).status_code == 200


def test_concurrent_submissions_give_one_scan(client: TestClient) -> None:
    def submit(_: int) -> tuple[int, int]:
        response = client.post("/api/v1/scans", json={"domain": "race.example"})
        return response.status_code, response.json()["id"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(submit, range(8)))
    assert len({scan_id for _, scan_id in answers}) == 1
    assert sorted(status for status, _ in answers) == [200] * 7 + [202]


def test_without_cooldown_a_finished_scan_is_not_shared(settings: SiteSettings) -> None:
    from dataclasses import replace

    from observatory.web import create_app

    with TestClient(create_app(replace(settings, cooldown_seconds=0))) as client:
        first = client.post("/api/v1/scans", json={"domain": "again.example"}).json()["id"]
        wait_final(client, first)
        second = client.post("/api/v1/scans", json={"domain": "again.example"})
        assert second.status_code == 202
        assert second.json()["id"] != first


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"domain": "not a domain"}, "not a valid host name"),
        ({"domain": "user@example.org"}, "looks like a JID"),
        ({"domain": "192.0.2.1"}, "is an IP address"),
        ({"domain": "localhost"}, "not a full domain name"),
        ({"domain": "x" * 300 + ".org"}, "not a valid domain name"),
        ({"domain": "example.org", "kinds": "all"}, "kinds"),
        ({"domain": "example.org", "extra": 1}, "extra"),
        ({}, "domain"),
    ],
)
def test_bad_submissions_are_problem_json_422(client: TestClient, body: dict, needle: str) -> None:
    response = client.post("/api/v1/scans", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422
    assert problem["title"] == "Unprocessable Entity"
    assert needle in problem["detail"]


def test_a_body_that_is_not_json_is_422(client: TestClient) -> None:
    response = client.post("/api/v1/scans", content=b"domain=example.org", headers={"content-type": "text/plain"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def test_unknown_scan_and_unknown_route_are_problem_json_404(client: TestClient) -> None:
    for path in ("/api/v1/scans/424242", "/api/v1/nothing", "/api/v1/domains/never.example"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["status"] == 404


def test_a_done_scan_is_the_cli_document(client: TestClient, db_url: str) -> None:
    result = graded()
    scan_id = store(db_url, result)
    body = client.get(f"/api/v1/scans/{scan_id}").json()
    assert body["status"] == "done"
    assert body["grades"]["c2s"]["letter"] == "A"
    # The result is exactly --format json's document.
    assert body["result"] == json.loads(render_json(result))
    assert client.get(f"/scans/{scan_id}.json").json() == json.loads(render_json(result))


def test_domain_latest_history_and_max_age(client: TestClient, db_url: str) -> None:
    old = store(db_url, graded("hist.example", minutes=-60).model_copy(update={"finished_at": None}))
    new = store(db_url, graded("hist.example"))
    unlisted = store(db_url, graded("hist.example", minutes=5), listed=False)
    latest = client.get("/api/v1/domains/HIST.example")
    assert latest.status_code == 200
    assert latest.json()["id"] == new
    history = client.get("/api/v1/domains/hist.example/history").json()
    ids = [scan["id"] for scan in history["scans"]]
    assert {new, old} <= set(ids)
    assert unlisted not in ids
    assert client.get("/api/v1/domains/hist.example?max_age=3600").status_code == 200
    time.sleep(1.1)
    aged = client.get("/api/v1/domains/hist.example?max_age=1")
    assert aged.status_code == 404
    assert aged.headers["content-type"] == PROBLEM
    assert client.get("/api/v1/domains/hist.example?max_age=-1").status_code == 422


def test_stats_count_listed_scans_only(client: TestClient, db_url: str) -> None:
    store(db_url, graded("listed.example"))
    store(db_url, graded("hidden.example"), listed=False)
    stats = client.get("/api/v1/stats").json()
    assert stats["domains"] == 1
    recent = client.get("/recent").text
    assert "listed.example" in recent
    assert "hidden.example" not in recent
    assert "hidden.example" not in client.get("/").text


def test_checks_and_profiles(client: TestClient) -> None:
    from observatory.catalogue import catalogue
    from observatory.profiles import available

    checks = client.get("/api/v1/checks").json()
    assert [check["id"] for check in checks] == list(catalogue())
    tls10 = next(check for check in checks if check["id"] == "tls.protocol.tls10")
    assert tls10["grade_cap"] == "B"
    assert "prosody" in tls10["snippets"]
    assert tls10["proven"]["prosody"].startswith("tests/integration/test_fix_snippets_testbed.py::")
    assert "openfire" in tls10["unproven"]
    assert tls10["proven_c2s_only"] == {}  # seen fixed on s2s too
    no_scram = next(check for check in checks if check["id"] == "xmpp.sasl.no-scram")
    assert "prosody" in no_scram["proven_c2s_only"]
    profiles = client.get("/api/v1/profiles").json()
    assert [profile["id"] for profile in profiles] == list(available())
    assert all(profile["items"] for profile in profiles)


def test_events_of_a_finished_scan_is_one_final_event(client: TestClient, db_url: str) -> None:
    scan_id = store(db_url, graded())
    response = client.get(f"/api/v1/scans/{scan_id}/events")
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line for line in response.text.splitlines() if line.startswith("data: ")]
    assert len(events) == 1
    assert json.loads(events[0][6:])["status"] == "done"


def test_events_follow_a_running_scan_to_its_end(client: TestClient) -> None:
    scan_id = client.post("/api/v1/scans", json={"domain": "events.example"}).json()["id"]
    with client.stream("GET", f"/api/v1/scans/{scan_id}/events") as stream:
        events = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
    steps = [event["step"] for event in events]
    assert events[-1]["status"] == "done"
    assert "discovery-started" in steps
    assert all(event["scan_id"] == scan_id for event in events)


def test_openapi_document_names_every_route(client: TestClient) -> None:
    document = client.get("/api/openapi.json").json()
    assert set(document["paths"]) >= {
        "/api/v1/scans",
        "/api/v1/scans/{scan_id}",
        "/api/v1/scans/{scan_id}/events",
        "/api/v1/domains/{domain}",
        "/api/v1/domains/{domain}/history",
        "/api/v1/stats",
        "/api/v1/checks",
        "/api/v1/profiles",
    }
    # The result document's schema is the model's own.
    assert "ScanResult" in document["components"]["schemas"]
