"""Peak memory with 200 endpoint scans in flight: against the loopback Prosody, and against hostile peers.

    .venv/bin/python bench/scan_memory.py                       # both variants, 200 scans each
    .venv/bin/python bench/scan_memory.py --variant prosody --scans 200
    .venv/bin/python bench/scan_memory.py --variant hostile --scans 200

An endpoint scan is what the orchestrator runs per endpoint: the stream probe (every question) and
the TLS scan (versions, suites, groups, certificates, follow-ups) at once, each scan with a limiter of
its own as separate scans have. All scans are started together in this one process and event loop.

* ``prosody``: a testbed Prosody (strong instance, its own process) on free loopback ports; the scans
  go round its c2s STARTTLS, c2s Direct TLS, s2s STARTTLS and s2s Direct TLS listeners.
* ``hostile``: scripted peers in a child process (so their buffers are not counted here), round
  robin: a 50 MB <stream:features>, an endless stream header, a billion laughs, 10,000 nested elements,
  endless TLS handshake records (one message that never completes), endless application data
  records after a ChangeCipherSpec, and a 50 MB run of TLS alert records.

A thread samples this process's resident set (``/proc/self/status`` VmRSS) every 20 ms; the kernel's
high-water mark (VmHWM) is printed too. Prints the RSS before the scans, the peak, the peak minus the
baseline per scan in flight, scans completed and failed (with the most common first errors), wall
time and connections opened. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanners.base import ServiceKind, Transport
from scanners.connection import Deadline, Endpoint, Limiter, LimiterSettings
from scanners.connection.limits import counting_connections
from scanners.stream.facts import StreamFacts
from scanners.stream.prober import ProbeOptions, probe_stream
from scanners.tls.facts import TlsFacts
from scanners.tls.openers import endpoint_options, scan_endpoint
from tests.testbed.layout import DOMAIN, SCANNER_DOMAIN
from tests.testbed.ports import PortAllocator
from tests.testbed.prosody import HOST, scratch_prosody
from tests.testbed.scripted_xmpp import (
    HOSTILE_BYTES,
    Peer,
    Script,
    ScriptedServer,
    billion_laughs,
    deep_nesting,
    endless_header,
    huge_features,
)

#: Seconds one endpoint scan may take at most (the orchestrator's default scan time is of this order).
SCAN_SECONDS = 120.0
MIB = 1024 * 1024


# --- Memory ------------------------------------------------------------------------------------


def status_kib(field_name: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise LookupError(field_name)


@dataclass
class RssSampler:
    """Samples VmRSS in a thread until stopped; the event loop being busy does not stop it."""

    interval: float = 0.02
    peak_kib: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, status_kib("VmRSS"))
            self.samples += 1
            self._stop.wait(self.interval)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        self.peak_kib = max(self.peak_kib, status_kib("VmRSS"))


# --- Scans -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    label: str
    stream: StreamFacts | BaseException
    tls: TlsFacts | BaseException

    @property
    def first_error(self) -> str | None:
        """The first error of each probe (stream, TLS), or None when neither has one."""
        found = []
        for name, facts in (("stream", self.stream), ("tls", self.tls)):
            if isinstance(facts, BaseException):
                found.append(f"{name} {type(facts).__name__}")
            elif facts.errors:
                error = facts.errors[0]
                found.append(f"{name} {error.phase}/{error.reason.value}")
        return "; ".join(found) or None


async def scan(label: str, endpoint: Endpoint) -> Outcome:
    limiter = Limiter(LimiterSettings())
    stream, tls = await asyncio.gather(
        probe_stream(endpoint, limiter, Deadline.after(SCAN_SECONDS), ProbeOptions()),
        asyncio.wait_for(scan_endpoint(endpoint, limiter, endpoint_options(endpoint)), SCAN_SECONDS),
        return_exceptions=True,
    )
    return Outcome(label, stream, tls)


async def measure(title: str, endpoints: list[tuple[str, Endpoint]], hostile: bool) -> None:
    baseline = status_kib("VmRSS")
    started = time.perf_counter()
    with RssSampler() as sampler, counting_connections() as opened:
        outcomes = await asyncio.gather(*(scan(label, endpoint) for label, endpoint in endpoints))
    elapsed = time.perf_counter() - started
    errors = collections.Counter(outcome.first_error for outcome in outcomes if outcome.first_error)
    failed = sum(errors.values())
    growth = max(0, sampler.peak_kib - baseline)
    print(f"\n## {title}: {len(endpoints)} endpoint scans in flight")
    print(f"wall time {elapsed:.1f} s, {opened.opened} connections opened, {sampler.samples} RSS samples")
    print(f"RSS before the scans {baseline / 1024:.1f} MiB, peak {sampler.peak_kib / 1024:.1f} MiB")
    print(f"peak minus baseline {growth / 1024:.1f} MiB = {growth / len(endpoints):.0f} KiB per scan in flight")
    print(f"process high-water mark (VmHWM, whole run so far) {status_kib('VmHWM') / 1024:.1f} MiB")
    completed = len(outcomes) - failed
    what = "ended with an error fact (expected: every peer is hostile)" if hostile else "failed"
    print(f"scans completed without an error {completed}, {what} {failed}")
    by_label = collections.Counter(outcome.label for outcome in outcomes)
    for label in by_label:
        ends = collections.Counter(outcome.first_error for outcome in outcomes if outcome.label == label)
        shown = ", ".join(f"{error or 'no error'} ×{count}" for error, count in ends.most_common(3))
        print(f"  {label:<34} {by_label[label]:>4} scans: {shown}")


# --- Prosody -----------------------------------------------------------------------------------


async def bench_prosody(scans: int) -> None:
    with scratch_prosody("memory", PortAllocator()) as prosody:
        p = prosody.ports
        kinds = [
            ("c2s STARTTLS", Endpoint(ServiceKind.C2S, DOMAIN, HOST, p.c2s, Transport.STARTTLS)),
            ("c2s Direct TLS", Endpoint(ServiceKind.C2S, DOMAIN, HOST, p.c2s_direct, Transport.DIRECTTLS)),
            (
                "s2s STARTTLS",
                Endpoint(ServiceKind.S2S, DOMAIN, HOST, p.s2s, Transport.STARTTLS, from_domain=SCANNER_DOMAIN),
            ),
            (
                "s2s Direct TLS",
                Endpoint(ServiceKind.S2S, DOMAIN, HOST, p.s2s_direct, Transport.DIRECTTLS, from_domain=SCANNER_DOMAIN),
            ),
        ]
        endpoints = [kinds[index % len(kinds)] for index in range(scans)]
        await measure("Prosody (testbed, strong)", endpoints, hostile=False)


# --- Hostile peers (in a child process) --------------------------------------------------------

RECORD = 16 * 1024


async def endless_handshake(peer: Peer) -> None:
    """One handshake message announced at 250 KB that never completes: records keep coming."""
    await peer.read_some()
    opening = b"\x02" + (250 * 1024).to_bytes(3, "big")
    await peer.send(b"\x16\x03\x03" + len(opening).to_bytes(2, "big") + opening)
    await peer.flood(lambda _: b"\x16\x03\x03" + RECORD.to_bytes(2, "big") + b"\x00" * RECORD)


async def endless_application_data(peer: Peer) -> None:
    await peer.read_some()
    await peer.send(b"\x14\x03\x03\x00\x01\x01")
    await peer.flood(lambda _: b"\x17\x03\x03" + RECORD.to_bytes(2, "big") + b"\xaa" * RECORD)


async def endless_alerts(peer: Peer) -> None:
    """Warning alerts (level 1, a made-up description), 8,192 to a record, until 50 MB went out."""
    await peer.read_some()
    await peer.flood(lambda _: b"\x15\x03\x03" + RECORD.to_bytes(2, "big") + b"\x01\xfe" * (RECORD // 2))


HOSTILE: list[tuple[str, Script, Transport]] = [
    ("50 MB <stream:features>", huge_features, Transport.STARTTLS),
    ("endless stream header", endless_header, Transport.STARTTLS),
    ("billion laughs", billion_laughs, Transport.STARTTLS),
    ("10,000 nested elements", deep_nesting, Transport.STARTTLS),
    ("endless handshake records", endless_handshake, Transport.DIRECTTLS),
    ("endless application data", endless_application_data, Transport.DIRECTTLS),
    ("endless alerts", endless_alerts, Transport.DIRECTTLS),
]


def serve_hostile(ports: list[int], ready: Any, sent: Any) -> None:
    """The hostile peers, until SIGTERM; then the bytes they sent in all go to ``sent`` (a shared int)."""

    async def main() -> None:
        servers = [ScriptedServer(script, port) for (_, script, _), port in zip(HOSTILE, ports, strict=True)]
        for server in servers:
            await server.__aenter__()
        ready.set()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        for server in servers:
            await server.__aexit__(None, None, None)
        sent.value = sum(peer.sent for server in servers for peer in server.peers)

    asyncio.run(main())


async def bench_hostile(scans: int, only: str | None = None) -> None:
    allocator = PortAllocator()
    ports = [allocator.take() for _ in HOSTILE]
    context = multiprocessing.get_context("fork")
    ready, sent = context.Event(), context.Value("q", 0)
    child = context.Process(target=serve_hostile, args=(ports, ready, sent), daemon=True)
    child.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the hostile peers did not start")
        kinds = [
            (label, Endpoint(ServiceKind.C2S, DOMAIN, HOST, port, transport))
            for (label, _, transport), port in zip(HOSTILE, ports, strict=True)
            if only is None or only in label
        ]
        endpoints = [kinds[index % len(kinds)] for index in range(scans)]
        title = f"hostile peers (each sends up to {HOSTILE_BYTES // MIB} MB)"
        await measure(title, endpoints, hostile=True)
    finally:
        assert child.pid is not None
        os.kill(child.pid, signal.SIGTERM)
        child.join(30)
        if child.is_alive():
            child.kill()
    print(f"the hostile peers sent {sent.value / MIB:.0f} MiB in all")


def run(job: Callable[..., Awaitable[None]], *args: object) -> None:
    asyncio.run(job(*args))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", default="200", help="scans in flight; several, comma-separated, run in turn")
    parser.add_argument("--variant", choices=["prosody", "hostile", "both"], default="both")
    parser.add_argument("--peer", help="hostile variant: only the peers whose label contains this")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, pid {os.getpid()}")
    for scans in (int(value) for value in args.scans.split(",")):
        if args.variant in ("prosody", "both"):
            run(bench_prosody, scans)
        if args.variant in ("hostile", "both"):
            run(bench_hostile, scans, args.peer)
