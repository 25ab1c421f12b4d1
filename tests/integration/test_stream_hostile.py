"""Hostile servers: each ends in one clear error fact before the deadline, having read only a bounded amount."""

from __future__ import annotations

import pytest

from scanners.base import ErrorReason, ServiceKind, Transport
from scanners.connection import Deadline, Endpoint, Limiter
from scanners.stream.facts import InjectionOutcome
from scanners.stream.prober import probe_stream
from tests.testbed.fixtures_scripted_xmpp import ScriptedServers
from tests.testbed.layout import DOMAIN
from tests.testbed.scripted_xmpp import (
    Script,
    billion_laughs,
    close_mid_starttls,
    deep_nesting,
    endless_header,
    garbage,
    huge_features,
    one_byte_per_second,
    reset_after_client_hello,
)

pytestmark = pytest.mark.integration

#: What the server may have pushed into socket buffers before we stopped reading, far below its 50 MB.
BUFFERED = 16 * 1024 * 1024


@pytest.mark.parametrize(
    ("script", "phase", "reason", "message"),
    [
        (billion_laughs, "header", ErrorReason.HOSTILE_INPUT, "DOCTYPE"),
        (endless_header, "header", ErrorReason.HOSTILE_INPUT, "stream header exceeded 262144 bytes"),
        (one_byte_per_second, "header", ErrorReason.TIMEOUT, "deadline"),
        (huge_features, "features", ErrorReason.HOSTILE_INPUT, "element exceeded 262144 bytes"),
        (garbage, "header", ErrorReason.PROTOCOL, "not well-formed"),
        (deep_nesting, "features", ErrorReason.HOSTILE_INPUT, "nested deeper than 16"),
        (close_mid_starttls(after_proceed=False), "starttls", ErrorReason.PROTOCOL, "closed"),
        (close_mid_starttls(after_proceed=True), "tls-handshake", ErrorReason.TLS, "closed"),
        (reset_after_client_hello(), "tls-handshake", ErrorReason.TLS, "reset"),
    ],
    ids=[
        "billion-laughs",
        "endless-header",
        "one-byte-per-second",
        "50MB-features",
        "garbage",
        "deep-nesting",
        "close-before-proceed",
        "close-after-proceed",
        "reset-after-client-hello",
    ],
)
async def test_a_hostile_server_ends_in_one_clear_error(
    scripted: ScriptedServers, script: Script, phase: str, reason: ErrorReason, message: str
) -> None:
    server = await scripted(script)
    endpoint = Endpoint(ServiceKind.C2S, DOMAIN, "127.0.0.1", server.port, Transport.STARTTLS)

    facts = await probe_stream(endpoint, Limiter(), Deadline.after(2.5))

    main_error = facts.errors[0]
    assert (main_error.phase, main_error.reason) == (phase, reason)
    assert message in main_error.message
    assert server.failures == []
    assert all(peer.sent < BUFFERED for peer in server.peers)  # we stopped reading long before 50 MB


async def test_a_reset_during_the_handshake_is_a_tls_failure_in_every_probe(scripted: ScriptedServers) -> None:
    """A TCP reset right after our ClientHello is the same fact as a hang-up: the handshake failed.

    It must not escape the probe that met it (the STARTTLS injection probe reported it as its own
    error instead of an outcome).
    """
    server = await scripted(reset_after_client_hello())
    endpoint = Endpoint(ServiceKind.C2S, DOMAIN, "127.0.0.1", server.port, Transport.STARTTLS)

    facts = await probe_stream(endpoint, Limiter(), Deadline.after(2.5))

    assert [(error.phase, error.reason) for error in facts.errors] == [("tls-handshake", ErrorReason.TLS)]
    assert facts.injection is not None
    assert facts.injection.outcome is InjectionOutcome.TLS_FAILED
    assert facts.injection.evidence is not None
    assert "reset" in facts.injection.evidence
    assert server.failures == []
