"""Every HTML page of the site is well-formed HTML5 and accessible in structure: it parses without a
single error (html5lib, strict), says its language, has a title, labels every form field and has one
h1 with headings that never skip a level going down.

The pages are rendered from a real database holding done scans (with findings, hostile strings and
a history to compare), a queued, a running and a failed scan, and also from an empty one."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import html5lib
import pytest
from fastapi.testclient import TestClient

from observatory.model import ScanRequest
from observatory.profiles import available
from observatory.storage import create_scan, fail_scan, open_database, start_scan
from observatory.web import SiteSettings, create_app
from scanners.base import ServiceKind
from tests.web.support import graded, hostile, store

#: Form controls a visitor fills in or picks; hidden fields and buttons carry their own text.
UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


@dataclass(frozen=True)
class Ids:
    done: int
    older: int
    hostile: int
    queued: int
    running: int
    failed: int


@pytest.fixture
def site(settings: SiteSettings, sqlite_url: str) -> tuple[TestClient, Ids]:
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        # Stored after the site started, so its executor never picks up the queued one.
        older = store(sqlite_url, graded("history.example", minutes=-30))
        done = store(sqlite_url, graded("history.example"))
        evil = store(sqlite_url, hostile())
        with open_database(sqlite_url) as database, database.session() as session:
            request = ScanRequest(domain="waiting.example", kinds=[ServiceKind.C2S])
            queued = create_scan(session, request=request)
            running = create_scan(session, request=request.model_copy(update={"domain": "busy.example"}))
            start_scan(session, scan_id=running)
            failed = create_scan(session, request=request.model_copy(update={"domain": "broken.example"}))
            fail_scan(session, scan_id=failed, error='resolver said <b>"no"</b>')
        yield client, Ids(done, older, evil, queued, running, failed)


def parse(html: str) -> ET.Element:
    """The document tree; any parse error (html5lib's strict mode) fails the test with its position."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    try:
        return parser.parse(html)
    except html5lib.html5parser.ParseError as exc:
        line, column = parser.errors[-1][0] if parser.errors else ("?", "?")
        lines = html.splitlines()
        context = lines[line - 1] if isinstance(line, int) and 0 < line <= len(lines) else ""
        pytest.fail(f"HTML parse error {exc} at line {line}, column {column}:\n{context}")


def text_of(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def structure_problems(html: str) -> list[str]:
    root = parse(html)
    problems: list[str] = []
    if root.tag != "html" or not root.get("lang", "").strip():
        problems.append("<html> has no lang")
    titles = root.findall("./head/title")
    if len(titles) != 1 or not text_of(titles[0]):
        problems.append(f"expected one non-empty <title> in <head>, found {[text_of(t) for t in titles]}")

    parents = {child: parent for parent in root.iter() for child in parent}
    labelled = {label.get("for") for label in root.iter("label") if label.get("for")}
    ids = [element.get("id") for element in root.iter() if element.get("id")]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        problems.append(f"duplicate ids: {duplicates}")
    for field in root.iter():
        if field.tag not in ("input", "select", "textarea"):
            continue
        if field.tag == "input" and field.get("type", "text").lower() in UNLABELLED_TYPES:
            continue
        if (field.get("aria-label") or "").strip() or (field.get("aria-labelledby") or "").strip():
            continue
        if field.get("id") and field.get("id") in labelled:
            continue
        ancestor = parents.get(field)
        while ancestor is not None and ancestor.tag != "label":
            ancestor = parents.get(ancestor)
        if ancestor is not None and text_of(ancestor):
            continue
        problems.append(f"unlabelled <{field.tag} name={field.get('name')!r} type={field.get('type')!r}>")

    headings = [(int(e.tag[1]), text_of(e)) for e in root.iter() if re.fullmatch(r"h[1-6]", str(e.tag))]
    h1s = [text for level, text in headings if level == 1]
    if len(h1s) != 1:
        problems.append(f"expected exactly one h1, found {h1s}")
    previous = 0
    for level, text in headings:
        if level > previous + 1:
            problems.append(f"h{level} {text!r} follows h{previous}: a level is skipped")
        if not text:
            problems.append(f"an empty h{level}")
        previous = level
    return problems


def assert_structured(response, expected_status: int = 200) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == expected_status, (response.request.url, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/html"), response.headers["content-type"]
    problems = structure_problems(response.text)
    assert problems == [], f"{response.request.method} {response.request.url}: {problems}"


def form_token(client: TestClient) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/scans/{done}",
        "/scans/{older}",
        "/scans/{hostile}",
        "/scans/{done}?profile={profile}",
        "/scans/{queued}",
        "/scans/{running}",
        "/scans/{failed}",
        "/domains/history.example",
        "/domains/evil.example",
        "/domains/history.example/diff?from={older}&to={done}",
        "/recent",
        "/stats",
        "/checks",
        "/methodology",
        "/api/docs",
    ],
)
def test_page_with_scans_is_well_formed_and_accessible(site: tuple[TestClient, Ids], path: str) -> None:
    client, ids = site
    profile = sorted(available())[0]
    url = path.format(profile=profile, **vars(ids))
    assert_structured(client.get(url))


@pytest.mark.parametrize("path", ["/", "/recent", "/stats"])
def test_page_of_an_empty_site_is_well_formed_and_accessible(client: TestClient, path: str) -> None:
    assert_structured(client.get(path))


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/no/such/page", 404),
        ("/scans/999999", 404),
        ("/scans/not-a-number", 422),
        ("/domains/never.example", 404),
        ("/domains/not a domain", 422),
        ("/domains/history.example/diff?from=x&to=1", 422),
        ("/scans/{queued}.json", 404),
    ],
)
def test_error_page_is_well_formed_and_accessible(site: tuple[TestClient, Ids], path: str, status: int) -> None:
    client, ids = site
    assert_structured(client.get(path.format(**vars(ids))), status)


@pytest.mark.parametrize(
    "domain", ["", "not a domain", "nodot", "x" * 300, '"><script>alert(1)</script>', "a..example"]
)
def test_form_error_page_is_well_formed_and_accessible(client: TestClient, domain: str) -> None:
    response = client.post("/scans", data={"domain": domain, "kinds": "c2s", "csrf_token": form_token(client)})
    assert_structured(response, 422)
    assert 'aria-invalid="true"' in response.text


def test_a_refused_form_post_is_well_formed_and_accessible(client: TestClient) -> None:
    assert_structured(client.post("/scans", data={"domain": "csrf.example"}), 403)


def test_the_checker_itself_finds_problems() -> None:
    broken = (
        "<!DOCTYPE html><html><head><title> </title></head><body>"
        '<h1>a</h1><h3>b</h3><h1>c</h1><input name="q"><p id="x"></p><p id="x"></p></body></html>'
    )
    problems = structure_problems(broken)
    assert any("lang" in p for p in problems)
    assert any("<title>" in p for p in problems)
    assert any("skipped" in p for p in problems)
    assert any("one h1" in p for p in problems)
    assert any("unlabelled <input name='q'" in p for p in problems)
    assert any("duplicate ids" in p for p in problems)
    labelled = (
        '<!DOCTYPE html><html lang="en"><head><title>t</title></head><body><h1>a</h1><h2>b</h2>'
        '<label for="a">A</label><input id="a"><label><input type="checkbox"> B</label>'
        '<input aria-label="C"><input type="hidden" name="d"><h2>e</h2></body></html>'
    )
    assert structure_problems(labelled) == []
    with pytest.raises(pytest.fail.Exception, match=r"too early"):
        structure_problems('<!DOCTYPE html><html lang="en"><head><title>t</title></head><body><p></div></body></html>')
