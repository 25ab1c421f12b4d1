"""Port allocation for the testbed: a configurable base, every port probed free before use.

Other processes on the machine may hold ports, so nothing here assumes a fixed number is free.
A port is handed out only if TCP and UDP can both bind it on 127.0.0.1 and on ::1, because
DNS servers need both protocols and every server listens on both loopback addresses.

Ports in the kernel's ephemeral range are never handed out: a port probed free there can be taken as
the source port of any outgoing connection (ours included) before the server that was planned on it
binds, and the server then fails to start.
"""

from __future__ import annotations

import os
import socket
import threading

DEFAULT_BASE = 20000
PORT_BASE_ENV = "OBSERVATORY_TEST_PORT_BASE"
#: Without an explicit base, each test run starts in its own slice above DEFAULT_BASE (chosen by
#: process id), so two runs started at once do not race for the same ports between probe and bind.
#: 24 slices of 512 end at 32288, below Linux's default ephemeral range (32768–60999).
_SLICES = 24
_SLICE_SIZE = 512
_HIGHEST = 65000
_EPHEMERAL_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"


def ephemeral_range() -> range:
    """The kernel's range for outgoing connections' source ports (Linux's default when unknown)."""
    try:
        with open(_EPHEMERAL_RANGE_FILE) as handle:
            low, high = (int(field) for field in handle.read().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


def _bindable(family: int, kind: int, host: str, port: int) -> bool:
    try:
        with socket.socket(family, kind) as sock:
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((host, port))
    except OSError:
        return False
    return True


def is_free(port: int) -> bool:
    """True when TCP and UDP can bind ``port`` on both loopback addresses right now."""
    return all(
        _bindable(family, kind, host, port)
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1"))
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM)
    )


class PortAllocator:
    """Hands out distinct free ports, scanning upwards from a base."""

    def __init__(self, base: int | None = None) -> None:
        if base is None:
            configured = os.environ.get(PORT_BASE_ENV)
            base = int(configured) if configured else DEFAULT_BASE + (os.getpid() % _SLICES) * _SLICE_SIZE
        if not 1024 <= base < _HIGHEST:
            raise ValueError(f"{PORT_BASE_ENV} must be between 1024 and {_HIGHEST}, not {base}")
        self._next = base
        self._ephemeral = ephemeral_range()
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            while self._next < _HIGHEST:
                port = self._next
                self._next += 1
                if port in self._ephemeral:
                    self._next = self._ephemeral.stop
                    continue
                if is_free(port):
                    return port
        raise RuntimeError("no free loopback port left above the testbed's port base")

    def take_many(self, count: int) -> list[int]:
        return [self.take() for _ in range(count)]
