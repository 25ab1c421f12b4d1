"""How long the stream prober takes against loopback Prosody, and what hostile servers cost it.

    .venv/bin/python bench/stream_probe.py [--rounds N]

Starts a private strong Prosody (the testbed's, on free loopback ports) and prints the median,
fastest and slowest of N rounds of: one c2s STARTTLS probe with every question (main connection,
injection test, SCRAM round) and with the main connection only, both with the limiter's gap set to
0 and at its default; Direct TLS; s2s. Then, for each hostile scripted server, the time to the error
fact, the bytes the server managed to send, and the peak Python memory traced during the probe
(expat's own buffer is C memory, bounded by the same limits because we stop feeding it).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from http_discovery import report, timed  # the bench scripts' shared timing helpers (this folder)

from scanners.base import ServiceKind, Transport
from scanners.connection import Deadline, Endpoint, Limiter, LimiterSettings
from scanners.stream.prober import ProbeOptions, probe_stream
from tests.testbed.layout import DOMAIN, SCANNER_DOMAIN
from tests.testbed.ports import PortAllocator
from tests.testbed.prosody import HOST, ProsodyInstance, scratch_prosody
from tests.testbed.scripted_xmpp import (
    Script,
    ScriptedServer,
    billion_laughs,
    close_mid_starttls,
    deep_nesting,
    endless_header,
    garbage,
    huge_features,
    one_byte_per_second,
)

MAIN_ONLY = ProbeOptions(enforcement=False, injection=False, scram=False)
HOSTILE: dict[str, Script] = {
    "billion laughs": billion_laughs,
    "endless header": endless_header,
    "one byte per second": one_byte_per_second,
    "50 MB features": huge_features,
    "garbage": garbage,
    "10000 nested elements": deep_nesting,
    "close after <proceed/>": close_mid_starttls(after_proceed=True),
}


async def bench_prosody(prosody: ProsodyInstance, rounds: int) -> None:
    ports = prosody.ports
    c2s = Endpoint(ServiceKind.C2S, DOMAIN, HOST, ports.c2s, Transport.STARTTLS)
    direct = Endpoint(ServiceKind.C2S, DOMAIN, HOST, ports.c2s_direct, Transport.DIRECTTLS)
    s2s = Endpoint(ServiceKind.S2S, DOMAIN, HOST, ports.s2s, Transport.STARTTLS, from_domain=SCANNER_DOMAIN)
    no_gap = LimiterSettings(min_gap=0)
    cases: list[tuple[str, Endpoint, ProbeOptions, LimiterSettings]] = [
        ("c2s STARTTLS, every question, no gap", c2s, ProbeOptions(), no_gap),
        ("c2s STARTTLS, every question, default limiter", c2s, ProbeOptions(), LimiterSettings()),
        ("c2s STARTTLS, main connection only", c2s, MAIN_ONLY, no_gap),
        ("c2s Direct TLS, every question", direct, ProbeOptions(), no_gap),
        ("s2s STARTTLS, every question, no gap", s2s, ProbeOptions(), no_gap),
    ]
    for label, endpoint, options, settings in cases:

        async def one(endpoint: Endpoint = endpoint, options: ProbeOptions = options, settings=settings) -> None:
            facts = await probe_stream(endpoint, Limiter(settings), Deadline.after(10), options)
            assert not facts.errors, facts.errors

        report(label, await timed(rounds, one))
    facts = await probe_stream(c2s, Limiter(no_gap), Deadline.after(10), MAIN_ONLY)
    print(
        "  phases of one c2s STARTTLS main connection (ms):",
        {name: round(value * 1000, 1) for name, value in facts.timings.model_dump().items() if value is not None},
    )


async def bench_hostile(ports: PortAllocator) -> None:
    print(f"\n{'hostile server':<24} {'error after':>11} {'server sent':>12} {'peak traced':>12}  error")
    for label, script in HOSTILE.items():
        async with ScriptedServer(script, ports.take()) as server:
            endpoint = Endpoint(ServiceKind.C2S, DOMAIN, HOST, server.port, Transport.STARTTLS)
            tracemalloc.start()
            start = time.perf_counter()
            facts = await probe_stream(endpoint, Limiter(), Deadline.after(3))
            elapsed = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            sent = max((peer.sent for peer in server.peers), default=0)
            error = facts.errors[0]
            print(
                f"{label:<24} {elapsed * 1000:9.0f} ms {sent / 1024:9.0f} KiB {peak / 1024:9.0f} KiB"
                f"  {error.phase}/{error.reason.value}: {error.message[:60]}"
            )


async def main(rounds: int) -> None:
    ports = PortAllocator()
    with scratch_prosody("bench", ports) as prosody:
        await bench_prosody(prosody, rounds)
    await bench_hostile(ports)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    asyncio.run(main(parser.parse_args().rounds))
