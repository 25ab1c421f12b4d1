"""``probe_http``: the whole family against the scripted web server, and its facts as JSON."""

from __future__ import annotations

import base64
import hashlib

import pytest

from observatory.posh import PoshStatus, judge_posh
from scanners.http.facts import HttpFacts, PoshService
from scanners.http.hostmeta import HOST_META, HOST_META_JSON
from scanners.http.posh import posh_path
from scanners.http.probe import probe_http
from tests.integration.http_support import settings, trust
from tests.testbed.https_server import HttpsTestServer, Route
from tests.testbed.layout import DOMAIN
from tests.testbed.pki import TestPKI

pytestmark = pytest.mark.integration

NS = "http://docs.oasis-open.org/ns/xri/xrd-1.0"


async def test_probe_http_collects_everything_and_round_trips(https_server: HttpsTestServer, pki: TestPKI) -> None:
    leaf = pki.leaf("good")
    fingerprint = base64.b64encode(hashlib.sha256(leaf.der).digest()).decode()
    posh = Route.json({"fingerprints": [{"sha-256": fingerprint}], "expires": 3600})
    https_server.serve(
        {
            HOST_META: Route.xml(
                f"<XRD xmlns='{NS}'><Link rel='urn:xmpp:alt-connections:websocket' href='wss://{DOMAIN}/ws'/></XRD>"
            ),
            HOST_META_JSON: Route.json({"links": []}),
            posh_path(PoshService.CLIENT): posh,
            posh_path(PoshService.SERVER): posh,
        }
    )

    async def txt(name: str) -> list[str]:
        return [f"_xmpp-client-websocket=wss://{DOMAIN}/ws"] if name == f"_xmppconnect.{DOMAIN}" else []

    facts = await probe_http(
        DOMAIN, ["127.0.0.1", "::1"], ssl_context=trust(pki), settings=settings(https_server), txt_lookup=txt
    )
    assert facts.host_meta is not None
    assert [(doc.format.value, doc.scheme, doc.parsed) for doc in facts.host_meta.documents] == [
        ("xrd", "https", True),
        ("jrd", "https", True),
        ("xrd", "http", False),
        ("jrd", "http", False),
    ]
    assert facts.xmppconnect is not None
    assert [record.attribute for record in facts.xmppconnect.records] == ["_xmpp-client-websocket"]
    assert [judge_posh(item, [leaf.der]).status for item in facts.posh] == [PoshStatus.MATCH, PoshStatus.MATCH]
    assert HttpFacts.model_validate_json(facts.model_dump_json()) == facts
    assert {seen.sni for seen in https_server.requests if seen.scheme == "https"} == {DOMAIN}
