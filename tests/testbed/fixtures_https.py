"""Fixtures for the scripted web server (loaded as a pytest plugin by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.testbed.https_server import HttpsServerPool, HttpsTestServer
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator


@pytest.fixture(scope="session")
def https_servers(pki: TestPKI, ports: PortAllocator) -> Iterator[HttpsServerPool]:
    """``https_servers.get(leaf_name)``: a web server presenting that test-PKI leaf, started on first use."""
    pool = HttpsServerPool(pki, ports)
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture
def https_server(https_servers: HttpsServerPool) -> HttpsTestServer:
    """The web server with the ``good`` certificate (example.test, xmpp.example.test), routes emptied."""
    server = https_servers.get("good")
    server.reset()
    return server
