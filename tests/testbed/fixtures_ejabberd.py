"""ejabberd fixtures (loaded as a pytest plugin by tests/conftest.py).

Ports come from the run's allocator rather than the layout: no DNS zone points at ejabberd, and
a port taken between planning and start can then simply be replaced (``start_ejabberd``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testbed.ejabberd import WEAK_KNOBS, EjabberdFactory, EjabberdInstance, start_ejabberd
from tests.testbed.layout import Layout
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator


@pytest.fixture(scope="session")
def ejabberd_strong(
    testbed_root: Path, ports: PortAllocator, layout: Layout, pki: TestPKI
) -> Iterator[EjabberdInstance]:
    """TLS 1.2+ with Mozilla's intermediate suites, STARTTLS required on c2s and s2s, SCRAM storage, ``good`` cert."""
    instance = start_ejabberd(testbed_root / "ejabberd", ports, "strong", pki.leaf("good"), layout.dns_resolver)
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="session")
def ejabberd_weak(testbed_root: Path, ports: PortAllocator, layout: Layout, pki: TestPKI) -> Iterator[EjabberdInstance]:
    """TLS 1.0+ with CBC-SHA suites, optional STARTTLS on c2s and s2s, PLAIN before TLS, plaintext storage."""
    instance = start_ejabberd(
        testbed_root / "ejabberd", ports, "weak", pki.leaf("good"), layout.dns_resolver, **WEAK_KNOBS
    )
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def ejabberd_factory(
    testbed_root: Path, ports: PortAllocator, layout: Layout, pki: TestPKI
) -> Iterator[EjabberdFactory]:
    """``ejabberd_factory(name, **knobs)`` starts a variant on fresh ports; all are stopped afterwards."""
    factory = EjabberdFactory(testbed_root / "ejabberd", ports, pki.leaf("good"), layout.dns_resolver)
    try:
        yield factory
    finally:
        factory.stop_all()
