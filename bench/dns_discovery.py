"""DNS discovery + in-process DNSSEC validation timings against the loopback testbed (BIND + unbound).

    .venv/bin/python -m bench.dns_discovery             # 20 rounds per domain
    .venv/bin/python -m bench.dns_discovery --rounds 100

Starts the default DNS testbed and the cases testbed on free loopback ports (keys generated and
zones signed as the fixtures do), then runs ``discover`` for c2s and s2s through unbound. Every
round is a fresh scan: the scanner's own caches start empty, unbound's are warm after round one
(cache-max-ttl is 1 s in the testbed, so some rounds refetch). The first round is shown apart.
Last, the same discovery through the two resolvers that deny public names (``tests/testbed/denying_dns.py``):
how soon the scan knows it can learn nothing, and with how many queries.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from scanners.addresses import HostPort
from scanners.base import ServiceKind
from scanners.dns.discovery import DiscoveryOptions, discover
from scanners.dns.facts import Discovery
from scanners.dns.trust_anchors import load_trust_anchors
from tests.testbed.denying_dns import Denial, DenyingResolver
from tests.testbed.dns import DnsTestbed
from tests.testbed.dns_zones import case_zones, default_zones
from tests.testbed.layout import plan_layout
from tests.testbed.ports import PortAllocator

DEFAULT_DOMAINS = ["example.test", "unsigned.test", "bogus.test"]
CASE_DOMAINS = ["nsec3.test", "plain.optout.test", "weighted.cases.test", "alias.cases.test", "nosrv.cases.test"]
SPKI = "00" * 32  # the TLSA data does not matter for timing


def _summary(found: Discovery) -> str:
    endpoints = sum(len(service.endpoints) for service in found.services)
    states = sorted(
        {e.dnssec.srv.state.value for s in found.services for e in s.endpoints if e.dnssec and e.dnssec.srv}
    )
    return f"{endpoints} endpoints, SRV {'/'.join(states) or '-'}"


async def _measure(testbed: DnsTestbed, domain: str, rounds: int, ports: dict[ServiceKind, int]) -> None:
    options = DiscoveryOptions(
        resolver=HostPort(*testbed.resolver),
        trust_anchors=load_trust_anchors(testbed.trust_anchor_path),
        default_ports=ports,
    )
    samples, found = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        found = await discover(domain, options)
        samples.append(time.perf_counter() - started)
    assert found is not None
    stats = found.stats
    by_type = ", ".join(f"{rdtype} {count}" for rdtype, count in stats.queries_by_type.items())
    rest = samples[1:] or samples
    print(
        f"{domain:22} first {samples[0] * 1000:6.1f} ms | median {statistics.median(rest) * 1000:6.1f} ms, "
        f"max {max(rest) * 1000:6.1f} ms | {stats.queries:3} queries ({by_type}) | {_summary(found)}"
    )


async def _measure_denied(resolver: DenyingResolver, anchors: Path, rounds: int) -> None:
    options = DiscoveryOptions(resolver=HostPort(*resolver.address), trust_anchors=load_trust_anchors(anchors))
    samples, found = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        found = await discover("example.test", options)
        samples.append(time.perf_counter() - started)
    assert found is not None
    assert found.resolver_failure is not None
    print(
        f"denied ({resolver.denial.value:8}) median {statistics.median(samples) * 1000:6.1f} ms | "
        f"{found.stats.queries} query | {len(found.services)} services | rcode {found.resolver_failure.rcode}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    ports = PortAllocator()
    layout = plan_layout(ports)
    fallback = {ServiceKind.C2S: layout.strong.c2s, ServiceKind.S2S: layout.strong.s2s}
    with tempfile.TemporaryDirectory() as scratch:
        default = DnsTestbed(
            Path(scratch) / "default",
            default_zones(layout, SPKI),
            authoritative_port=layout.dns_authoritative,
            resolver_port=layout.dns_resolver,
        )
        cases = DnsTestbed(
            Path(scratch) / "cases",
            case_zones(layout, SPKI),
            authoritative_port=ports.take(),
            resolver_port=ports.take(),
        )
        with default, cases:
            print(f"testbed set-up (s): default {default.timings}, cases {cases.timings}")
            print(f"c2s + s2s per domain, {args.rounds} rounds, each a fresh scan through unbound:")
            for testbed, domains in ((default, DEFAULT_DOMAINS), (cases, CASE_DOMAINS)):
                for domain in domains:
                    asyncio.run(_measure(testbed, domain, args.rounds, fallback))
            for denial in Denial:
                workdir = Path(scratch) / f"denying-{denial.value}"
                with DenyingResolver(workdir, denial, port=ports.take(), closed_port=ports.take()) as denying:
                    asyncio.run(_measure_denied(denying, default.trust_anchor_path, args.rounds))


if __name__ == "__main__":
    main()
