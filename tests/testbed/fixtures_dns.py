"""Fixtures for the testbed's DNS: named + unbound with a signed ``test.`` tree (a pytest plugin).

``dns_testbed`` is the shared, session-wide layout of :func:`default_zones`; ``dns_cases`` a second
session-wide pair serving :func:`case_zones` (NSEC3, opt-out, expired and not-yet-valid signatures,
DS mismatch, stripped signatures, aliases, ``.`` targets, weights, no SRV, wildcards);
``dns_factory`` builds private named + unbound pairs from any zones, for tests that need their own;
``denying_resolvers`` are two unbound that deny public names (NXDOMAIN for the root, REFUSED).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

import pytest

from tests.testbed.denying_dns import Denial, DenyingResolver
from tests.testbed.dns import DnsTestbed, ZoneSpec, default_zones
from tests.testbed.dns_zones import case_zones
from tests.testbed.layout import Layout
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator
from tests.testbed.process import start_on_fresh_ports

log = logging.getLogger(__name__)
_PORT_ATTEMPTS = 3


class DnsFactory(Protocol):
    """Builds and starts a private DNS testbed on fresh ports; ``parent`` defaults to a plain ``test.``."""

    def __call__(self, zones: Sequence[ZoneSpec], parent: ZoneSpec | None = None) -> DnsTestbed: ...


@pytest.fixture(scope="session")
def dns_tlsa_spki_sha256(pki: TestPKI) -> str:
    """The SPKI SHA-256 the matching TLSA records pin: that of the ``good`` leaf the strong server serves."""
    return pki.leaf("good").spki_sha256


@pytest.fixture(scope="session")
def dns_zones(layout: Layout, dns_tlsa_spki_sha256: str) -> list[ZoneSpec]:
    """The default zones (``example.test``, ``bogus.test``, ``unsigned.test``, ``scanner.test``)."""
    return default_zones(layout, dns_tlsa_spki_sha256)


@pytest.fixture(scope="session")
def dns_testbed(testbed_root: Path, layout: Layout, dns_zones: list[ZoneSpec]) -> Iterator[DnsTestbed]:
    """named on ``layout.dns_authoritative`` and unbound on ``layout.dns_resolver``, serving ``dns_zones``."""
    testbed = DnsTestbed(
        testbed_root / "dns",
        dns_zones,
        authoritative_port=layout.dns_authoritative,
        resolver_port=layout.dns_resolver,
    )
    with testbed:
        yield testbed
    log.info("DNS testbed timings (s): %s", {k: round(v, 3) for k, v in testbed.timings.items()})


def _start(workdir: Path, zones: Sequence[ZoneSpec], ports: PortAllocator, parent: ZoneSpec | None) -> DnsTestbed:
    return start_on_fresh_ports(
        lambda attempt: DnsTestbed(
            workdir / f"try{attempt}",
            zones,
            authoritative_port=ports.take(),
            resolver_port=ports.take(),
            parent=parent,
        ),
        attempts=_PORT_ATTEMPTS,
    )


@pytest.fixture(scope="session")
def dns_cases(
    testbed_root: Path, ports: PortAllocator, layout: Layout, dns_tlsa_spki_sha256: str
) -> Iterator[DnsTestbed]:
    """named + unbound serving :func:`case_zones` on their own ports, for the whole session."""
    testbed = _start(testbed_root / "dns-cases", case_zones(layout, dns_tlsa_spki_sha256), ports, None)
    try:
        yield testbed
    finally:
        testbed.stop()
    log.info("DNS cases testbed timings (s): %s", {k: round(v, 3) for k, v in testbed.timings.items()})


@pytest.fixture
def dns_factory(tmp_path: Path, ports: PortAllocator) -> Iterator[DnsFactory]:
    """A builder of extra named + unbound pairs on fresh ports; all are stopped when the test ends."""
    built: list[DnsTestbed] = []

    def build(zones: Sequence[ZoneSpec], parent: ZoneSpec | None = None) -> DnsTestbed:
        testbed = _start(tmp_path / f"dns{len(built)}", zones, ports, parent)
        built.append(testbed)
        return testbed

    yield build
    for testbed in built:
        testbed.stop()


@pytest.fixture(scope="session")
def denying_resolvers(testbed_root: Path, ports: PortAllocator) -> Iterator[dict[Denial, DenyingResolver]]:
    """One running :class:`DenyingResolver` per kind of denial, for the whole session."""
    started: dict[Denial, DenyingResolver] = {}
    try:
        for denial in Denial:
            resolver = DenyingResolver(
                testbed_root / f"denying-{denial.value}", denial, port=ports.take(), closed_port=ports.take()
            )
            resolver.start()
            started[denial] = resolver
        yield started
    finally:
        for resolver in started.values():
            resolver.stop()
