"""Fixture for the testbed's certificates (loaded as a pytest plugin by tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.testbed.pki import TestPKI


@pytest.fixture(scope="session")
def pki(testbed_root: Path) -> TestPKI:
    """Root and intermediate CA for this run; ``pki.leaf(name)`` builds a leaf variant on first use."""
    return TestPKI.create(testbed_root / "pki")
