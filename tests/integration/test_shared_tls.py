"""Hosted domains sharing one TLS enumeration: a batch gives every domain the facts, grades and
findings scanning it alone gives, and says where its lists came from.

One Prosody hosts four domains on the same ports. Three share the server's TLS settings; the fourth
(``odd``) has a cipher list of its own, which Prosody applies to its STARTTLS streams (the host is
known from the stream header before TLS starts). Its hellos must refuse the template and get a full
enumeration; on Direct TLS the name comes by SNI after OpenSSL has fixed the cipher list, so there
it really does share the server's lists, and scanning it alone must say the same.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from observatory.batch import scan_locally
from observatory.model import EndpointFacts, ScanResult
from observatory.orchestrate import run_scan
from scanners.base import ServiceKind, Transport
from scanners.tls.facts import TlsFacts, TlsVersion
from scanners.tls.templates import RedisTemplates, Template
from tests.testbed.dns import DnsTestbed, ZoneSpec
from tests.testbed.engine import options_for_testbed
from tests.testbed.layout import SCANNER_DOMAIN, Layout
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator
from tests.testbed.prosody import ProsodyFactory, ProsodyInstance

pytestmark = pytest.mark.integration

ZONE = "hosted.test"
SAME = [f"h{n}.{ZONE}" for n in (1, 2, 3)]
ODD = f"odd.{ZONE}"
DOMAINS = [*SAME, ODD]
#: Not what the server's own list (the intermediate profile) would pick first at TLS 1.2.
ODD_CIPHERS = "ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA"
#: What differs between two scans of one endpoint without saying anything about the server.
VOLATILE = {"connections", "connections_by_probe", "duration_seconds", "shared_from"}


def hosted_zone(prosody: ProsodyInstance, spki_sha256: str) -> ZoneSpec:
    ports = prosody.ports
    records = ["srv A 127.0.0.1"]
    records += [f"_{port}._tcp.srv TLSA 3 1 1 {spki_sha256.upper()}" for port in (ports.c2s, ports.c2s_direct)]
    for domain in DOMAINS:
        label = domain.removesuffix(f".{ZONE}")
        records += [
            f"_xmpp-client._tcp.{label} SRV 0 5 {ports.c2s} srv",
            f"_xmpps-client._tcp.{label} SRV 0 5 {ports.c2s_direct} srv",
        ]
    return ZoneSpec(ZONE, records=records)


@pytest.fixture(scope="module")
def hosting(
    testbed_root: Path, ports: PortAllocator, layout: Layout, pki: TestPKI
) -> Iterator[tuple[ProsodyInstance, DnsTestbed]]:
    leaf = pki.hosting_leaf("hosted", DOMAINS)
    odd_ssl = {"certificate": str(leaf.chain_path), "key": str(leaf.key_path), "ciphers": ODD_CIPHERS}
    factory = ProsodyFactory(testbed_root / "prosody", ports, leaf, layout.dns_resolver)
    try:
        prosody = factory("hosted", domain=SAME[0], extra_hosts=(*SAME[1:], ODD), host_options={ODD: {"ssl": odd_ssl}})
        zones = [hosted_zone(prosody, leaf.spki_sha256), ZoneSpec(SCANNER_DOMAIN, records=["@ A 127.0.0.1"])]
        with DnsTestbed(
            testbed_root / "dns-hosted", zones, authoritative_port=ports.take(), resolver_port=ports.take()
        ) as dns:
            yield prosody, dns
    finally:
        factory.stop_all()


def endpoints(result: ScanResult) -> dict[str, EndpointFacts]:
    assert result.services.c2s is not None
    return {endpoint.id: endpoint for endpoint in result.services.c2s.endpoints}


def comparable(tls: TlsFacts | None) -> dict[str, Any]:
    assert tls is not None
    return tls.model_dump(exclude=VOLATILE)


@pytest.fixture(scope="module")
def scans(
    hosting: tuple[ProsodyInstance, DnsTestbed], pki: TestPKI
) -> tuple[dict[str, ScanResult], dict[str, ScanResult]]:
    _, dns = hosting
    template = options_for_testbed(dns, pki, ipv6=False, http=False)
    kinds = (ServiceKind.C2S,)

    async def batch() -> dict[str, ScanResult]:
        found = {}
        async for item in scan_locally(DOMAINS, template, kinds, concurrency=4):
            assert item.result is not None, item.error
            found[item.domain] = item.result
        return found

    async def alone() -> dict[str, ScanResult]:
        return {d: await run_scan(dataclasses.replace(template, domain=d, kinds=kinds)) for d in DOMAINS}

    return asyncio.run(batch()), asyncio.run(alone())


def test_a_batch_equals_one_by_one_scans_for_every_domain(
    scans: tuple[dict[str, ScanResult], dict[str, ScanResult]],
) -> None:
    batch, alone = scans
    for domain in DOMAINS:
        shared, single = endpoints(batch[domain]), endpoints(alone[domain])
        assert shared.keys() == single.keys()
        for endpoint_id in shared:
            assert comparable(shared[endpoint_id].tls) == comparable(single[endpoint_id].tls), (domain, endpoint_id)
            assert shared[endpoint_id].grade == single[endpoint_id].grade
        assert sorted(f.id for f in batch[domain].findings) == sorted(f.id for f in alone[domain].findings)
        # Each scan counts its own connections, though the batch's scans share one limiter.
        for result in (batch[domain], alone[domain]):
            tls = sum(e.tls.connections for e in endpoints(result).values() if e.tls)
            assert result.connections is not None
            assert tls < result.connections < tls + 10  # and a few stream probes per endpoint
        assert batch[domain].services.c2s.grade == alone[domain].services.c2s.grade  # type: ignore[union-attr]


def test_hosted_domains_share_what_their_hellos_confirm(
    scans: tuple[dict[str, ScanResult], dict[str, ScanResult]],
) -> None:
    batch, alone = scans
    # STARTTLS: odd's own cipher list answers its TLS 1.2 hello differently, so it has a fingerprint
    # (and an enumeration) of its own. Direct TLS: the name comes by SNI, which changes the
    # certificate but not the cipher list, so all four share.
    for transport, groups in ((Transport.STARTTLS, [SAME, [ODD]]), (Transport.DIRECTTLS, [DOMAINS])):
        facts = {
            domain: next(e.tls for e in endpoints(batch[domain]).values() if e.transport is transport)
            for domain in DOMAINS
        }
        for group in groups:
            own = [domain for domain in group if facts[domain].shared_from is None]
            assert len(own) == 1, f"{transport}: one domain of {group} enumerates, the others share: {own}"
            for domain in group:
                shared_from = facts[domain].shared_from
                if shared_from is not None:
                    # One hello per version, but those a newer version's refusal ruled out.
                    assert shared_from.confirmations == facts[domain].connections_by_probe["versions"] <= 6
                    assert facts[domain].connections < facts[own[0]].connections / 2
        assert facts[ODD].cipher_suites != facts[SAME[0]].cipher_suites or transport is Transport.DIRECTTLS
    # Scans of one domain alone never share.
    assert all(e.tls.shared_from is None for r in alone.values() for e in endpoints(r).values() if e.tls)


def test_workers_share_through_redis(
    hosting: tuple[ProsodyInstance, DnsTestbed], pki: TestPKI, redis_server: str
) -> None:
    """Each worker task runs in an event loop of its own, with a store of its own on one Redis: the
    second domain's scan takes the first one's enumeration, as a batch in one process does."""
    _, dns = hosting
    prefix = f"test-{uuid.uuid4().hex}:tls:"
    template = options_for_testbed(dns, pki, ipv6=False, http=False, kinds=(ServiceKind.C2S,))

    async def task(domain: str) -> ScanResult:  # what one worker task does
        store = RedisTemplates.from_url(redis_server, prefix=prefix)
        try:
            return await run_scan(dataclasses.replace(template, domain=domain), templates=store)
        finally:
            await store.aclose()

    first, second = (asyncio.run(task(domain)) for domain in SAME[1:])
    for transport in (Transport.STARTTLS, Transport.DIRECTTLS):
        before = next(e.tls for e in endpoints(first).values() if e.transport is transport)
        after = next(e.tls for e in endpoints(second).values() if e.transport is transport)
        assert before is not None
        assert after is not None
        assert before.shared_from is None
        assert after.shared_from is not None
        assert comparable(after) == comparable(before)  # (one certificate names every hosted domain)


def test_the_redis_store_hands_out_one_claim_with_a_lease(redis_server: str) -> None:
    async def scenario() -> None:
        prefix = f"test-{uuid.uuid4().hex}:tls:"
        one = RedisTemplates.from_url(redis_server, prefix=prefix, wait=0.3, lease=0.5)
        two = RedisTemplates.from_url(redis_server, prefix=prefix, wait=0.3, lease=0.5)
        try:
            held = await one.get_or_claim("k")
            assert held.token is not None
            late = await two.get_or_claim("k")  # held elsewhere: waits, then enumerates alone
            assert late.token is None
            assert late.template is None
            await asyncio.sleep(0.6)  # the holder died: its lease ends
            taken = await two.get_or_claim("k")
            assert taken.token is not None
            await one.release("k", held.token)  # a stale token frees nothing
            assert (await one.get_or_claim("k")).token is None
            facts = TlsFacts(versions=[TlsVersion.TLS13], cipher_suites={TlsVersion.TLS13: ["TLS_AES_128_GCM_SHA256"]})
            await two.put("k", Template.of(facts))
            await two.release("k", taken.token)
            found = await one.get_or_claim("k")
            assert found.template is not None
            assert found.template.facts == facts
        finally:
            await one.aclose()
            await two.aclose()

    asyncio.run(scenario())
