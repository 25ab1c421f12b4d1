"""The HTML pages on a real database: the form and its CSRF protection, reports, caching, badges,
hostile strings, error pages, security headers, and recovery of scans left running."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient

from observatory.grading import RULES_VERSION
from observatory.model import ScanRequest
from observatory.storage import open_database, start_scan
from observatory.storage.queue import submit_scan
from observatory.web import SiteSettings, create_app
from observatory.web.security import CSRF_COOKIE, SECURITY_HEADERS
from scanners.base import ServiceKind
from tests.web.conftest import BACKENDS
from tests.web.support import HOSTILE, graded, hostile, store

pytestmark = pytest.mark.parametrize("db_url", BACKENDS, indirect=True)


def form_token(client: TestClient) -> str:
    page = client.get("/")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    assert client.cookies.get(CSRF_COOKIE) == match.group(1)
    return match.group(1)


def test_the_form_queues_a_scan_and_redirects_to_its_page(client: TestClient) -> None:
    token = form_token(client)
    response = client.post(
        "/scans", data={"domain": "form.example", "kinds": "c2s", "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/scans/\d+", location)
    # The progress page works without JavaScript (meta refresh) and with it (a same-origin script).
    progress = client.get(location)
    assert progress.status_code == 200
    assert "form.example" in progress.text
    if "http-equiv" in progress.text:  # still running: the refresh is there
        assert '<noscript><meta http-equiv="refresh"' in progress.text
        assert "/static/progress.js" in progress.text
    scan_id = int(location.rsplit("/", 1)[1])
    deadline = time.monotonic() + 20
    while client.get(f"/api/v1/scans/{scan_id}").json()["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    report = client.get(location)
    assert '<h2 id="grades-heading">Grades</h2>' in report.text


def test_a_form_post_without_the_token_or_from_another_site_is_refused(client: TestClient) -> None:
    missing = client.post("/scans", data={"domain": "csrf.example"})
    assert missing.status_code == 403
    assert "security cookie" in missing.text
    token = form_token(client)
    wrong = client.post("/scans", data={"domain": "csrf.example", "csrf_token": token[:-2] + "xx"})
    assert wrong.status_code == 403
    foreign = client.post(
        "/scans", data={"domain": "csrf.example", "csrf_token": token}, headers={"origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    assert "another site" in foreign.text
    # A forged cookie + field pair without the site's key is refused too.
    client.cookies.set(CSRF_COOKIE, "forged.0123456789abcdef0123456789abcdef")
    forged = client.post(
        "/scans", data={"domain": "csrf.example", "csrf_token": "forged.0123456789abcdef0123456789abcdef"}
    )
    assert forged.status_code == 403
    assert client.get("/api/v1/domains/csrf.example/history").json()["scans"] == []


def test_a_bad_domain_in_the_form_is_a_422_page_with_the_reason(client: TestClient) -> None:
    token = form_token(client)
    response = client.post("/scans", data={"domain": "not a domain", "csrf_token": token})
    assert response.status_code == 422
    assert "is not a valid host name" in response.text
    assert 'aria-invalid="true"' in response.text
    # The visitor's input is kept in the form, escaped.
    evil = client.post("/scans", data={"domain": '"><script>x</script>', "csrf_token": token})
    assert evil.status_code == 422
    assert "<script>x</script>" not in evil.text


def test_the_unlisted_box_keeps_the_scan_out_of_lists(client: TestClient, db_url: str) -> None:
    token = form_token(client)
    response = client.post(
        "/scans", data={"domain": "secret.example", "unlisted": "1", "csrf_token": token}, follow_redirects=False
    )
    scan_id = int(response.headers["location"].rsplit("/", 1)[1])
    info = client.get(f"/api/v1/scans/{scan_id}").json()
    assert info["listed"] is False
    assert client.get(f"/scans/{scan_id}").status_code == 200  # reachable by its id
    assert client.get("/api/v1/domains/secret.example/history").json()["scans"] == []
    assert client.get("/domains/secret.example").status_code == 404


def test_a_done_report_shows_grades_findings_and_fixes(client: TestClient, db_url: str) -> None:
    scan_id = store(db_url, graded("report.example"))
    page = client.get(f"/scans/{scan_id}")
    assert page.status_code == 200
    text = page.text
    assert "<h1>report.example</h1>" in text
    assert 'class="grade grade-big grade-a">A</span>' in text
    assert "TLS 1.0 is accepted" in text  # the catalogue title of the finding
    assert "TLS 1.0 accepted with 3 suites" in text  # its detail
    for server in ("Prosody", "ejabberd", "Openfire"):
        assert f"<summary>{server}</summary>" in text
    # Its Prosody and ejabberd snippets were seen removing it on the testbed; Openfire's was not.
    assert "removed the finding on Prosody 0.12" in text
    assert "removed the finding on ejabberd 23.01, on client and server streams," in text
    assert "on Openfire" not in text
    for link in (f"/scans/{scan_id}.json", f"/scans/{scan_id}.sarif", f"/scans/{scan_id}.md"):
        assert link in text
        assert client.get(link).status_code == 200
    # A profile judged on request.
    judged = client.get(f"/scans/{scan_id}?profile=mozilla-intermediate")
    assert judged.status_code == 200
    assert "Mozilla" in judged.text


def test_reports_carry_an_etag_and_answer_304(client: TestClient, db_url: str) -> None:
    scan_id = store(db_url, graded("cache.example"))
    first = client.get(f"/scans/{scan_id}")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=300"
    again = client.get(f"/scans/{scan_id}", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    document = client.get(f"/scans/{scan_id}.json")
    assert document.headers["etag"] != etag
    assert client.get(f"/scans/{scan_id}.json", headers={"if-none-match": document.headers["etag"]}).status_code == 304
    unlisted = store(db_url, graded("private.example"), listed=False)
    assert client.get(f"/scans/{unlisted}").headers["cache-control"].startswith("private")


def test_hostile_strings_are_rendered_inert(client: TestClient, db_url: str) -> None:
    scan_id = store(db_url, hostile("evil.example"))
    for path in (f"/scans/{scan_id}", f"/scans/{scan_id}.md", "/domains/evil.example"):
        text = client.get(path).text
        assert "<script>alert" not in text, path
        assert "<img src=x" not in text, path
    page = client.get(f"/scans/{scan_id}").text
    assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in page
    api = client.get(f"/api/v1/scans/{scan_id}").json()
    assert HOSTILE in api["result"]["findings"][0]["details"]


def test_domain_page_history_and_diff(client: TestClient, db_url: str) -> None:
    old = store(db_url, graded("diff.example", minutes=-10))
    result = graded("diff.example")
    new = store(db_url, result.model_copy(update={"findings": []}))
    page = client.get("/domains/Diff.Example")
    assert page.status_code == 200
    assert f"/scans/{old}" in page.text
    assert f"/scans/{new}" in page.text
    assert "<svg" in page.text  # the grade timeline
    diff = client.get(f"/domains/diff.example/diff?from={old}&to={new}")
    assert diff.status_code == 200
    assert "tls.protocol.tls10" in diff.text
    other = store(db_url, graded("other.example"))
    assert client.get(f"/domains/diff.example/diff?from={old}&to={other}").status_code == 404
    assert client.get("/domains/diff.example/diff?from=x&to=1").status_code == 422


def test_badges(client: TestClient, db_url: str) -> None:
    store(db_url, graded("badge.example"))
    svg = client.get("/badge/badge.example.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.headers["cache-control"].startswith("public, max-age=")
    assert ">A<" in svg.text
    shields = client.get("/badge/badge.example.json?kind=c2s").json()
    assert shields == {"schemaVersion": 1, "label": "xmpp c2s", "message": "A", "color": "brightgreen"}
    unknown = client.get("/badge/never.example.json").json()
    assert unknown["message"] == "not scanned"
    assert unknown["color"] == "lightgrey"
    assert "not scanned" in client.get("/badge/never.example.svg").text
    assert client.get("/badge/never.example.svg?kind=xyz").status_code == 422


def test_checks_and_methodology_come_from_the_code(client: TestClient) -> None:
    from observatory.catalogue import catalogue

    checks = client.get("/checks").text
    for entry_id in catalogue():
        assert f'id="{entry_id}"' in checks
    methodology = client.get("/methodology").text
    assert RULES_VERSION in methodology
    assert "<table>" in methodology


def test_error_pages_use_the_layout_and_never_a_trace(client: TestClient) -> None:
    missing = client.get("/scans/987654")
    assert missing.status_code == 404
    assert "There is no scan #987654" in missing.text
    assert 'href="/static/site.css"' in missing.text
    assert client.get("/no/such/page").status_code == 404
    assert client.get("/scans/not-a-number").status_code == 422
    assert "Traceback" not in client.get("/scans/not-a-number").text


def test_every_response_has_the_security_headers(client: TestClient) -> None:
    for path in ("/", "/api/v1/stats", "/scans/987654", "/static/site.css", "/badge/x.example.svg"):
        headers = client.get(path).headers
        for name, value in SECURITY_HEADERS.items():
            assert headers[name] == value, (path, name)
    policy = SECURITY_HEADERS["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy


def test_scans_left_running_by_a_dead_process_are_failed_and_queued_ones_run(
    settings: SiteSettings, db_url: str
) -> None:
    # Given a database where a previous process left one scan running and one queued
    with open_database(db_url, migrate=True) as database, database.session() as session:
        request = ScanRequest(domain="orphan.example", kinds=[ServiceKind.C2S])
        orphan = submit_scan(session, request=request).scan_id
        start_scan(session, scan_id=orphan)
        waiting = submit_scan(session, request=request.model_copy(update={"domain": "waiting.example"})).scan_id
    # when the site starts
    with TestClient(create_app(settings)) as client:
        # then the running one is failed with the reason, never stuck,
        failed = client.get(f"/api/v1/scans/{orphan}").json()
        assert failed["status"] == "failed"
        assert "interrupted" in failed["error"]
        assert "failed" in client.get(f"/scans/{orphan}").text
        # and the queued one is picked up and runs to its end.
        deadline = time.monotonic() + 20
        while client.get(f"/api/v1/scans/{waiting}").json()["status"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.05)
