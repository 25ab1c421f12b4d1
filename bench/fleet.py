"""A fleet of hosted XMPP domains scanned by real workers: wall time, failures, memory, connections.

    .venv/bin/python -m bench.fleet --domains 40 --addresses 4          # the quick case (run this first)
    .venv/bin/python -m bench.fleet                                     # 1,000 domains on 10 addresses
    .venv/bin/python -m bench.fleet --domains 200 --kind c2s --timeout 1800

Sets up on loopback only, in a temporary folder removed at the end whatever happens:

* one signed zone ``fleet.test`` (BIND, validated by unbound anchored at ``test.``, as the testbed's):
  domains ``d0001.fleet.test`` … each with the four XMPP SRV records (c2s/s2s, STARTTLS and Direct
  TLS) pointing at one of ``--addresses`` hosts ``hK.fleet.test`` (A 127.0.1.K, no AAAA), and DANE-EE
  TLSA records for each host's four ports; plus ``scanner.test``, the scanner's own domain;
* one Prosody per address (the testbed's strong config from its one template: TLS 1.2+, STARTTLS
  required, Direct TLS, c2s and s2s), listening on 127.0.1.K only, with a VirtualHost per domain
  hosted there (domains go round-robin over the addresses), every instance on the same four ports;
* one certificate per address from the test PKI (RSA 2048, one key shared by all), with a DNS-ID and
  both SRV-IDs for each domain that address hosts;
* a private ``redis-server`` (broker, events and the fleet-wide pacing per address), a SQLite file,
  and ``--workers`` real ``observatory worker --concurrency 1`` processes (``--concurrency`` changes
  it) with the testbed's engine flags (``tests/testbed/engine.py``) and default pacing (4 connections
  at once, 0.1 s apart, per address, shared by every worker through Redis).

Then it queues every domain as ``observatory scan --from-file --broker`` does (``batch.submit_all`` +
``send_scans``), waits with ``batch.wait_all`` and reports: wall time (submission to last result),
scans done / failed / incomplete (``orchestrate.incomplete``), the scan time per domain, peak memory
of each worker (VmHWM of its main process and of its pool child, and the largest sum sampled every
second), and connections per domain: the sum of ``tls.connections`` over the result's endpoints, the
TLS engine's connections only (the stream probes' few connections per endpoint keep no count, and
Prosody logs neither s2s connections nor failed Direct TLS handshakes at level info).

Workers share TLS enumeration across the domains hosted on one endpoint (``scanners.tls.shared``,
kept in the bench's Redis) unless ``--no-share-tls``: the first domain per endpoint enumerates in
full, each further one confirms with one hello per version; the report counts the endpoints that
took shared lists.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import re
import secrets
import shlex
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from observatory.batch import submit_all, wait_all
from observatory.jobs.distributed import send_scans
from observatory.model import ScanResult
from observatory.orchestrate import incomplete
from observatory.storage import open_database
from scanners.base import ServiceKind
from tests.testbed.dns import DnsTestbed, ZoneSpec
from tests.testbed.engine import flags_for_testbed, options_for_testbed
from tests.testbed.fixtures_redis import redis_answers
from tests.testbed.layout import SCANNER_DOMAIN, XmppPorts
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator, is_free
from tests.testbed.process import ManagedProcess, TestbedError, tcp_ready
from tests.testbed.prosody import ProsodyConfig, check_prosody_installed, render_config

ZONE = "fleet.test"
#: The issue's goal for the default run.
GOAL_SECONDS = 600.0
SERVICES = ("c2s", "c2s_direct_tls", "s2s", "s2s_direct_tls")


def address(k: int) -> str:
    return f"127.0.1.{k + 1}"


def domain_name(i: int) -> str:
    return f"d{i + 1:04d}.{ZONE}"


# Set-up --------------------------------------------------------------------------------------------


def fleet_ports(allocator: PortAllocator, addresses: list[str]) -> XmppPorts:
    """Four ports free on 127.0.0.1, ::1 and every fleet address (each instance uses the same four)."""

    def free_everywhere(port: int) -> bool:
        for host in addresses:
            with socket.socket() as probe:
                try:
                    probe.bind((host, port))
                except OSError:
                    return False
        return is_free(port)

    chosen: list[int] = []
    while len(chosen) < 4:
        port = allocator.take()
        if free_everywhere(port):
            chosen.append(port)
    return XmppPorts(c2s=chosen[0], c2s_direct=chosen[1], s2s=chosen[2], s2s_direct=chosen[3])


def fleet_zone(hosted: list[list[str]], ports: XmppPorts, spki_sha256: str) -> ZoneSpec:
    records: list[str] = []
    all_ports = (ports.c2s, ports.c2s_direct, ports.s2s, ports.s2s_direct)
    for k, domains in enumerate(hosted):
        host = f"h{k + 1}"
        records.append(f"{host} A {address(k)}")
        records += [f"_{port}._tcp.{host} TLSA 3 1 1 {spki_sha256.upper()}" for port in all_ports]
        for domain in domains:
            label = domain.removesuffix(f".{ZONE}")
            records += [
                f"_xmpp-client._tcp.{label} SRV 0 5 {ports.c2s} {host}",
                f"_xmpps-client._tcp.{label} SRV 0 5 {ports.c2s_direct} {host}",
                f"_xmpp-server._tcp.{label} SRV 0 5 {ports.s2s} {host}",
                f"_xmpps-server._tcp.{label} SRV 0 5 {ports.s2s_direct} {host}",
            ]
    return ZoneSpec(ZONE, records=records)


class FleetProsody:
    """One Prosody from the testbed template, moved from 127.0.0.1/::1 to one fleet address."""

    def __init__(self, config: ProsodyConfig, host: str, directory: Path) -> None:
        self.config, self.host, self.directory = config, host, directory
        self.log_path = directory / "prosody.log"
        config_path = directory / "prosody.cfg.lua"
        for sub in ("data", "certs"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        text = render_config(config, directory)
        for key in ("interfaces", "local_interfaces"):
            text, count = re.subn(rf"^{key} = .*$", f'{key} = {{ "{host}" }}', text, flags=re.MULTILINE)
            if count != 1:
                raise TestbedError(f"the Prosody template no longer has one {key} line")
        config_path.write_text(text)
        self.process = ManagedProcess(
            f"prosody {host}", ["prosody", "-F", "--config", str(config_path)], log_path=self.log_path, cwd=directory
        )

    def start(self) -> None:
        ports = self.config.ports
        wanted = dict(zip(SERVICES, (ports.c2s, ports.c2s_direct, ports.s2s, ports.s2s_direct), strict=True))

        def ready() -> bool:
            text = self.log_path.read_text(errors="replace")
            errors = re.findall(r"^.*\serror\t.*$", text, re.MULTILINE)
            if errors:
                raise TestbedError(f"prosody {self.host} logged errors:\n" + "\n".join(errors[:8]))
            return all(
                f"Activated service '{service}' on [{self.host}]:{port}" in text and tcp_ready(self.host, port)()
                for service, port in wanted.items()
            )

        self.process.start(ready, timeout=60)


# Measuring ----------------------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
    return found


def status_kb(pid: int, field_name: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


@dataclass
class WorkerMemory:
    pid: int
    peak_sum_kb: int = 0  # largest RSS of the whole tree sampled
    hwm_kb: dict[int, int] = field(default_factory=dict)  # pid → VmHWM, last seen
    cpu: dict[int, float] = field(default_factory=dict)  # pid → user + system CPU seconds, last seen

    def sample(self) -> None:
        tree = process_tree(self.pid)
        total = 0
        for pid in tree:
            total += status_kb(pid, "VmRSS")
            hwm = status_kb(pid, "VmHWM")
            if hwm:
                self.hwm_kb[pid] = max(hwm, self.hwm_kb.get(pid, 0))
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                self.cpu[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        self.peak_sum_kb = max(self.peak_sum_kb, total)


class Sampler(threading.Thread):
    def __init__(self, workers: list[WorkerMemory]) -> None:
        super().__init__(daemon=True)
        self.workers = workers
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(1.0):
            for worker in self.workers:
                worker.sample()


def shared_endpoints(result: ScanResult) -> tuple[int, int]:
    """(endpoints whose TLS lists were shared from another domain's enumeration, endpoints with TLS)."""
    found = [e.tls for s in (result.services.c2s, result.services.s2s) if s for e in s.endpoints if e.tls]
    return sum(tls.shared_from is not None for tls in found), len(found)


def connections(result: ScanResult) -> dict[str, tuple[int, int]]:
    """Kind → (TLS engine connections, endpoints) in one result."""
    counts = {}
    for name in ("c2s", "s2s"):
        service = getattr(result.services, name)
        if service is not None:
            found = [endpoint.tls.connections if endpoint.tls else 0 for endpoint in service.endpoints]
            counts[name] = (sum(found), len(found))
    return counts


# The run --------------------------------------------------------------------------------------------


def run(args: argparse.Namespace, root: Path, stack: contextlib.ExitStack) -> int:
    started_setup = time.perf_counter()
    deadline = time.monotonic() + args.timeout
    check_prosody_installed()
    addresses = [address(k) for k in range(args.addresses)]
    domains = [domain_name(i) for i in range(args.domains)]
    hosted = [domains[k :: args.addresses] for k in range(args.addresses)]
    allocator = PortAllocator()
    ports = fleet_ports(allocator, addresses)
    dns_authoritative, dns_resolver, redis_port = allocator.take_many(3)

    pki = TestPKI.create(root / "pki")
    leaves = [pki.hosting_leaf(f"fleet-{k + 1}", hosted[k]) for k in range(args.addresses)]
    zones = [fleet_zone(hosted, ports, leaves[0].spki_sha256), ZoneSpec(SCANNER_DOMAIN, records=["@ A 127.0.0.1"])]
    dns = DnsTestbed(root / "dns", zones, authoritative_port=dns_authoritative, resolver_port=dns_resolver)
    dns.start()
    stack.callback(dns.stop)

    servers = []
    for k, host in enumerate(addresses):
        config = ProsodyConfig(
            name=f"fleet-{k + 1}",
            ports=ports,
            leaf=leaves[k],
            dns_resolver_port=dns_resolver,
            domain=hosted[k][0],
            extra_hosts=tuple(hosted[k][1:]),
            users=(),
        )
        server = FleetProsody(config, host, root / f"prosody-{k + 1}")
        stack.callback(server.process.stop)
        server.start()
        servers.append(server)

    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    (root / "redis").mkdir()
    redis_argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "", "--appendonly", "no",
                  "--dir", str(root / "redis"), "--protected-mode", "yes"]  # fmt: skip
    redis_server = ManagedProcess("redis-server", redis_argv, log_path=root / "redis" / "redis.log")
    stack.callback(redis_server.stop)
    redis_server.start(lambda: redis_answers(redis_url))

    db_url = f"sqlite:///{root / 'fleet.db'}"
    database = open_database(db_url, migrate=True)
    stack.callback(database.dispose)
    namespace = f"fleet-{secrets.token_hex(4)}"
    observatory = str(Path(sys.executable).with_name("observatory"))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVATORY_")}
    environment["XDG_DATA_HOME"] = str(root / "xdg")
    worker_argv = [
        observatory, "worker", "--broker", redis_url, "--redis", redis_url, "--namespace", namespace,
        "--db", db_url, "--concurrency", str(args.concurrency), "--log-level", "info", *flags_for_testbed(dns, pki),
        "--share-tls" if args.share_tls else "--no-share-tls",
    ]  # fmt: skip
    workers: list[ManagedProcess] = []
    for n in range(args.workers):
        log_path = root / f"worker-{n + 1}.log"
        worker = ManagedProcess(f"worker {n + 1}", worker_argv, log_path=log_path, env=environment)
        stack.callback(worker.stop, 15.0)
        worker.start(
            lambda path=log_path: " ready." in path.read_text(errors="replace"),
            timeout=max(1.0, deadline - time.monotonic()),
        )
        workers.append(worker)
    setup_seconds = time.perf_counter() - started_setup
    print(f"set up in {setup_seconds:.0f} s: {args.domains} domains on {args.addresses} addresses, "
          f"{args.workers} workers ready", file=sys.stderr, flush=True)  # fmt: skip

    memory = [WorkerMemory(worker.proc.pid) for worker in workers if worker.proc is not None]
    sampler = Sampler(memory)
    sampler.start()
    stack.callback(sampler.halt.set)

    kinds = (ServiceKind.C2S, ServiceKind.S2S) if args.kind == "both" else (ServiceKind(args.kind),)
    template = options_for_testbed(dns, pki)
    start = time.perf_counter()
    cpu_before = os.times()
    queued = submit_all(database, domains, kinds, template)
    send_scans(redis_url, list(queued), namespace)
    done = failed = unfinished = late = 0
    problems: list[str] = []
    per_domain: dict[str, list[int]] = {"all": [], "c2s": [], "s2s": []}
    endpoints: list[int] = []
    sharing = [0, 0]  # endpoints that took another domain's TLS lists, endpoints with TLS facts
    durations: list[float] = []
    finished_at = start
    for item in wait_all(database, queued, poll=1.0, timeout=max(1.0, deadline - time.monotonic())):
        finished_at = time.perf_counter()
        if item.result is None and item.error and item.error.endswith("did not end in time"):
            late += 1  # wait_all gave up at --timeout
            continue
        if item.result is None:
            failed += 1
            problems.append(f"{item.domain}: {item.error}")
        else:
            done += 1
            reasons = incomplete(item.result)
            if reasons:
                unfinished += 1
                problems.append(f"{item.domain}: incomplete: {reasons[0]}")
            counts = connections(item.result)
            shared, with_tls = shared_endpoints(item.result)
            sharing[0] += shared
            sharing[1] += with_tls
            per_domain["all"].append(sum(count for count, _ in counts.values()))
            endpoints.append(sum(seen for _, seen in counts.values()))
            for name, (count, _) in counts.items():
                per_domain[name].append(count)
            if item.result.finished_at:
                durations.append((item.result.finished_at - item.result.started_at).total_seconds())
        finished = done + failed
        if finished % max(1, args.domains // 20) == 0:
            print(f"  {finished}/{args.domains} after {finished_at - start:.0f} s", file=sys.stderr, flush=True)
    wall = finished_at - start
    cpu_after = os.times()
    submitter_cpu = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    for worker in memory:
        worker.sample()
    sampler.halt.set()

    # The report ----------------------------------------------------------------------------------
    command = ".venv/bin/python -m bench.fleet " + shlex.join(sys.argv[1:])
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    print(f"\n{command}")
    print(f"machine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {dt.date.today()}")
    print(
        f"kinds: {args.kind}; {args.workers} workers × --concurrency {args.concurrency}; default pacing; "
        f"TLS enumeration {'shared' if args.share_tls else 'not shared'} across hosted domains; "
        f"set-up {setup_seconds:.0f} s"
    )
    rate = (done + failed) / wall if wall > 0 else 0.0
    rows = [
        ("domains (addresses)", f"{args.domains} ({args.addresses})"),
        ("wall time", f"{wall:.1f} s ({rate * 60:.1f} domains/min)"),
        ("done / failed / incomplete", f"{done} / {failed} / {unfinished}"),
        ("not finished by --timeout", str(late)),
    ]
    if durations:
        quantiles = statistics.quantiles(durations, n=20) if len(durations) > 1 else durations * 19
        rows.append(("scan time p50 / p95 / max", f"{statistics.median(durations):.1f} / {quantiles[18]:.1f} / "
                     f"{max(durations):.1f} s"))  # fmt: skip
    if endpoints:
        rows.append(("endpoints per domain", f"{statistics.mean(endpoints):.1f}"))
        rows.append(("endpoints with shared TLS lists", f"{sharing[0]} of {sharing[1]}"))
    for name, counts in per_domain.items():
        if counts:
            label = "TLS connections per domain" + ("" if name == "all" else f", {name}")
            rows.append((label, f"{statistics.mean(counts):.1f} (min {min(counts)}, max {max(counts)})"))
    rows.append(("this process' CPU (submit, wait_all polls)", f"{submitter_cpu:.1f} s"))
    for n, worker in enumerate(memory):
        main = worker.hwm_kb.get(worker.pid, 0)
        children = [kb for pid, kb in worker.hwm_kb.items() if pid != worker.pid]
        child = max(children, default=0) / 1024
        tree = worker.peak_sum_kb / 1024
        text = f"main {main / 1024:.0f} MiB, pool child {child:.0f} MiB; tree sum sampled {tree:.0f} MiB"
        rows.append((f"worker {n + 1} peak RSS (VmHWM)", text))
        rows.append(
            (
                f"worker {n + 1} CPU (main + pool)",
                f"{sum(worker.cpu.values()):.0f} s ({sum(worker.cpu.values()) / wall:.0%} of a core)",
            )
        )
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value}")
    if args.domains == 1000 and args.kind == "both":
        met = wall <= GOAL_SECONDS and not failed and not unfinished and done == args.domains
        print(f"goal (1,000 in ≤ {GOAL_SECONDS:.0f} s, no error): {'met' if met else 'MISSED'}")
    for line in problems[:10]:
        print(f"  problem: {line}")
    if len(problems) > 10:
        print(f"  … and {len(problems) - 10} more")
    worker_errors = []
    for path in (worker.log_path for worker in workers):
        worker_errors += [line for line in path.read_text(errors="replace").splitlines() if "ERROR" in line]
    for line in worker_errors[:5]:
        print(f"  worker log: {line[:300]}")
    if args.keep_logs:
        target = Path(args.keep_logs)
        target.mkdir(parents=True, exist_ok=True)
        for path in [*(worker.log_path for worker in workers), *(server.log_path for server in servers)]:
            shutil.copy(path, target / f"{path.parent.name}-{path.name}")
    return 0 if done == args.domains and not unfinished else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=1000, help="hosted domains (default 1000)")
    parser.add_argument("--addresses", type=int, default=10, help="loopback addresses 127.0.1.1… (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="observatory worker processes (default 2)")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="scans at once per worker (its pool size; default 1)"
    )
    parser.add_argument("--kind", choices=["c2s", "s2s", "both"], default="both")
    parser.add_argument(
        "--no-share-tls",
        dest="share_tls",
        action="store_false",
        help="every domain enumerates its endpoints in full (the workers' --no-share-tls)",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds for the whole run (default 3600)")
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the worker and Prosody logs here")
    args = parser.parse_args()
    if not 1 <= args.addresses <= 254 or args.domains < args.addresses or args.workers < 1:
        parser.error("need 1–254 addresses, at least one domain per address and at least one worker")
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as scratch, contextlib.ExitStack() as stack:
        try:
            return run(args, Path(scratch), stack)
        except TestbedError as exc:
            print(f"fleet: {exc}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
