"""The legacy ``_xmppconnect`` TXT record, through the lookup the DNS prober provides."""

from __future__ import annotations

from scanners.base import ErrorReason
from scanners.http.facts import ConnectionMethod
from scanners.http.probe import xmppconnect_facts


async def test_xmppconnect_records_come_from_the_given_lookup() -> None:
    asked: list[str] = []

    async def lookup(name: str) -> list[str | bytes]:
        asked.append(name)
        return ["_xmpp-client-xbosh=https://example.test/bosh", b"_xmpp-client-websocket=ws://example.test/ws"]

    facts = await xmppconnect_facts("example.test.", lookup)
    assert asked == ["_xmppconnect.example.test"]
    assert [(record.method, record.secure) for record in facts.records] == [
        (ConnectionMethod.BOSH, True),
        (ConnectionMethod.WEBSOCKET, False),
    ]

    async def failing(name: str) -> list[str]:
        raise TimeoutError(f"{name}: resolver timed out")

    failed = await xmppconnect_facts("example.test", failing)
    assert failed.records == []
    assert failed.error is not None
    assert failed.error.reason is ErrorReason.DNS
