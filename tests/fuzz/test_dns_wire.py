"""Fuzzing DNS answers on the wire: a loopback resolver (UDP and TCP on one port) answers the real
client from the signed tree of ``test_dns_validation`` and mutates every reply's bytes (the message
id kept, so the client takes the reply as its answer). The client turns whatever arrives into a
``Reply`` (a message, or an error text) and the validator, fed by it, ends every lookup with a
verdict: nothing raised, nothing hanging."""

from __future__ import annotations

import asyncio
import functools
import random
from dataclasses import dataclass, field

import dns.exception
import dns.message
import dns.name
import dns.rdatatype
from hypothesis import given
from hypothesis import strategies as st

from scanners.addresses import HostPort
from scanners.dns.client import DnsClient, Reply
from scanners.dns.validator import Validator
from tests.fuzz.profiles import fuzz
from tests.fuzz.test_dns_validation import NAMES, TYPES, anchors, base, scripts
from tests.testbed.ports import PortAllocator
from tests.unit.dns.zonekit import NOW, ScriptedResolver

HOST = "127.0.0.1"
#: Client timeout per question (a mutated reply the client ignores costs this much).
TIMEOUT = 0.5
BOUND_SECONDS = 20.0
WEIGHT = 0.25


def mutate(wire: bytes, rng: random.Random) -> bytes:
    """A few bytes flipped, inserted or deleted after the 2-byte id; sometimes truncated."""
    body = bytearray(wire[2:])
    for _ in range(rng.randint(0, 4)):
        position = rng.randrange(len(body) + 1)
        roll = rng.random()
        if roll < 0.5 and position < len(body):
            body[position] = rng.randrange(256)
        elif roll < 0.75:
            del body[position : position + rng.randint(1, 8)]
        else:
            body[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
    if rng.random() < 0.2:
        del body[rng.randrange(len(body) + 1) :]
    return wire[:2] + bytes(body)


@functools.cache
def resolver_port() -> int:
    """One testbed port (free for UDP and TCP, outside the ephemeral range), reused by every example."""
    return PortAllocator().take()


@dataclass
class MutatingResolver:
    """Answers from ``script`` (as the scripted resolver would), then mutates the bytes."""

    script: ScriptedResolver
    rng: random.Random
    answered: int = 0
    _transports: list[asyncio.BaseTransport] = field(default_factory=list)

    def reply(self, data: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        question = query.question[0]
        scripted = self.script.answers.get((question.name, question.rdtype), Reply(error="refuse"))
        response = dns.message.make_response(query)
        if scripted.message is None:
            response.set_rcode(dns.rcode.SERVFAIL)
        else:
            response.set_rcode(scripted.message.rcode())
            response.answer.extend(scripted.message.answer)
            response.authority.extend(scripted.message.authority)
        self.answered += 1
        return mutate(response.to_wire(), self.rng)

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        port = resolver_port()
        resolver = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                answer = resolver.reply(data)
                if answer is not None:
                    self.transport.sendto(answer, addr)  # type: ignore[attr-defined]

        transport, _ = await loop.create_datagram_endpoint(Udp, local_addr=(HOST, port))
        self._transports.append(transport)

        async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                length = int.from_bytes(await reader.readexactly(2), "big")
                answer = self.reply(await reader.readexactly(length))
                if answer is not None:
                    # The length prefix may lie too: it is part of what a hostile resolver controls.
                    prefix = len(answer) if self.rng.random() < 0.8 else self.rng.randrange(65536)
                    writer.write(prefix.to_bytes(2, "big") + answer)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(tcp, HOST, port)
        self._server = server
        return port

    async def stop(self) -> None:
        for transport in self._transports:
            transport.close()
        self._server.close()
        await self._server.wait_closed()
        await asyncio.sleep(0)  # a transport closes on the next turn of the loop: then the port is free again


@fuzz(WEIGHT)
@given(scripts(), st.integers(0, 2**32 - 1), st.sampled_from(NAMES), st.sampled_from(TYPES))
def test_mutated_wire_answers_end_every_lookup(script: ScriptedResolver, seed: int, qname: str, qtype: str) -> None:
    # A seeded Random, not hypothesis' randoms(): the server draws in its own callbacks, outside the
    # test's flow, where hypothesis cannot stop an example.
    async def run() -> None:
        resolver = MutatingResolver(script, random.Random(seed))
        port = await resolver.start()
        client = DnsClient([HostPort(HOST, port)], timeout=TIMEOUT, attempts=1, time_limit=BOUND_SECONDS / 2)
        try:
            # The client alone: a reply or an error text, never an exception.
            reply = await client.query(dns.name.from_text(qname), dns.rdatatype.from_text(qtype))
            assert (reply.message is None) != (reply.error is None)
            validator = Validator(client, anchors(), now=lambda: NOW)
            answer = await validator.lookup(dns.name.from_text(qname), dns.rdatatype.from_text(qtype))
            assert len(answer.verdict.reason or "") < 2000
        finally:
            client.close()
            await resolver.stop()

    asyncio.run(asyncio.wait_for(run(), BOUND_SECONDS))


def test_an_unmutated_resolver_gives_the_scripted_answers() -> None:
    # The harness itself: with no mutation the client reads back exactly what the script says.
    class Still(random.Random):
        def randint(self, a: int, b: int) -> int:
            return 0

        def random(self) -> float:
            return 0.99

    async def run() -> Reply:
        resolver = MutatingResolver(base(), Still())
        port = await resolver.start()
        client = DnsClient([HostPort(HOST, port)], timeout=2.0, attempts=1)
        try:
            return await client.query(dns.name.from_text("a.ex.test."), dns.rdatatype.A)
        finally:
            client.close()
            await resolver.stop()

    reply = asyncio.run(run())
    assert reply.message is not None
    assert [rrset.to_text() for rrset in reply.message.answer] == [
        rrset.to_text()
        for rrset in base().answers[(dns.name.from_text("a.ex.test."), dns.rdatatype.A)].message.answer  # type: ignore[union-attr]
    ]
