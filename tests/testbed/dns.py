"""The DNS half of the loopback testbed: a signed ``test.`` tree served by BIND and validated by unbound.

One ``named -g`` serves every zone (authoritative only) and one ``unbound -d`` validates with the
testbed's own trust anchor, both on 127.0.0.1 and ::1. Zones are data (:mod:`tests.testbed.dns_zones`),
signed with fresh keys at set-up (:mod:`tests.testbed.dns_signing`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from string import Template

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from tests.testbed.dns_signing import BuiltZones, build_zones
from tests.testbed.dns_zones import (
    LOOPBACK,
    PARENT,
    Nsec3,
    Tamper,
    ZoneSpec,
    default_zones,
    replace_rdata,
)
from tests.testbed.process import ManagedProcess, PortInUse, StartsAndStops, TestbedError, tcp_ready

__all__ = [
    "LOOPBACK",
    "PARENT",
    "DnsTestbed",
    "Nsec3",
    "PortInUse",
    "Tamper",
    "ZoneSpec",
    "ask",
    "default_zones",
    "replace_rdata",
]

TEMPLATES = Path(__file__).with_name("templates")


# named: "creating TCP socket: address in use" / "creating IPv4 interface lo failed; interface ignored";
# unbound: "can't bind socket: Address already in use".
_CLASH = re.compile(r"address (already )?in use|interface ignored", re.IGNORECASE)


def ask(
    server: tuple[str, int],
    name: str,
    rdtype: str | dns.rdatatype.RdataType,
    *,
    checking_disabled: bool = False,
    recursion: bool = True,
    timeout: float = 2.0,
) -> dns.message.Message:
    """One DNSSEC-aware query (DO set) to ``server``; falls back to TCP when the UDP answer is truncated."""
    query = dns.message.make_query(name, rdtype, want_dnssec=True, use_edns=0, payload=1232)
    if checking_disabled:
        query.flags |= dns.flags.CD
    if not recursion:
        query.flags &= ~dns.flags.RD
    response, _ = dns.query.udp_with_fallback(query, server[0], timeout=timeout, port=server[1])
    return response


class DnsTestbed(StartsAndStops):
    """named + unbound for one set of zones; ``start()``/``stop()`` or use it as a context manager.

    ``authoritative`` and ``resolver`` are (host, port) on 127.0.0.1; the same ports answer on ::1
    (``authoritative_v6``/``resolver_v6``). ``trust_anchor_path`` is a ``dsset-test.`` file, the
    format both unbound and the scanner's ``--trust-anchor`` read.
    """

    def __init__(
        self,
        workdir: Path,
        zones: Sequence[ZoneSpec],
        *,
        authoritative_port: int,
        resolver_port: int,
        parent: ZoneSpec | None = None,
    ) -> None:
        self.workdir = workdir
        self.zones = tuple(zones)
        self.parent = parent
        self.authoritative = (LOOPBACK[0], authoritative_port)
        self.authoritative_v6 = (LOOPBACK[1], authoritative_port)
        self.resolver = (LOOPBACK[0], resolver_port)
        self.resolver_v6 = (LOOPBACK[1], resolver_port)
        self.timings: dict[str, float] = {}
        self._built: BuiltZones | None = None
        self._named: ManagedProcess | None = None
        self._unbound: ManagedProcess | None = None

    @property
    def trust_anchor_path(self) -> Path:
        return self._require_built().trust_anchor_path

    @property
    def zone_files(self) -> dict[str, Path]:
        """Zone name (no trailing dot) → the file named serves: signed, and tampered where asked."""
        return dict(self._require_built().zone_files)

    @property
    def running(self) -> bool:
        return any(p is not None and p.running for p in (self._named, self._unbound))

    def _require_built(self) -> BuiltZones:
        if self._built is None:
            raise TestbedError("the DNS testbed has not been built yet; call start()")
        return self._built

    def start(self) -> None:
        if self.running:
            raise TestbedError("the DNS testbed is already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._built = build_zones(self.zones, self.workdir / "build", self.parent)
        self.timings = dict(self._built.timings)
        try:
            self._start_named(self._built)
            self._start_unbound(self._built)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        started = time.perf_counter()
        # The resolver first, so it never sees its upstream vanish mid-query.
        for proc in (self._unbound, self._named):
            if proc is not None:
                proc.stop()
        self.timings["stop"] = time.perf_counter() - started

    def replace_zones(self, zones: Sequence[ZoneSpec], parent: ZoneSpec | None = None) -> None:
        """Rebuild every zone with fresh keys and restart both servers on the same ports.

        The trust anchor changes with the parent's keys, so unbound restarts too (its cache goes with it).
        Prefer the ``dns_factory`` fixture for one-off layouts; this is for a long-lived testbed.
        """
        self.stop()
        self.zones, self.parent = tuple(zones), parent
        self.start()

    def _start_named(self, built: BuiltZones) -> None:
        workdir = self.workdir / "named"
        workdir.mkdir(exist_ok=True)
        blocks = "\n".join(
            f'zone "{name}" {{ type primary; file "{path}"; }};' for name, path in built.zone_files.items()
        )
        conf = _render(
            "named.conf.in", workdir / "named.conf", workdir=workdir, port=self.authoritative[1], zones=blocks
        )
        # -g: foreground with logs on stderr; -n 1: one worker is plenty and starts faster.
        self._named = ManagedProcess("named", ["named", "-g", "-n", "1", "-c", str(conf)], log_path=_fresh_log(workdir))
        servers = (self.authoritative, self.authoritative_v6)
        self.timings["named_start"] = _timed_start(
            self._named,
            # Zones load after the sockets open, so "answers" means every zone answers on both addresses.
            lambda: _bound(self._named) and all(_zone_loaded(s, name) for s in servers for name in built.zone_files),
        )

    def _start_unbound(self, built: BuiltZones) -> None:
        workdir = self.workdir / "unbound"
        workdir.mkdir(exist_ok=True)
        port = self.authoritative[1]
        stub_addrs = "\n".join(f"    stub-addr: {host}@{port}" for host in LOOPBACK)
        stub_names = [".", *(f"{zone}." for zone in sorted(built.zone_files))]
        stub_zones = "\n".join(f'stub-zone:\n    name: "{name}"\n{stub_addrs}' for name in stub_names)
        conf = _render(
            "unbound.conf.in",
            workdir / "unbound.conf",
            workdir=workdir,
            port=self.resolver[1],
            trust_anchor=built.trust_anchor_path,
            stub_zones=stub_zones,
        )
        self._unbound = ManagedProcess("unbound", ["unbound", "-d", "-c", str(conf)], log_path=_fresh_log(workdir))
        servers = (self.resolver, self.resolver_v6)
        self.timings["unbound_start"] = _timed_start(
            self._unbound, lambda: _bound(self._unbound) and all(_answers(s, PARENT) for s in servers)
        )
        if self.parent is not None and self.parent.tamper is not None:
            return  # a deliberately broken parent cannot validate; that is the point of it
        # Answering is not enough: a broken trust anchor would make every answer SERVFAIL.
        for server in servers:
            reply = ask(server, PARENT, "SOA")
            if reply.rcode() != dns.rcode.NOERROR or not reply.flags & dns.flags.AD:
                raise TestbedError(
                    f"unbound at {server} does not validate {PARENT}. SOA "
                    f"({dns.rcode.to_text(reply.rcode())}):\n{self._unbound.log_tail()}"
                )


def _answers(server: tuple[str, int], name: str) -> bool:
    # A UDP probe to a socket that does not exist yet waits for its whole timeout (the ICMP error
    # is not reported), while a TCP connect is refused at once; so TCP first, then a real query.
    if not tcp_ready(*server)():
        return False
    try:
        ask(server, name, "SOA", timeout=0.5)
    except (OSError, dns.exception.Timeout):
        return False
    return True


def _zone_loaded(server: tuple[str, int], zone: str) -> bool:
    if not tcp_ready(*server)():
        return False
    try:
        reply = ask(server, zone, "SOA", recursion=False, timeout=0.5)
    except (OSError, dns.exception.Timeout):
        return False
    return reply.rcode() == dns.rcode.NOERROR and bool(reply.flags & dns.flags.AA)


def _bound(proc: ManagedProcess | None) -> bool:
    """Raise at once on a port clash, which named survives (it just skips that socket) and unbound does not."""
    if proc is not None and _CLASH.search(proc.log_tail(200)):
        raise PortInUse(f"{proc.name} could not bind its port:\n{proc.log_tail()}")
    return True


def _timed_start(proc: ManagedProcess, ready: Callable[[], bool]) -> float:
    started = time.perf_counter()
    try:
        proc.start(ready)
    except PortInUse:
        proc.stop()
        raise
    except TestbedError:
        _bound(proc)  # an exit caused by a port clash is reported as such, so callers may retry
        raise
    return time.perf_counter() - started


def _fresh_log(workdir: Path) -> Path:
    # ManagedProcess appends; a restart must not be judged by the previous run's messages.
    log = workdir / f"{workdir.name}.log"
    log.unlink(missing_ok=True)
    return log


def _render(template: str, target: Path, **values: object) -> Path:
    target.write_text(Template((TEMPLATES / template).read_text()).substitute(values))
    return target
