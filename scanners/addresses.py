"""``HOST[:PORT]`` arguments (``--resolver``, later ``--connect``)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


class AddressError(ValueError):
    """The text is not a usable ``HOST[:PORT]``; the message says why."""


@dataclass(frozen=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _port(text: str, original: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise AddressError(f"{original!r}: the port must be a number from 1 to 65535")
    return int(text)


def parse_host_port(text: str, default_port: int, *, require_ip: bool = False) -> HostPort:
    """Parse ``host``, ``host:port``, ``IPv6``, ``[IPv6]`` or ``[IPv6]:port``."""
    value = text.strip()
    if value.startswith("["):
        inside, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise AddressError(f"{text!r}: write an IPv6 address with a port as [2001:db8::1]:53")
        host, port = inside, _port(rest[1:], text) if rest else default_port
    elif value.count(":") > 1:
        host, port = value, default_port
    else:
        host, _, port_text = value.partition(":")
        port = _port(port_text, text) if port_text else default_port
    if not host:
        raise AddressError(f"{text!r}: the host is missing")
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        if require_ip or ":" in host:
            raise AddressError(f"{text!r}: {host!r} is not an IP address") from None
    return HostPort(host=host, port=port)
