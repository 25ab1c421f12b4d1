"""The address policy: which addresses a scan may connect to.

A public grading site opens connections to any address a stranger's DNS names, so in public mode every
connection is checked, at connect time and for the very address dialled (a rebinding resolver cannot
slip a private address in after an earlier check), against the IANA special-purpose registries
(RFC 6890 and successors). The standard library's ``is_global`` covers most of them; the embedded
forms it misses (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo carrying a non-global IPv4) and the
deprecated ranges it still calls global (site-local, 6to4 relay anycast) are handled here. An
operator may add networks to refuse or to allow (their own monitoring) on top.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressRefused(ConnectionError):
    """The policy refuses a connection to this address; the message says why."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"{address} is refused by the address policy: {reason}")
        self.address = address
        self.reason = reason


def _net(text: str) -> IPNetwork:
    return ipaddress.ip_network(text)


#: Named special-purpose ranges, most specific first, for a reason a person understands. Anything else
#: that is not global is refused as "not globally reachable" (the registries' other entries).
SPECIAL_RANGES: tuple[tuple[IPNetwork, str], ...] = tuple(
    sorted(
        (
            (_net(network), name)
            for network, name in (
                ("0.0.0.0/8", "'this network' (RFC 791)"),
                ("10.0.0.0/8", "private-use (RFC 1918)"),
                ("100.64.0.0/10", "shared address space / CGNAT (RFC 6598)"),
                ("127.0.0.0/8", "loopback (RFC 1122)"),
                ("169.254.0.0/16", "link-local (RFC 3927)"),
                ("172.16.0.0/12", "private-use (RFC 1918)"),
                ("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),
                ("192.0.2.0/24", "documentation, TEST-NET-1 (RFC 5737)"),
                ("192.88.99.0/24", "deprecated 6to4 relay anycast (RFC 7526)"),
                ("192.168.0.0/16", "private-use (RFC 1918)"),
                ("198.18.0.0/15", "benchmarking (RFC 2544)"),
                ("198.51.100.0/24", "documentation, TEST-NET-2 (RFC 5737)"),
                ("203.0.113.0/24", "documentation, TEST-NET-3 (RFC 5737)"),
                ("224.0.0.0/4", "multicast (RFC 5771)"),
                ("240.0.0.0/4", "reserved (RFC 1112)"),
                ("255.255.255.255/32", "limited broadcast (RFC 919)"),
                ("::/128", "unspecified address (RFC 4291)"),
                ("::1/128", "loopback (RFC 4291)"),
                ("::/96", "deprecated IPv4-compatible address (RFC 4291)"),
                ("64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"),
                ("100::/64", "discard-only (RFC 6666)"),
                ("2001:db8::/32", "documentation (RFC 3849)"),
                ("3fff::/20", "documentation (RFC 9637)"),
                ("5f00::/16", "segment routing SIDs (RFC 9602)"),
                ("fc00::/7", "unique local (RFC 4193)"),
                ("fe80::/10", "link-local (RFC 4291)"),
                ("fec0::/10", "deprecated site-local (RFC 3879)"),
                ("ff00::/8", "multicast (RFC 4291)"),
            )
        ),
        key=lambda item: -item[0].prefixlen,
    )
)

IPV4_MAPPED = _net("::ffff:0:0/96")
NAT64 = _net("64:ff9b::/96")
SIX_TO_FOUR = _net("2002::/16")
TEREDO = _net("2001::/32")


def _embedded(address: ipaddress.IPv6Address) -> tuple[str, list[ipaddress.IPv4Address]] | None:
    """The IPv4 addresses an IPv6 address carries and the form that carries them, if any."""
    if address in IPV4_MAPPED:
        return "IPv4-mapped", [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address in NAT64:
        return "NAT64 (RFC 6052)", [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address in SIX_TO_FOUR:
        return "6to4 (RFC 3056)", [ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF)]
    if address in TEREDO and address.teredo is not None:
        server, client = address.teredo
        return "Teredo (RFC 4380)", [server, client]
    return None


def special_purpose(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address (None when it is)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded(address)
        if embedded is not None:
            form, inner = embedded
            for ipv4 in inner:
                reason = special_purpose(ipv4)
                if reason is not None:
                    return f"{form} address carrying {ipv4}, which is {reason}"
            # The carried IPv4 addresses are public: the IPv6 form reaches the same public hosts.
            return None
    for network, name in SPECIAL_RANGES:
        if address.version == network.version and address in network:
            return name
    if not address.is_global:
        return "not globally reachable (IANA special-purpose registry)"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """What a scan may connect to. The default allows everything (an admin scanning their own LAN)."""

    #: Refuse every address that is not public unicast (the website's public mode).
    public_only: bool = False
    #: Always refused, whatever else says (checked first).
    deny: tuple[IPNetwork, ...] = ()
    #: Allowed even in public mode (an operator's own servers).
    allow: tuple[IPNetwork, ...] = ()

    @property
    def restricts(self) -> bool:
        return self.public_only or bool(self.deny)

    def refusal(self, address: str) -> str | None:
        """Why a connection to ``address`` is refused; None when it is allowed."""
        try:
            ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
        except ValueError:
            # Only literal addresses are dialled under a policy: a name would be resolved by the system,
            # out of the policy's sight.
            return "not an IP address" if self.restricts else None
        for network in self.deny:
            if ip.version == network.version and ip in network:
                return f"in the operator's denied network {network}"
        for network in self.allow:
            if ip.version == network.version and ip in network:
                return None
        if self.public_only:
            return special_purpose(ip)
        return None

    def check(self, address: str) -> None:
        """Raise AddressRefused when the policy refuses ``address``."""
        reason = self.refusal(address)
        if reason is not None:
            raise AddressRefused(address, reason)


def parse_networks(texts: list[str] | tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """CIDR networks (``10.1.0.0/16``, ``2001:db8::/32``) or single addresses; ValueError says which."""
    networks = []
    for text in texts:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP network (e.g. 10.1.0.0/16 or 2001:db8::/32)") from None
    return tuple(networks)
