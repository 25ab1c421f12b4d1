"""The pinned transport against the scripted web server: only our addresses, the domain's Host and
SNI, the address policy at connect time, certificate verification, and bounded redirects."""

from __future__ import annotations

import pytest

from scanners.base import ErrorReason
from scanners.http.facts import KEPT_BODY_BYTES
from tests.integration.http_support import fetcher, get_final
from tests.testbed.https_server import HttpsServerPool, HttpsTestServer, Route
from tests.testbed.layout import DOMAIN
from tests.testbed.pki import TestPKI

pytestmark = pytest.mark.integration

PATH = "/.well-known/host-meta"


async def test_connects_to_the_given_address_with_the_domain_as_host_and_sni(
    https_server: HttpsTestServer, pki: TestPKI
) -> None:
    # example.test is in no resolver of this machine: the answer can only come through our table.
    https_server.serve({PATH: Route(body=b"hello")})
    fetch = await get_final(fetcher(https_server, pki, ["::1"]), https_server.url(PATH))
    assert (fetch.status, fetch.address, fetch.body, fetch.errors) == (200, "::1", "hello", [])
    [seen] = https_server.requests
    assert (seen.local_address, seen.sni, seen.host) == ("::1", DOMAIN, f"{DOMAIN}:{https_server.https_port}")
    assert seen.headers["accept-encoding"] == "identity"


async def test_an_unreachable_address_is_recorded_and_the_next_one_used(
    https_server: HttpsTestServer, pki: TestPKI
) -> None:
    https_server.serve({PATH: Route(body=b"x")})
    fetch = await get_final(fetcher(https_server, pki, ["127.0.0.2", "127.0.0.1"]), https_server.url(PATH))
    assert (fetch.status, fetch.address) == (200, "127.0.0.1")
    [refused] = fetch.errors
    assert refused.reason is ErrorReason.REFUSED
    assert refused.message.startswith("127.0.0.2: ")


async def test_the_address_policy_is_checked_before_connecting(https_server: HttpsTestServer, pki: TestPKI) -> None:
    https_server.serve({PATH: Route(body=b"x")})
    partly = fetcher(https_server, pki, ["127.0.0.1", "::1"], allow=lambda address: address != "127.0.0.1")
    fetch = await get_final(partly, https_server.url(PATH))
    assert fetch.address == "::1"
    assert [error.message for error in fetch.errors] == ["127.0.0.1: refused by the address policy"]
    refusing = fetcher(https_server, pki, ["127.0.0.1", "::1"], allow=lambda address: False)
    fetch = await get_final(refusing, https_server.url(PATH))
    assert fetch.status is None
    assert [(error.reason, error.message) for error in fetch.errors] == [
        (ErrorReason.POLICY, "127.0.0.1: refused by the address policy"),
        (ErrorReason.POLICY, "::1: refused by the address policy"),
    ]
    assert [seen.local_address for seen in https_server.requests] == ["::1"]


@pytest.mark.parametrize("leaf", ["wrong-name", "expired", "self-signed"])
async def test_a_certificate_that_does_not_verify_is_a_tls_fact(
    https_servers: HttpsServerPool, pki: TestPKI, leaf: str
) -> None:
    server = https_servers.get(leaf)
    server.serve({PATH: Route(body=b"x")})
    fetch = await get_final(fetcher(server, pki), server.url(PATH))
    assert fetch.status is None
    [error] = fetch.errors
    assert (error.reason, error.phase) == (ErrorReason.TLS, "tls")
    assert error.message.startswith("certificate verification failed")
    assert server.requests == []


async def test_one_redirect_is_followed_and_a_loop_is_cut(https_server: HttpsTestServer, pki: TestPKI) -> None:
    https_server.serve(
        {PATH: Route.redirect("/moved"), "/moved": Route(body=b"here"), "/loop": Route.redirect("/loop")}
    )
    moved = await fetcher(https_server, pki).get(https_server.url(PATH), accept="*/*", redirects=1)
    assert [fetch.status for fetch in moved.fetches] == [301, 200]
    assert moved.body == b"here"
    assert moved.errors == []
    loop = await fetcher(https_server, pki).get(https_server.url("/loop"), accept="*/*", redirects=1)
    assert [fetch.status for fetch in loop.fetches] == [301, 301]
    assert loop.body is None
    [error] = loop.errors
    assert "at most 1 redirect" in error.message


async def test_redirects_never_go_down_to_http_nor_to_unresolved_hosts(
    https_server: HttpsTestServer, pki: TestPKI
) -> None:
    https_server.serve(
        {
            "/down": Route.redirect(https_server.url("/x", scheme="http")),
            "/away": Route.redirect(https_server.url("/x", host=f"xmpp.{DOMAIN}")),
            "/x": Route(body=b"x"),
        }
    )
    down = await fetcher(https_server, pki).get(https_server.url("/down"), accept="*/*", redirects=1)
    assert "down to plain HTTP" in down.errors[0].message
    away = await fetcher(https_server, pki).get(https_server.url("/away"), accept="*/*", redirects=1)
    assert away.errors[0].reason is ErrorReason.POLICY
    assert [seen.path for seen in https_server.requests] == ["/down", "/away"]
    # With our resolver's answer the other host is reached, and the policy still applies to it.
    table = {f"xmpp.{DOMAIN}": ["::1"]}
    resolved = await fetcher(https_server, pki, resolve_table=table).get(
        https_server.url("/away"), accept="*/*", redirects=1
    )
    assert [(fetch.status, fetch.address) for fetch in resolved.fetches] == [(301, "127.0.0.1"), (200, "::1")]
    assert https_server.requests[-1].sni == f"xmpp.{DOMAIN}"
    only_v4 = fetcher(https_server, pki, resolve_table=table, allow=lambda address: address == "127.0.0.1")
    final = await get_final(only_v4, https_server.url("/away"), redirects=1)
    assert [(error.reason, error.message) for error in final.errors] == [
        (ErrorReason.POLICY, "::1: refused by the address policy")
    ]


async def test_a_long_body_is_read_whole_and_kept_short(https_server: HttpsTestServer, pki: TestPKI) -> None:
    https_server.serve({PATH: Route(body=b"<p>" + b"a" * 20_000 + b"</p>")})
    fetch = await get_final(fetcher(https_server, pki), https_server.url(PATH))
    assert fetch.body_bytes == 20_007
    assert fetch.body is not None
    assert len(fetch.body) == KEPT_BODY_BYTES
