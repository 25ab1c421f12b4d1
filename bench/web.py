"""Load on `observatory serve`: requests per second and p50/p99 latency of a stored report page, a badge
and GET /api/v1/scans/{id}, with wrk (Debian's package) at 1 and 32 concurrent connections.

    .venv/bin/python -m bench.web                       # testbed scan × 2,000 stored, 10 s per case
    .venv/bin/python -m bench.web --result factory      # tests/web/support.graded(): no testbed needed
    .venv/bin/python -m bench.web --result scan.json --duration 5 --clients 1,8,32

wrk is needed (`apt-get install wrk`). The stored result is by default a real scan of
weak.example.test on the loopback testbed (Prosody with TLS 1.0–1.3 and CBC suites, BIND + unbound),
c2s and s2s, stored ``--scans`` times under ``--scans / 4`` domains in a temporary SQLite database.
`observatory serve` then runs as a subprocess on 127.0.0.1 and a free port, with --resolver pointing
at a closed loopback port (no scan is ever submitted; nothing leaves the machine).

Cases, one wrk run each (one wrk thread: it is C and needs far less CPU than the server):

* report cold: /scans/{id} cycling over every stored id; the server's render cache (an LRU of 512
  renderings) never holds the next one, so each request reads, validates and renders the result;
* report warm: one id again and again: the rendered bytes come from the in-memory cache;
* report 304: one id with If-None-Match: its ETag, so the answer is 304 Not Modified;
* badge: /badge/{domain}.svg of one domain (answered from the site's one-minute badge cache);
* api: GET /api/v1/scans/{id} of one id (the rendered document from the cache, with an ETag).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.message import Message
from pathlib import Path

from observatory.model import ScanResult
from observatory.storage import open_database, save_result

#: The issue's goals: case name prefix → (least req/s, largest p99 in ms or None); judged on every row.
GOALS = {"report": (300.0, 100.0), "badge": (1000.0, None)}
WRK_INSTALL = "wrk is not installed: `sudo apt-get install wrk` (Debian/Ubuntu), then run this again."

LUA = """
{paths}
{headers}
local counter = 0
if #paths > 1 then
  request = function()
    counter = counter + 1
    return wrk.format(nil, paths[(counter % #paths) + 1])
  end
else
  wrk.path = paths[1]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class Case:
    name: str
    paths: list[str]
    headers: dict[str, str]
    expect: int = 200


@dataclass
class Figures:
    case: str
    clients: int
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu: float  # cores used by the server process on average

    def goal(self) -> str:
        for prefix, (rate, p99) in GOALS.items():
            if self.case.startswith(prefix):
                wanted = f"≥ {rate:,.0f}/s" + (f", p99 ≤ {p99:.0f} ms" if p99 else "")
                met = self.rate >= rate and (p99 is None or self.p99_ms <= p99) and not self.errors
                return f"{wanted}: {'met' if met else 'MISSED'}"
        return ""


# The stored result -------------------------------------------------------------------------------


def testbed_result() -> ScanResult:
    """A real scan of weak.example.test (both kinds) on the loopback testbed, as the end-to-end test runs it."""
    from observatory.orchestrate import ScanOptions, run_scan
    from observatory.trust_store import load_ca_file
    from scanners.addresses import HostPort
    from scanners.dns.trust_anchors import load_trust_anchors
    from tests.testbed.dns import DnsTestbed, default_zones
    from tests.testbed.dns_zones import WEAK_DOMAIN
    from tests.testbed.layout import SCANNER_DOMAIN, plan_layout
    from tests.testbed.pki import TestPKI
    from tests.testbed.ports import PortAllocator
    from tests.testbed.prosody import WEAK_KNOBS, ProsodyConfig, ProsodyInstance

    with tempfile.TemporaryDirectory(prefix="web-bench-testbed-") as scratch:
        root = Path(scratch)
        layout = plan_layout(PortAllocator())
        pki = TestPKI.create(root / "pki")
        leaf = pki.leaf("good")
        config = ProsodyConfig(name="weak", ports=layout.weak, leaf=leaf, dns_resolver_port=layout.dns_resolver)
        config = dataclasses.replace(config, **WEAK_KNOBS, extra_hosts=(WEAK_DOMAIN,))
        dns = DnsTestbed(
            root / "dns",
            default_zones(layout, leaf.spki_sha256),
            authoritative_port=layout.dns_authoritative,
            resolver_port=layout.dns_resolver,
        )
        with dns, ProsodyInstance(config, root / "prosody"):
            options = ScanOptions(
                domain=WEAK_DOMAIN,
                resolver=HostPort(*dns.resolver),
                trust_anchors=load_trust_anchors(dns.trust_anchor_path),
                extra_roots=tuple(load_ca_file(pki.root_path)),
                from_domain=SCANNER_DOMAIN,
                timeout=120,
            )
            return asyncio.run(run_scan(options))


def load_result(source: str) -> tuple[ScanResult, str]:
    if source == "testbed":
        start = time.perf_counter()
        result = testbed_result()
        return result, f"a real scan of {result.domain} on the loopback testbed ({time.perf_counter() - start:.0f} s)"
    if source == "factory":
        from tests.web.support import graded

        return graded(), "tests/web/support.graded() (tests.factories: 4 endpoints, 1 finding)"
    return ScanResult.model_validate_json(Path(source).read_text()), source


def populate(url: str, result: ScanResult, scans: int) -> tuple[list[int], str]:
    """``scans`` copies of ``result`` over ``scans // 4`` domains, a minute apart; their ids and one domain."""
    domains = max(1, scans // 4)
    ids = []
    with open_database(url, migrate=True) as database, database.session() as session:
        for i in range(scans):
            domain = f"site{i % domains}.example.net"
            later = timedelta(minutes=i)
            copy = result.model_copy(
                update={
                    "domain": domain,
                    "request": result.request.model_copy(update={"domain": domain}),
                    "started_at": result.started_at + later,
                    "finished_at": (result.finished_at or result.started_at) + later,
                }
            )
            ids.append(save_result(session, result=copy))
    return ids, f"site{7 % domains}.example.net"


# The server and the load ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@contextmanager
def serve(db_url: str, scratch: Path, probe_path: str) -> Iterator[tuple[str, int]]:
    """`observatory serve` on 127.0.0.1 and a free port; (base URL, pid) once it answers ``probe_path``."""
    port = free_port()
    closed = free_port()  # nothing listens there: a scan (none is submitted) could not resolve anything
    argv = [
        str(Path(sys.executable).with_name("observatory")),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        db_url,
        "--migrate",
        "--resolver",
        f"127.0.0.1:{closed}",
        "--log-level",
        "warning",
    ]
    environment = {**os.environ, "XDG_DATA_HOME": str(scratch / "xdg")}
    environment = {k: v for k, v in environment.items() if not k.startswith("OBSERVATORY_")}
    log = (scratch / "serve.log").open("w")
    process = subprocess.Popen(argv, env=environment, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(
                    f"observatory serve exited ({process.returncode}):\n{(scratch / 'serve.log').read_text()}"
                )
            try:
                if fetch(base + probe_path)[0] == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("observatory serve did not answer within 60 s") from None
                time.sleep(0.2)
        yield base, process.pid
    except BaseException:
        print(f"--- serve.log:\n{(scratch / 'serve.log').read_text()[-4000:]}", file=sys.stderr)
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lua_script(case: Case) -> str:
    paths = "local paths = {" + ", ".join(json.dumps(path) for path in case.paths) + "}"
    headers = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in case.headers.items())
    return LUA.format(paths=paths, headers=headers)


def run_wrk(base: str, pid: int, case: Case, clients: int, duration: float, scratch: Path) -> Figures:
    script = scratch / (re.sub(r"[^a-z0-9]+", "-", case.name) + ".lua")
    script.write_text(lua_script(case))
    argv = ["wrk", "--latency", "-t1", f"-c{clients}", f"-d{duration:g}s", "--timeout", "10s", "-s", str(script)]
    before = cpu_seconds(pid)
    start = time.perf_counter()
    output = subprocess.run([*argv, base + "/"], capture_output=True, text=True, check=True).stdout
    elapsed = time.perf_counter() - start
    used = cpu_seconds(pid) - before
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    requests, micros, connect, read, write, status, timeout, p50, p99 = (int(x) for x in line.split()[1:])
    return Figures(
        case=case.name,
        clients=clients,
        rate=requests / (micros / 1e6),
        p50_ms=p50 / 1000,
        p99_ms=p99 / 1000,
        errors=connect + read + write + status + timeout,
        server_cpu=used / elapsed,
    )


# What is printed -----------------------------------------------------------------------------


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown CPU",
    )
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    wrk = re.sub(r"\s*Copyright.*", "", wrk)
    import uvicorn

    extras = [name for name in ("uvloop", "httptools") if _importable(name)]
    loop = ", ".join(extras) if extras else "no uvloop/httptools: asyncio loop, h11 parser"
    return (
        f"machine: {len(os.sched_getaffinity(0))} CPUs usable ({os.cpu_count()} online), {model}\n"
        f"load generator: {wrk} (1 thread), server: uvicorn {uvicorn.__version__} ({loop}), "
        f"Python {platform.python_version()}"
    )


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def table(rows: list[Figures]) -> str:
    lines = [
        "| case | clients | req/s | p50 ms | p99 ms | errors | server CPU | goal |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.case} | {row.clients} | {row.rate:,.0f} | {row.p50_ms:.1f} | {row.p99_ms:.1f} | {row.errors} "
            f"| {row.server_cpu * 100:.0f} % | {row.goal()} |"
        )
    return "\n".join(lines)


def cases(base: str, ids: list[int], domain: str) -> list[Case]:
    one = ids[len(ids) // 2]
    status, headers, _ = fetch(f"{base}/scans/{one}")
    if status != 200:
        raise SystemExit(f"/scans/{one} answered {status}")
    etag = headers["etag"]
    return [
        Case("report cold (cycling ids)", [f"/scans/{scan_id}" for scan_id in ids], {}),
        Case("report warm (render cache)", [f"/scans/{one}"], {}),
        Case("report 304 (If-None-Match)", [f"/scans/{one}"], {"If-None-Match": etag}, expect=304),
        Case("badge", [f"/badge/{domain}.svg"], {}),
        Case("api GET /api/v1/scans/{id}", [f"/api/v1/scans/{one}"], {}),
    ]


def describe(base: str, all_cases: list[Case]) -> None:
    for case in all_cases:
        status, headers, body = fetch(base + case.paths[0], case.headers)
        if status != case.expect:
            raise SystemExit(f"{case.name}: {case.paths[0]} answered {status}, not {case.expect}")
        cache = headers.get("cache-control", "-")
        print(f"  {case.name}: {case.paths[0]} → {status}, {len(body) / 1024:.1f} KiB, Cache-Control: {cache}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--result", default="testbed", help="testbed (default), factory, or a result JSON file")
    parser.add_argument("--scans", type=int, default=2000, help="stored scans (more than the render cache's 512)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--clients", default="1,32", help="concurrent connections, comma-separated")
    parser.add_argument(
        "--cases", default="", help="only the cases whose name starts with one of these (comma-separated)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit(WRK_INSTALL)
    print(machine())
    result, origin = load_result(args.result)
    print(
        f"stored result: {origin}: {len(result.model_dump_json()) / 1024:.0f} KiB of JSON, "
        f"{sum(len(s.endpoints) for s in (result.services.c2s, result.services.s2s) if s)} endpoints, "
        f"{len(result.findings)} findings"
    )
    with tempfile.TemporaryDirectory(prefix="web-bench-") as folder:
        scratch = Path(folder)
        db_url = f"sqlite:///{scratch / 'observatory.db'}"
        start = time.perf_counter()
        ids, domain = populate(db_url, result, args.scans)
        print(f"{len(ids)} scans stored in SQLite in {time.perf_counter() - start:.0f} s")
        with serve(db_url, scratch, f"/api/v1/scans/{ids[0]}") as (base, pid):
            all_cases = cases(base, ids, domain)
            wanted = [prefix.strip() for prefix in args.cases.split(",") if prefix.strip()]
            all_cases = [case for case in all_cases if not wanted or case.name.startswith(tuple(wanted))]
            print(f"observatory serve at {base} (pid {pid}); {args.duration:g} s per run:")
            describe(base, all_cases)
            rows = []
            for case in all_cases:
                for clients in (int(n) for n in args.clients.split(",")):
                    rows.append(run_wrk(base, pid, case, clients, args.duration, scratch))
                    print(f"  {case.name}, {clients} clients: {rows[-1].rate:,.0f} req/s", flush=True)
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
