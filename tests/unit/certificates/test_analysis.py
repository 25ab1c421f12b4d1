"""The entry point: one analysis per chain whatever the number of endpoints, and a lossless JSON form."""

from __future__ import annotations

import base64
import json

from observatory.certificates import analyse_chain, clear_caches, match_dane
from observatory.certificates.analysis import cache_info
from observatory.document import load_result
from reports.json import render_json
from scanners.base import ServiceKind
from scanners.dns.facts import DnssecState, DnssecStatus, TlsaLookup, TlsaRecord
from tests.factories import make_result
from tests.unit.certificates.builders import DAY, NOW, issue, xmpp_names

ROOT = issue("Analysis Root", ca=True, not_before=NOW - 900 * DAY, not_after=NOW + 3000 * DAY)
INTER = issue("Analysis Intermediate", ROOT, ca=True)
LEAF = issue("example.org", INTER, key_label="analysis-leaf", sans=xmpp_names("example.org"))
CHAIN = [LEAF.der, INTER.der]


def test_a_chain_served_on_many_endpoints_is_analysed_once() -> None:
    clear_caches()
    # Given eight endpoints (c2s/s2s × two addresses × STARTTLS/Direct TLS) serving one chain
    results = [
        analyse_chain(CHAIN, domain="example.org", kind=kind, at=NOW, extra_roots=[ROOT.cert], mozilla_roots=False)
        for kind in (ServiceKind.C2S, ServiceKind.S2S)
        for _ in range(4)
    ]
    # Then the chain was parsed and path-built once, and the identity still follows the link type
    info = cache_info()
    assert (info.misses, info.hits) == (1, 7)
    assert results[0].matched_identity == "SRV-ID:_xmpp-client.example.org"
    assert results[-1].matched_identity == "SRV-ID:_xmpp-server.example.org"
    assert results[0].path == results[-1].path


def test_another_time_or_other_roots_is_another_analysis() -> None:
    clear_caches()
    analyse_chain(
        CHAIN, domain="example.org", kind=ServiceKind.C2S, at=NOW, extra_roots=[ROOT.cert], mozilla_roots=False
    )
    analyse_chain(
        CHAIN, domain="example.org", kind=ServiceKind.C2S, at=NOW + DAY, extra_roots=[ROOT.cert], mozilla_roots=False
    )
    untrusted = analyse_chain(CHAIN, domain="example.org", kind=ServiceKind.C2S, at=NOW, mozilla_roots=False)
    assert cache_info().misses == 3
    assert untrusted.trusted is False


def test_a_naive_time_is_taken_as_utc() -> None:
    naive = analyse_chain(
        CHAIN,
        domain="example.org",
        kind=ServiceKind.C2S,
        at=NOW.replace(tzinfo=None),
        extra_roots=[ROOT.cert],
        mozilla_roots=False,
    )
    assert naive.analysed_at == NOW
    assert naive.trusted is True


def test_the_result_document_keeps_every_judgment() -> None:
    # Given a real certificate analysis and DANE result on an endpoint of a result document
    certificate = analyse_chain(
        CHAIN,
        domain="example.org",
        kind=ServiceKind.C2S,
        at=NOW,
        extra_roots=[ROOT.cert],
        mozilla_roots=False,
        srv_target="xmpp.example.org",
    )
    secure = DnssecStatus(state=DnssecState.SECURE)
    tlsa = TlsaLookup(
        name="_5222._tcp.xmpp.example.org",
        records=[TlsaRecord(usage=3, selector=1, matching_type=1, data=certificate.certificates[0].spki_sha256)],
        dnssec=secure,
    )
    dane = match_dane(CHAIN, tlsa, secure, certificate=certificate)
    result = make_result()
    services = result.services
    assert services.c2s is not None
    endpoint = services.c2s.endpoints[0].model_copy(update={"certificate": certificate, "dane": dane})
    c2s = services.c2s.model_copy(update={"endpoints": [endpoint, *services.c2s.endpoints[1:]]})
    result = result.model_copy(update={"services": services.model_copy(update={"c2s": c2s})})
    # When it is written and read back
    text = render_json(result)
    # Then nothing is lost, and the fields later issues rely on are where they were promised
    assert load_result(text) == result
    written = json.loads(text)["services"]["c2s"]["endpoints"][0]
    assert written["certificate"]["trusted"] is True
    assert written["certificate"]["identity_matches"] is True
    assert written["certificate"]["matched_identity"] == "SRV-ID:_xmpp-client.example.org"
    assert written["certificate"]["path"][-1]["der"] == base64.b64encode(ROOT.der).decode()
    assert written["dane"]["status"] == "valid"
    assert written["dane"]["reason"].startswith("TLSA record #0 (DANE-EE 3 1 1) matches")
    assert written["dane"]["records"][0]["matched"] is True
