"""Prosody fixtures (loaded as a pytest plugin by tests/conftest.py).

The instances only point at the testbed resolver's address; they do not need it to be running
until a test makes Prosody resolve a name (s2s dialback, outgoing s2s).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testbed.dns_zones import WEAK_DOMAIN
from tests.testbed.layout import Layout, XmppPorts
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator
from tests.testbed.prosody import WEAK_KNOBS, ProsodyConfig, ProsodyFactory, ProsodyInstance


def _strong_config(name: str, ports: XmppPorts, pki: TestPKI, layout: Layout) -> ProsodyConfig:
    return ProsodyConfig(name=name, ports=ports, leaf=pki.leaf("good"), dns_resolver_port=layout.dns_resolver)


def _run(testbed_root: Path, config: ProsodyConfig) -> Iterator[ProsodyInstance]:
    with ProsodyInstance(config, testbed_root / "prosody" / config.name) as instance:
        yield instance


@pytest.fixture(scope="session")
def prosody_strong(testbed_root: Path, layout: Layout, pki: TestPKI) -> Iterator[ProsodyInstance]:
    """TLS 1.2+ (intermediate profile), STARTTLS required on c2s and s2s, hashed passwords, ``good`` cert."""
    yield from _run(testbed_root, _strong_config("strong", layout.strong, pki, layout))


@pytest.fixture(scope="session")
def prosody_weak(testbed_root: Path, layout: Layout, pki: TestPKI) -> Iterator[ProsodyInstance]:
    """TLS 1.0+ with CBC-SHA suites and server preference, optional STARTTLS, PLAIN before TLS."""
    # It also hosts weak.example.test, the domain whose SRV records (tests/testbed/dns_zones.py) point here.
    config = dataclasses.replace(
        _strong_config("weak", layout.weak, pki, layout), **WEAK_KNOBS, extra_hosts=(WEAK_DOMAIN,)
    )
    yield from _run(testbed_root, config)


@pytest.fixture
def prosody_factory(testbed_root: Path, ports: PortAllocator, layout: Layout, pki: TestPKI) -> Iterator[ProsodyFactory]:
    """``prosody_factory(name, **knobs)`` starts a variant on fresh ports; all are stopped afterwards."""
    factory = ProsodyFactory(testbed_root / "prosody", ports, pki.leaf("good"), layout.dns_resolver)
    try:
        yield factory
    finally:
        factory.stop_all()
