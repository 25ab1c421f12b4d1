"""Shared fixtures. Testbed fixtures live in ``tests/testbed/fixtures_*.py`` and are loaded here."""

from __future__ import annotations

import pkgutil
from pathlib import Path

import pytest

from tests.testbed import __path__ as _testbed_path
from tests.testbed.layout import Layout, plan_layout
from tests.testbed.ports import PortAllocator

pytest_plugins = sorted(
    f"tests.testbed.{mod.name}" for mod in pkgutil.iter_modules(_testbed_path) if mod.name.startswith("fixtures_")
)


@pytest.fixture(scope="session")
def testbed_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scratch folder per test run for every testbed server's files."""
    return tmp_path_factory.mktemp("testbed")


@pytest.fixture(scope="session")
def ports() -> PortAllocator:
    """Free loopback ports from ``OBSERVATORY_TEST_PORT_BASE`` (default: a per-run slice above 20000) upwards."""
    return PortAllocator()


@pytest.fixture(scope="session")
def layout(ports: PortAllocator) -> Layout:
    """Every testbed port, planned before any server starts."""
    return plan_layout(ports)
