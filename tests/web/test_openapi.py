"""The OpenAPI document against the live app, with schemathesis: property-based requests to every
operation (random domains, ids, bodies; valid and invalid ones) get no 500 and responses that match
their documented schemas, status codes, content types and headers.

The app is the real one over a real SQLite database holding a few done scans; its scan engine can
only reach a closed loopback port (``offline_template``), so the scans the generated POSTs queue fail
at DNS without ever leaving the machine.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from observatory.web import SiteSettings, create_app
from tests.web.conftest import offline_template
from tests.web.support import graded, hostile, store

#: Most generated requests per operation and mode: enough to hit the edges, few enough to run in seconds.
MAX_EXAMPLES = 25
#: A request of the event stream of a queued scan may wait for the scan; none may take longer.
REQUEST_TIMEOUT = 15
#: The largest id a scans row can have (a signed 64-bit integer, in SQLite and PostgreSQL alike).
LARGEST_ID = 2**63 - 1

#: Every operation of the document (checked against it below, so a new one is never left untested).
OPERATIONS = [
    ("POST", "/api/v1/scans"),
    ("GET", "/api/v1/scans/{scan_id}"),
    ("GET", "/api/v1/scans/{scan_id}/events"),
    ("GET", "/api/v1/domains/{domain}"),
    ("GET", "/api/v1/domains/{domain}/history"),
    ("GET", "/api/v1/stats"),
    ("GET", "/api/v1/checks"),
    ("GET", "/api/v1/profiles"),
]
#: Operations taking a domain name: whether a string is one (IDNA, label lengths, a dot, not an
#: address) is more than JSON Schema can say, so a schema-valid string may get the documented 422.
#: schemathesis' "schema-valid request rejected" check does not apply to them; every other does.
TAKES_A_DOMAIN = {"/api/v1/scans", "/api/v1/domains/{domain}", "/api/v1/domains/{domain}/history"}


@pytest.fixture(scope="module")
def stored_scans(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, int]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'site.db'}"
    ids = {
        "older": store(url, graded("example.org", minutes=-30)),
        "done": store(url, graded("example.org")),
        "hostile": store(url, hostile("evil.example")),
        "unlisted": store(url, graded("secret.example"), listed=False),
    }
    return url, ids


@pytest.fixture(scope="module")
def api_schema(stored_scans: tuple[str, dict[str, int]]) -> Iterator[schemathesis.schemas.BaseSchema]:
    url, _ = stored_scans
    site = SiteSettings(database_url=url, migrate=True, scan=offline_template(), secret_key="test-key")
    app = create_app(site)
    yield schemathesis.openapi.from_asgi("/api/openapi.json", app)
    # schemathesis keeps an ASGI app's lifespan running for the whole process: end it (the executor
    # and the database) with this module rather than at interpreter exit.
    from schemathesis.python import asgi

    asgi.shutdown_lifespans()


def test_the_document_lists_every_operation_and_no_page(api_schema: schemathesis.schemas.BaseSchema) -> None:
    documented = {
        (method.upper(), path)
        for path, methods in api_schema.raw_schema["paths"].items()
        for method in methods
        if method in ("get", "put", "post", "delete", "patch", "head", "options")
    }
    assert documented == set(OPERATIONS)


#: Negative cases need something to break: operations without parameters or body have no such case.
WITHOUT_INPUT = {("GET", "/api/v1/stats"), ("GET", "/api/v1/checks"), ("GET", "/api/v1/profiles")}
RUNS = [
    pytest.param(method, path, mode, id=f"{method} {path} {mode.value}")
    for method, path in OPERATIONS
    for mode in GenerationMode
    if not (mode is GenerationMode.NEGATIVE and (method, path) in WITHOUT_INPUT)
]


# schemathesis' own ``schemathesis.pytest.from_fixture(...).parametrize()`` reads the private
# ``Node._nodeid``, which pytest 9.2 no longer has (AttributeError at run time), so each operation's
# strategy drives a Hypothesis test here instead: the same generated cases and the same checks.
@pytest.mark.parametrize(("method", "path", "mode"), RUNS)
def test_every_operation_answers_within_its_schema(
    api_schema: schemathesis.schemas.BaseSchema, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]
    excluded = [positive_data_acceptance] if path in TAKES_A_DOMAIN else []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(timeout=REQUEST_TIMEOUT, excluded_checks=excluded)

    check()


@pytest.mark.parametrize("which", ["older", "done", "hostile", "unlisted"])
def test_stored_scans_match_the_schema(
    api_schema: schemathesis.schemas.BaseSchema, stored_scans: tuple[str, dict[str, int]], which: str
) -> None:
    """Random ids rarely hit a stored scan: the done ones (their whole result document) explicitly."""
    _, ids = stored_scans
    for path in ("/api/v1/scans/{scan_id}", "/api/v1/scans/{scan_id}/events"):
        case = api_schema[path]["GET"].Case(path_parameters={"scan_id": ids[which]})
        response = case.call_and_validate(timeout=REQUEST_TIMEOUT)
        assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "parameters", "query", "status"),
    [
        ("/api/v1/domains/{domain}", {"domain": "example.org"}, None, 200),
        ("/api/v1/domains/{domain}", {"domain": "EXAMPLE.org."}, None, 200),
        ("/api/v1/domains/{domain}", {"domain": "example.org"}, {"max_age": 0}, 404),
        ("/api/v1/domains/{domain}", {"domain": "example.org"}, {"max_age": 86400 * 10**8}, 200),
        ("/api/v1/domains/{domain}", {"domain": "secret.example"}, None, 404),
        ("/api/v1/domains/{domain}/history", {"domain": "example.org"}, {"limit": 1}, 200),
        ("/api/v1/domains/{domain}/history", {"domain": "evil.example"}, None, 200),
        ("/api/v1/domains/{domain}", {"domain": "not a domain"}, None, 422),
    ],
)
def test_stored_domains_match_the_schema(
    api_schema: schemathesis.schemas.BaseSchema,
    path: str,
    parameters: dict[str, str],
    query: dict[str, int] | None,
    status: int,
) -> None:
    case = api_schema[path]["GET"].Case(path_parameters=parameters, query=query)
    response = case.call_and_validate(timeout=REQUEST_TIMEOUT)
    assert response.status_code == status


# Found by schemathesis and fixed: ids beyond a 64-bit row id and huge max_age values gave a 500, and a
# body that is not UTF-8 got an undocumented 400.


@pytest.mark.parametrize("scan_id", [LARGEST_ID + 1, -LARGEST_ID - 2])
@pytest.mark.parametrize("path", ["/api/v1/scans/{scan_id}", "/api/v1/scans/{scan_id}/events"])
def test_ids_beyond_what_a_row_can_hold_are_not_found(
    api_schema: schemathesis.schemas.BaseSchema, path: str, scan_id: int
) -> None:
    case = api_schema[path]["GET"].Case(path_parameters={"scan_id": scan_id})
    response = case.call_and_validate(timeout=REQUEST_TIMEOUT)
    assert response.status_code in (404, 422)


def test_a_max_age_beyond_what_a_timedelta_holds_is_answered(api_schema: schemathesis.schemas.BaseSchema) -> None:
    case = api_schema["/api/v1/domains/{domain}"]["GET"].Case(
        path_parameters={"domain": "example.org"}, query={"max_age": 10**20}
    )
    response = case.call_and_validate(timeout=REQUEST_TIMEOUT)
    assert response.status_code in (200, 422)


def test_a_body_that_is_not_utf8_gets_a_documented_answer(api_schema: schemathesis.schemas.BaseSchema) -> None:
    case = api_schema["/api/v1/scans"]["POST"].Case(body=b"\x8a\xbb9\x9c\xfa", media_type="application/json")
    response = case.call_and_validate(timeout=REQUEST_TIMEOUT)
    assert response.status_code in (400, 422)
