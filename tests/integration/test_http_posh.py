"""POSH end to end: documents from the scripted web server, judged against test-PKI chains."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from observatory.posh import PoshMatch, PoshStatus, judge_posh
from scanners.http.facts import PoshService
from scanners.http.posh import posh_path, probe_posh
from tests.integration.http_support import fetcher
from tests.testbed.https_server import HttpsServerPool, HttpsTestServer, Route
from tests.testbed.layout import DOMAIN
from tests.testbed.pki import Leaf, TestPKI

pytestmark = pytest.mark.integration

CLIENT, SERVER = posh_path(PoshService.CLIENT), posh_path(PoshService.SERVER)
HOSTING = f"xmpp.{DOMAIN}"  # another name on the good certificate, standing in for a hosting provider


def chain(pki: TestPKI, leaf: Leaf) -> list[bytes]:
    """What the TLS engine would report: the leaf, then the intermediate, as DER."""
    return [leaf.der, pki.intermediate.public_bytes(Encoding.DER)]


def pin(der: bytes, algorithm: str = "sha-256") -> dict[str, str]:
    return {algorithm: base64.b64encode(hashlib.new(algorithm.replace("-", ""), der).digest()).decode()}


async def test_fingerprints_that_match_and_that_do_not(https_server: HttpsTestServer, pki: TestPKI) -> None:
    good = pki.leaf("good")
    https_server.serve(
        {
            CLIENT: Route.json({"fingerprints": [pin(good.der)], "expires": 86400}),
            SERVER: Route.json({"fingerprints": [pin(chain(pki, good)[1], "sha-512")], "expires": 86400}),
        }
    )
    client = fetcher(https_server, pki)
    c2s, s2s = await probe_posh(client, PoshService.CLIENT), await probe_posh(client, PoshService.SERVER)
    assert judge_posh(c2s, chain(pki, good)).matches == [PoshMatch(chain_index=0, algorithm="sha-256")]
    assert judge_posh(s2s, chain(pki, good)).matches == [PoshMatch(chain_index=1, algorithm="sha-512")]
    other = pki.leaf("ecdsa-p256")
    assert judge_posh(c2s, [other.der]).status is PoshStatus.MISMATCH
    judgment = judge_posh(c2s, chain(pki, good), at=c2s.fetches[0].started_at + timedelta(days=1, seconds=1))
    assert judgment.status is PoshStatus.STALE


async def test_one_url_reference_is_followed_to_another_host(https_server: HttpsTestServer, pki: TestPKI) -> None:
    good = pki.leaf("good")
    hosted = https_server.url("/hosted/example.test/xmpp-server.json", host=HOSTING)
    https_server.serve(
        {
            SERVER: Route.json({"url": hosted, "expires": 86400}),
            "/hosted/example.test/xmpp-server.json": Route.json({"fingerprints": [pin(good.der)], "expires": 300}),
        }
    )
    facts = await probe_posh(fetcher(https_server, pki, resolve_table={HOSTING: ["::1"]}), PoshService.SERVER)
    assert [fetch.address for fetch in facts.reference_fetches] == ["::1"]
    assert https_server.requests[-1].sni == HOSTING
    judgment = judge_posh(facts, chain(pki, good))
    assert judgment.status is PoshStatus.MATCH
    assert judgment.valid_until == facts.reference_fetches[0].started_at + timedelta(seconds=300)


async def test_a_second_reference_and_an_http_reference_are_not_followed(
    https_server: HttpsTestServer, pki: TestPKI
) -> None:
    https_server.serve(
        {
            CLIENT: Route.json({"url": https_server.url("/first.json"), "expires": 60}),
            "/first.json": Route.json({"url": https_server.url("/second.json"), "expires": 60}),
            "/second.json": Route.json({"fingerprints": [pin(pki.leaf("good").der)], "expires": 60}),
            SERVER: Route.json({"url": https_server.url("/plain.json", scheme="http"), "expires": 60}),
        }
    )
    client = fetcher(https_server, pki)
    chained = await probe_posh(client, PoshService.CLIENT)
    plain = await probe_posh(client, PoshService.SERVER)
    assert [seen.path for seen in https_server.requests] == [CLIENT, "/first.json", SERVER]
    assert judge_posh(chained, chain(pki, pki.leaf("good"))).status is PoshStatus.INVALID
    assert "second reference" in chained.reference_errors[-1].message
    assert judge_posh(plain, chain(pki, pki.leaf("good"))).status is PoshStatus.INVALID
    assert "not an https URL" in plain.reference_errors[-1].message


async def test_an_http_redirect_is_recorded_not_followed(https_server: HttpsTestServer, pki: TestPKI) -> None:
    https_server.serve({CLIENT: Route.redirect("/elsewhere.json"), "/elsewhere.json": Route.json({"expires": 1})})
    facts = await probe_posh(fetcher(https_server, pki), PoshService.CLIENT)
    assert [fetch.status for fetch in facts.fetches] == [301]
    assert [seen.path for seen in https_server.requests] == [CLIENT]
    assert judge_posh(facts, [pki.leaf("good").der]).status is PoshStatus.INVALID


async def test_missing_and_untrusted_documents(https_servers: HttpsServerPool, pki: TestPKI) -> None:
    good_server = https_servers.get("good")
    good_server.reset()
    missing = await probe_posh(fetcher(good_server, pki), PoshService.CLIENT)
    assert judge_posh(missing, [pki.leaf("good").der]).status is PoshStatus.ABSENT
    # Served under a certificate for another name: a POSH client must not believe it.
    wrong = https_servers.get("wrong-name")
    wrong.serve({CLIENT: Route.json({"fingerprints": [pin(pki.leaf("good").der)], "expires": 60})})
    untrusted = await probe_posh(fetcher(wrong, pki), PoshService.CLIENT)
    assert untrusted.document is None
    judgment = judge_posh(untrusted, [pki.leaf("good").der])
    assert judgment.status is PoshStatus.UNAVAILABLE
    assert "certificate verification failed" in (judgment.reason or "")
