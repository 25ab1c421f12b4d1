"""Fixtures for the scripted XMPP servers (loaded as a pytest plugin by tests/conftest.py)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import pytest

from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator
from tests.testbed.scripted_xmpp import Script, ScriptedServer, server_context

TlsContextFactory = Callable[..., ssl.SSLContext]


@pytest.fixture(scope="session")
def scripted_tls(pki: TestPKI) -> TlsContextFactory:
    """``scripted_tls(alpn=[…], sni=[])``: a server context presenting the ``good`` leaf."""

    def make(alpn: list[str] | None = None, sni: list[str] | None = None) -> ssl.SSLContext:
        return server_context(pki.leaf("good"), alpn=alpn, sni=sni)

    return make


class ScriptedServers:
    """``await scripted(script, tls=None)`` starts a server on a fresh loopback port."""

    def __init__(self, ports: PortAllocator, stack: AsyncExitStack) -> None:
        self._ports = ports
        self._stack = stack

    async def __call__(self, script: Script, *, tls: ssl.SSLContext | None = None) -> ScriptedServer:
        return await self._stack.enter_async_context(ScriptedServer(script, self._ports.take(), tls=tls))


@pytest.fixture
async def scripted(ports: PortAllocator) -> AsyncIterator[ScriptedServers]:
    """Scripted servers for one test; all are stopped (and their handlers reaped) afterwards."""
    async with AsyncExitStack() as stack:
        yield ScriptedServers(ports, stack)
