"""How long HTTP discovery takes against the loopback test web server (no internet needed).

    .venv/bin/python bench/http_discovery.py [--rounds N]

Prints the median, fastest and slowest of N rounds of: host-meta (XRD) plus the two POSH documents
fetched one after the other; the same three concurrently; and the whole ``probe_http`` (host-meta
XRD and JRD over HTTPS and HTTP, two POSH documents: six requests, concurrently). Every request is a
new TLS connection to 127.0.0.1 with a test-PKI RSA-2048 certificate, as a scan makes them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanners.http.facts import HostMetaFormat, PoshService
from scanners.http.fetch import Fetcher, HttpSettings
from scanners.http.hostmeta import HOST_META, HOST_META_JSON, fetch_host_meta
from scanners.http.posh import posh_path, probe_posh
from scanners.http.probe import probe_http
from scanners.http.transport import make_ssl_context
from tests.testbed.https_server import HttpsServerPool, Route
from tests.testbed.layout import DOMAIN
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator

XRD = (
    "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>"
    f"<Link rel='urn:xmpp:alt-connections:websocket' href='wss://{DOMAIN}/ws'/></XRD>"
)


async def timed(rounds: int, work: Callable[[], Awaitable[object]]) -> list[float]:
    await work()  # warm-up: imports, first handshake
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        await work()
        seconds.append(time.perf_counter() - start)
    return seconds


def report(label: str, seconds: list[float]) -> None:
    ms = [value * 1000 for value in seconds]
    print(f"{label:<58} median {statistics.median(ms):7.1f} ms   min {min(ms):7.1f}   max {max(ms):7.1f}")


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        pki = TestPKI.create(Path(scratch))
        leaf = pki.leaf("good")
        pool = HttpsServerPool(pki, PortAllocator())
        try:
            server = pool.get("good")
            posh = Route.json(
                {
                    "fingerprints": [{"sha-256": base64.b64encode(hashlib.sha256(leaf.der).digest()).decode()}],
                    "expires": 3600,
                }
            )
            server.serve(
                {
                    HOST_META: Route.xml(XRD),
                    HOST_META_JSON: Route.json({"links": []}),
                    posh_path(PoshService.CLIENT): posh,
                    posh_path(PoshService.SERVER): posh,
                }
            )
            context = make_ssl_context([pki.root_path], public_roots=False)
            settings = HttpSettings(https_port=server.https_port, http_port=server.http_port)
            fetcher = Fetcher(DOMAIN, ["127.0.0.1"], ssl_context=context, settings=settings)

            async def sequential() -> None:
                await fetch_host_meta(fetcher, HostMetaFormat.XRD, "https")
                await probe_posh(fetcher, PoshService.CLIENT)
                await probe_posh(fetcher, PoshService.SERVER)

            async def concurrent() -> None:
                await asyncio.gather(
                    fetch_host_meta(fetcher, HostMetaFormat.XRD, "https"),
                    probe_posh(fetcher, PoshService.CLIENT),
                    probe_posh(fetcher, PoshService.SERVER),
                )

            async def whole() -> None:
                await probe_http(DOMAIN, ["127.0.0.1"], ssl_context=context, settings=settings)

            print(f"{rounds} rounds, loopback, Python {sys.version.split()[0]}")
            report("host-meta XRD + 2 POSH, one after the other", await timed(rounds, sequential))
            report("host-meta XRD + 2 POSH, concurrently", await timed(rounds, concurrent))
            report("probe_http (4 host-meta + 2 POSH requests, concurrently)", await timed(rounds, whole))
        finally:
            pool.stop_all()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    asyncio.run(main(parser.parse_args().rounds))
