"""A hostile or broken web server gives facts, quickly: bodies, time and XML are bounded."""

from __future__ import annotations

import gzip

import pytest

from scanners.base import ErrorReason
from scanners.http.facts import HostMetaFormat
from scanners.http.hostmeta import fetch_host_meta
from tests.integration.http_support import fetcher, get_final
from tests.testbed.https_server import HttpsTestServer, Route
from tests.testbed.pki import TestPKI

pytestmark = pytest.mark.integration

PATH = "/.well-known/host-meta"
LIMIT = 4096
GZIP_BOMB = Route(body=gzip.compress(b"\0" * (4 << 20)), headers=(("Content-Encoding", "gzip"),))
HUGE_HEADER = Route(raw=b"HTTP/1.1 200 OK\r\nX-Filler: " + b"a" * 200_000 + b"\r\n\r\n")


@pytest.mark.parametrize(
    ("route", "reason", "phase"),
    [
        (Route(endless=True), ErrorReason.HOSTILE_INPUT, "body"),
        (Route(body=b"x" * (LIMIT + 1)), ErrorReason.HOSTILE_INPUT, "body"),
        (GZIP_BOMB, ErrorReason.HOSTILE_INPUT, "body"),
        (Route(body=b"<XRD/>" * 20, trickle=0.05), ErrorReason.TIMEOUT, "http"),
        (Route(hang=True), ErrorReason.TIMEOUT, "http"),
        (Route(raw=b"SSH-2.0-OpenSSH_9.2\r\n"), ErrorReason.PROTOCOL, "http"),
        (HUGE_HEADER, ErrorReason.PROTOCOL, "http"),
    ],
    ids=["endless", "too-long", "gzip-bomb", "trickle", "silent", "not-http", "huge-header"],
)
async def test_hostile_answers_become_errors(
    https_server: HttpsTestServer, pki: TestPKI, route: Route, reason: ErrorReason, phase: str
) -> None:
    https_server.serve({PATH: route})
    # The trickle sends a byte every 50 ms, so only the total time limit can stop it.
    total = 0.25 if route.trickle else 2
    client = fetcher(https_server, pki, max_body_bytes=LIMIT, read_timeout=0.5, total_timeout=total)
    fetch = await get_final(client, https_server.url(PATH))
    assert [(error.reason, error.phase) for error in fetch.errors] == [(reason, phase)]
    assert fetch.body is None


async def test_a_dtd_in_the_xrd_is_refused(https_server: HttpsTestServer, pki: TestPKI) -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE XRD [<!ENTITY l "lol"><!ENTITY l2 "&l;&l;&l;&l;&l;&l;&l;&l;&l;&l;">]>'
        "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'><Link rel='&l2;' href='https://x.test/'/></XRD>"
    )
    https_server.serve({PATH: Route.xml(laughs)})
    document = await fetch_host_meta(fetcher(https_server, pki), HostMetaFormat.XRD, "https")
    assert document.parsed is False
    assert document.links == []
    assert [(error.reason, error.phase) for error in document.errors] == [(ErrorReason.HOSTILE_INPUT, "parse")]
    assert "DOCTYPE" in document.errors[0].message
