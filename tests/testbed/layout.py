"""The testbed's names and ports, fixed before any server starts.

DNS zones need the XMPP servers' ports (SRV) and certificates (TLSA), and the XMPP servers need the
resolver's address, so every port is planned here first and each fixture reads what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.testbed.ports import PortAllocator

#: The XMPP domain every testbed server hosts and every certificate variant is issued for.
DOMAIN = "example.test"
#: The name the scanner uses as its own domain on s2s streams (``from``).
SCANNER_DOMAIN = "scanner.test"
#: A domain no testbed server hosts (for ``host-unknown``).
UNHOSTED_DOMAIN = "nobody.test"


@dataclass(frozen=True)
class XmppPorts:
    c2s: int
    c2s_direct: int
    s2s: int
    s2s_direct: int


@dataclass(frozen=True)
class Layout:
    strong: XmppPorts
    weak: XmppPorts
    dns_authoritative: int
    dns_resolver: int


def _xmpp_ports(ports: PortAllocator) -> XmppPorts:
    c2s, c2s_direct, s2s, s2s_direct = ports.take_many(4)
    return XmppPorts(c2s=c2s, c2s_direct=c2s_direct, s2s=s2s, s2s_direct=s2s_direct)


def plan_layout(ports: PortAllocator) -> Layout:
    return Layout(
        strong=_xmpp_ports(ports),
        weak=_xmpp_ports(ports),
        dns_authoritative=ports.take(),
        dns_resolver=ports.take(),
    )
