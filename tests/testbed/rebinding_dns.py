"""A lying resolver for the address policy's tests: it answers the first address query for a name with
one address and every later one with another (DNS rebinding), with TTL 0 so nothing caches.

It serves a whole made-up domain by itself (SRV → target, A → the rebinding answer) and refuses every
other question, on a loopback UDP port — except the root's DNSKEY, which it answers as a resolver that
strips DNSSEC would (a key without signatures): a resolver that refuses even that cannot resolve public
names, and the scan stops there. The scanner's validation finds the root keys unsigned and carries on
(an unvalidated domain is still scanned).
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

#: A made-up root key (ECDSA P-256 sized); it matches no trust anchor and nothing checks it.
_ROOT_KEY = "257 3 13 " + "A" * 88


class RebindingResolver(asyncio.DatagramProtocol):
    def __init__(self, domain: str, port: int, *, xmpp_port: int, first: str, later: str) -> None:
        self.domain = dns.name.from_text(domain)
        self.target = dns.name.from_text(f"xmpp.{domain}")
        self.port = port
        self.xmpp_port = xmpp_port
        self.first = first
        self.later = later
        #: Address answers given so far, in order.
        self.answers: list[str] = []
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags &= ~dns.flags.AA
        question = query.question[0]
        name, rdtype = question.name, question.rdtype
        if name == dns.name.from_text("_xmpp-client._tcp", self.domain) and rdtype == dns.rdatatype.SRV:
            text = f"0 0 {self.xmpp_port} {self.target}"
            response.answer.append(dns.rrset.from_text(name, 0, dns.rdataclass.IN, dns.rdatatype.SRV, text))
        elif name == self.target and rdtype == dns.rdatatype.A:
            address = self.first if not self.answers else self.later
            self.answers.append(address)
            response.answer.append(dns.rrset.from_text(name, 0, dns.rdataclass.IN, dns.rdatatype.A, address))
        elif name == dns.name.root and rdtype == dns.rdatatype.DNSKEY:
            response.answer.append(dns.rrset.from_text(name, 0, dns.rdataclass.IN, dns.rdatatype.DNSKEY, _ROOT_KEY))
        elif name.is_subdomain(self.domain) and rdtype in (dns.rdatatype.AAAA, dns.rdatatype.SRV, dns.rdatatype.TXT):
            pass  # NOERROR, no data
        else:
            response.set_rcode(dns.rcode.REFUSED)
        return response

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            query = dns.message.from_wire(data)
        except Exception:
            return
        if query.question and self._transport is not None:
            self._transport.sendto(self._answer(query).to_wire(), addr)

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=("127.0.0.1", self.port))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._transport is not None:
            self._transport.close()
