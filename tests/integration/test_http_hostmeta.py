"""XEP-0156 discovery against the scripted web server: XRD and JRD over HTTPS and HTTP, the links
they advertise, and the CORS header."""

from __future__ import annotations

import json

import pytest

from scanners.base import ErrorReason
from scanners.http.facts import ConnectionMethod, HostMetaFormat
from scanners.http.hostmeta import HOST_META, HOST_META_JSON, probe_host_meta
from tests.integration.http_support import fetcher
from tests.testbed.https_server import HttpsTestServer, Route
from tests.testbed.pki import TestPKI

pytestmark = pytest.mark.integration

NS = "http://docs.oasis-open.org/ns/xri/xrd-1.0"
CORS = (("Access-Control-Allow-Origin", "*"),)


def xrd(*links: tuple[str, str]) -> str:
    body = "".join(f"<Link rel='urn:xmpp:alt-connections:{rel}' href='{href}'/>" for rel, href in links)
    return f"<?xml version='1.0' encoding='utf-8'?><XRD xmlns='{NS}'>{body}</XRD>"


def jrd(*links: tuple[str, str]) -> Route:
    return Route(
        body=json.dumps(
            {"links": [{"rel": f"urn:xmpp:alt-connections:{rel}", "href": href} for rel, href in links]}
        ).encode(),
        headers=(("Content-Type", "application/json"), *CORS),
    )


async def test_good_host_meta_over_https_with_http_redirecting(https_server: HttpsTestServer, pki: TestPKI) -> None:
    links = (("xbosh", "https://example.test/http-bind"), ("websocket", "wss://example.test/xmpp-websocket"))
    https_server.serve(
        {HOST_META: Route.xml(xrd(*links), headers=CORS), HOST_META_JSON: jrd(*links)},
        {path: Route.redirect(https_server.url(path)) for path in (HOST_META, HOST_META_JSON)},
    )
    facts = await probe_host_meta(fetcher(https_server, pki))
    documents = {(doc.format, doc.scheme): doc for doc in facts.documents}
    assert facts.only_plain_http is False
    for format, path in ((HostMetaFormat.XRD, HOST_META), (HostMetaFormat.JRD, HOST_META_JSON)):
        served = documents[(format, "https")]
        assert served.parsed is True
        assert [(link.method, link.secure, link.href) for link in served.links] == [
            (ConnectionMethod.BOSH, True, "https://example.test/http-bind"),
            (ConnectionMethod.WEBSOCKET, True, "wss://example.test/xmpp-websocket"),
        ]
        assert served.fetches[-1].cors == "*"
        plain = documents[(format, "http")]
        assert plain.parsed is False
        assert [fetch.status for fetch in plain.fetches] == [301]
        assert plain.fetches[0].location == https_server.url(path)
    accepts = {seen.path: seen.headers["accept"] for seen in https_server.requests if seen.scheme == "https"}
    assert accepts == {HOST_META: "application/xrd+xml", HOST_META_JSON: "application/json"}


async def test_host_meta_only_over_plain_http_with_insecure_links(https_server: HttpsTestServer, pki: TestPKI) -> None:
    links = (("xbosh", "http://example.test:5280/http-bind"), ("websocket", "ws://example.test/ws"))
    https_server.serve({}, {HOST_META: Route.xml(xrd(*links))})
    facts = await probe_host_meta(fetcher(https_server, pki))
    assert facts.only_plain_http is True
    [served] = [doc for doc in facts.documents if doc.parsed]
    assert (served.format, served.scheme) == (HostMetaFormat.XRD, "http")
    assert [link.secure for link in served.links] == [False, False]
    assert served.fetches[-1].cors is None
    missing = [doc for doc in facts.documents if not doc.parsed]
    assert {doc.fetches[-1].status for doc in missing} == {404}


async def test_wrong_content_is_not_host_meta(https_server: HttpsTestServer, pki: TestPKI) -> None:
    soft_404 = Route(
        body=b"<!DOCTYPE html><html><body>Welcome!</body></html>", headers=(("Content-Type", "text/html"),)
    )
    https_server.serve({HOST_META: soft_404, HOST_META_JSON: soft_404})
    facts = await probe_host_meta(fetcher(https_server, pki))
    https = [doc for doc in facts.documents if doc.scheme == "https"]
    assert all(doc.parsed is False for doc in https)
    assert all(doc.fetches[-1].status == 200 for doc in https)
    reasons = {doc.format: [error.reason for error in doc.errors] for doc in https}
    assert reasons == {HostMetaFormat.XRD: [ErrorReason.PROTOCOL], HostMetaFormat.JRD: [ErrorReason.PROTOCOL]}
    assert "DOCTYPE html" in https[0].errors[0].message


async def test_one_https_redirect_is_followed(https_server: HttpsTestServer, pki: TestPKI) -> None:
    https_server.serve({HOST_META: Route.redirect("/xrd"), "/xrd": Route.xml(xrd(("websocket", "wss://x.test/ws")))})
    facts = await probe_host_meta(fetcher(https_server, pki))
    [served] = [doc for doc in facts.documents if doc.parsed]
    assert [fetch.status for fetch in served.fetches] == [301, 200]
    assert served.links[0].href == "wss://x.test/ws"
