"""TLS enumeration side by side: our engine, sslyze and testssl.sh, through a ~50 ms RTT delay proxy.

    .venv/bin/python bench/tls_enum.py [--instance weak|strong] [--endpoint c2s|s2s|c2s_direct|s2s_direct]
                                       [--rtt-ms 50] [--tools ours,part1,sslyze,testssl,observatory,domain]

Starts a private testbed Prosody (the weak instance by default: TLS 1.0-1.3 with server order) on
free loopback ports, and a user-space proxy in front of the chosen port that holds every chunk for
half the RTT in each direction and charges each new connection one RTT for its TCP handshake (this
kernel has no netem). Each tool scans the endpoint through the proxy at its default settings; the
proxy counts the TCP connections. Prints wall time, connections, the speed and connection ratios,
and whether each tool's per-version suite lists equal ours (explaining any difference).

sslyze runs from its own throwaway venv (``--sslyze-venv``, created with ``pip install sslyze`` if
missing); testssl.sh is Debian's (``testssl``). Debian's 3.0.8 has no ``xmpp-server`` STARTTLS,
so it is skipped on the s2s STARTTLS endpoint. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanners.base import ServiceKind, Transport
from scanners.connection import Endpoint, Limiter, LimiterSettings
from scanners.connection.limits import DEFAULT_MIN_GAP
from scanners.tls import registry
from scanners.tls.facts import TlsVersion
from scanners.tls.openers import endpoint_options, scan_endpoint
from tests.testbed.dns import DnsTestbed, ZoneSpec
from tests.testbed.layout import DOMAIN, SCANNER_DOMAIN, plan_layout
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator
from tests.testbed.prosody import HOST, WEAK_KNOBS, ProsodyConfig, ProsodyInstance

ENDPOINTS = {
    "c2s": (ServiceKind.C2S, Transport.STARTTLS),
    "s2s": (ServiceKind.S2S, Transport.STARTTLS),
    "c2s_direct": (ServiceKind.C2S, Transport.DIRECTTLS),
    "s2s_direct": (ServiceKind.S2S, Transport.DIRECTTLS),
}
Lists = dict[TlsVersion, list[str]]
#: testssl.sh lists a client-order server's suites for all versions together; compared with our union.
ALL_VERSIONS = "all versions"


# --- The delay proxy ---------------------------------------------------------------------------


class DelayProxy:
    """A TCP relay on loopback that delays each chunk by ``rtt / 2`` per direction, in its own thread."""

    def __init__(self, target_port: int, listen_port: int, rtt: float) -> None:
        self.target_port = target_port
        self.port = listen_port
        self.one_way = rtt / 2
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def __enter__(self) -> DelayProxy:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._relay, HOST, self.port), self._loop
        ).result()
        return self

    def __exit__(self, *exc: object) -> None:
        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        # Cancelled relays (at shutdown) must end quietly: asyncio's stream callback would log them.
        with contextlib.suppress(asyncio.CancelledError):
            await self._relay_connection(client_reader, client_writer)

    async def _relay_connection(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        # The client believes it is connected at once; charge the TCP handshake's RTT on its first bytes.
        not_before = self._loop.time() + 2 * self.one_way
        try:
            server_reader, server_writer = await asyncio.open_connection(HOST, self.target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            self._pipe(client_reader, server_writer, not_before),
            self._pipe(server_reader, client_writer, 0.0),
            return_exceptions=True,
        )
        for writer in (client_writer, server_writer):
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, not_before: float) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                await asyncio.sleep(max(0.0, due - self._loop.time()))
                if not data:
                    writer.close()
                    return
                writer.write(data)
                await writer.drain()

        delivery = asyncio.create_task(deliver())
        try:
            while True:
                data = await reader.read(65536)
                queue.put_nowait((max(self._loop.time(), not_before) + self.one_way, data))
                if not data:
                    break
            await delivery
        except (ConnectionError, OSError):
            delivery.cancel()


# --- The tools ---------------------------------------------------------------------------------


@dataclass
class Run:
    tool: str
    seconds: float
    connections: int
    lists: Lists | None
    note: str = ""


def run_ours(
    endpoint: Endpoint, pacing: LimiterSettings, *, part1_only: bool = False
) -> tuple[Lists, dict[TlsVersion, bool], str]:
    async def scan() -> tuple[Lists, dict[TlsVersion, bool], str]:
        options = endpoint_options(endpoint)
        facts = await scan_endpoint(endpoint, Limiter(pacing), options.minimal if part1_only else options)
        costs = ", ".join(f"{family} {count}" for family, count in facts.connections_by_probe.items())
        note = f"connections by probe family: {costs}"
        if facts.errors:
            note += f"; {len(facts.errors)} probe errors"
        return facts.cipher_suites, facts.server_order, note

    return asyncio.run(scan())


_SSLYZE_COMMANDS = {
    "ssl_2_0_cipher_suites": TlsVersion.SSL2,
    "ssl_3_0_cipher_suites": TlsVersion.SSL3,
    "tls_1_0_cipher_suites": TlsVersion.TLS10,
    "tls_1_1_cipher_suites": TlsVersion.TLS11,
    "tls_1_2_cipher_suites": TlsVersion.TLS12,
    "tls_1_3_cipher_suites": TlsVersion.TLS13,
}


def ensure_sslyze(venv: Path) -> Path:
    binary = venv / "bin" / "sslyze"
    if not binary.exists():
        print(f"creating {venv} and installing sslyze (once)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "sslyze"], check=True)
    return binary


def run_sslyze(binary: Path, port: int, endpoint_name: str, workdir: Path) -> tuple[Lists | None, str]:
    out = workdir / "sslyze.json"
    argv = [str(binary), "--quiet", f"--json_out={out}"]
    kind, transport = ENDPOINTS[endpoint_name]
    if transport is Transport.STARTTLS:
        argv += ["--starttls", "xmpp" if kind is ServiceKind.C2S else "xmpp_server", "--xmpp_to", DOMAIN]
    subprocess.run([*argv, f"{DOMAIN}:{port}{{{HOST}}}"], capture_output=True, timeout=1800)
    result = json.loads(out.read_text())["server_scan_results"][0]
    if result["scan_status"] != "COMPLETED":
        return None, f"scan status {result['scan_status']}"
    lists: Lists = {}
    for command, version in _SSLYZE_COMMANDS.items():
        attempt = result["scan_result"][command]
        if attempt["status"] != "COMPLETED":
            return None, f"{command}: {attempt['status']}"
        accepted = [entry["cipher_suite"]["name"] for entry in attempt["result"]["accepted_cipher_suites"]]
        if accepted:
            lists[version] = accepted
    return lists, ""


_TESTSSL_VERSIONS = {
    "SSLv2": TlsVersion.SSL2,
    "SSLv3": TlsVersion.SSL3,
    "TLSv1": TlsVersion.TLS10,
    "TLSv1_1": TlsVersion.TLS11,
    "TLSv1_2": TlsVersion.TLS12,
    "TLSv1_3": TlsVersion.TLS13,
}


def _iana(name: str) -> str:
    for suite in registry.all_suites():
        if name in (suite.openssl_name, suite.name) and not suite.sslv2:
            return suite.name
    return name


def run_testssl(port: int, endpoint_name: str, workdir: Path) -> tuple[Lists | None, str]:
    transport = ENDPOINTS[endpoint_name][1]
    out = workdir / "testssl.json"
    argv = ["testssl", "--quiet", "--color", "0", "--warnings", "off", "--ip", HOST, "--nodns", "none"]
    argv += ["--jsonfile", str(out)]
    if transport is Transport.STARTTLS:
        argv += ["--starttls", "xmpp", "--xmpphost", DOMAIN]
    subprocess.run([*argv, f"{DOMAIN}:{port}"], capture_output=True, timeout=3600)
    findings = {entry["id"]: entry["finding"] for entry in json.loads(out.read_text())}
    # The default run lists each version's suites in order ("cipherorder_<version>") only when the
    # server imposes an order; otherwise it only tests all suites together (-e), not per version.
    lists: Lists = {}
    for label, version in _TESTSSL_VERSIONS.items():
        order = findings.get(f"cipherorder_{label}")
        if order:
            lists[version] = [_iana(name) for name in order.split()]
    if not lists:
        # Keyed by a pseudo-version: compared with the union of our per-version lists.
        every = sorted(_iana(f.split()[1]) for key, f in findings.items() if key.startswith("cipher_x"))
        return {ALL_VERSIONS: every}, "a client-order server gets no per-version lists by default: union compared"
    return lists, ""


_SRV = {"c2s": "_xmpp-client", "c2s_direct": "_xmpps-client", "s2s": "_xmpp-server", "s2s_direct": "_xmpps-server"}


def run_cli(proxies: dict[str, DelayProxy], ports: PortAllocator, workdir: Path, ca_file: Path, gap: float) -> Run:
    """``observatory scan`` of a domain whose SRV records point at the proxies (``c2s``, ``c2s_direct``,
    and for the whole domain ``s2s``, ``s2s_direct``): DNS, streams, TLS and certificates."""
    kind = "both" if "s2s" in proxies else "c2s"
    records = [f"{_SRV[name]}._tcp SRV 0 5 {proxy.port} xmpp" for name, proxy in proxies.items()]
    zone = ZoneSpec(DOMAIN, records=[*records, f"xmpp A {HOST}"])  # no AAAA: the proxies listen on IPv4 only
    tool = "domain" if kind == "both" else "observatory"
    out = workdir / "scan.json"
    observatory = Path(sys.executable).with_name("observatory")
    with DnsTestbed(workdir / "dns", [zone], authoritative_port=ports.take(), resolver_port=ports.take()) as dns:
        argv = [str(observatory), "scan", "--kind", kind, "--ipv4", "--no-http", "--no-save", "--format", "json"]
        argv += ["--resolver", f"{dns.resolver[0]}:{dns.resolver[1]}", "--trust-anchor", str(dns.trust_anchor_path)]
        argv += ["--ca-file", str(ca_file), "--connection-gap", str(gap), "-o", str(out), DOMAIN]

        def scan() -> tuple[Lists | None, str]:
            subprocess.run(argv, capture_output=True, timeout=600)
            document = json.loads(out.read_text())
            endpoints = [e for name in ("c2s", "s2s") if document["services"].get(name) for e in
                         document["services"][name]["endpoints"]]  # fmt: skip
            c2s = next(e for e in endpoints if e["transport"] == "starttls" and e["kind"] == "c2s")
            if not c2s.get("tls"):
                return None, f"no TLS facts on {c2s['id']}: {c2s.get('errors')}"
            lists = {TlsVersion(version): names for version, names in c2s["tls"]["cipher_suites"].items()}
            grades = ", ".join(
                f"{e['kind']} {e['transport']} {e['grade']['letter']}" for e in endpoints if e.get("grade")
            )
            tls_total = sum(e["tls"]["connections"] for e in endpoints if e.get("tls"))
            return lists, (
                f"whole {kind} scan of {len(endpoints)} endpoints (DNS, stream, TLS, certificate): "
                f"{document.get('connections')} connections, {tls_total} of them TLS probes; grades {grades}"
            )

        return measure(list(proxies.values()), tool, scan)


# --- Comparing ---------------------------------------------------------------------------------


def differences(ours: Lists, theirs: Lists, ordered: dict[TlsVersion, bool]) -> list[str]:
    if ALL_VERSIONS in theirs:
        ours = {ALL_VERSIONS: sorted({name for names in ours.values() for name in names})}  # type: ignore[dict-item]
    notes = []
    for version in [*TlsVersion, ALL_VERSIONS]:
        mine, other = ours.get(version, []), theirs.get(version, [])  # type: ignore[call-overload]
        if set(mine) != set(other):
            only_ours, only_theirs = sorted(set(mine) - set(other)), sorted(set(other) - set(mine))
            notes.append(f"{version}: only ours {only_ours}, only theirs {only_theirs}")
        elif ordered.get(version) and mine != other:  # type: ignore[call-overload]
            notes.append(f"{version}: same suites, different order: ours {mine}, theirs {other}")
    return notes


def measure(proxies: list[DelayProxy], tool: str, work: Callable[[], tuple[Lists | None, str]]) -> Run:
    for proxy in proxies:
        proxy.connections = 0
    started = time.monotonic()
    lists, note = work()
    return Run(tool, time.monotonic() - started, sum(proxy.connections for proxy in proxies), lists, note)


def run_tools(args: argparse.Namespace, proxy: DelayProxy, workdir: Path) -> tuple[list[Run], dict[TlsVersion, bool]]:
    kind, transport = ENDPOINTS[args.endpoint]
    from_domain = SCANNER_DOMAIN if kind is ServiceKind.S2S else None
    endpoint = Endpoint(kind, DOMAIN, HOST, proxy.port, transport, from_domain=from_domain)
    tools = args.tools.split(",")
    runs: list[Run] = []
    ordered: dict[TlsVersion, bool] = {}

    def ours() -> tuple[Lists | None, str]:
        lists, order, note = run_ours(endpoint, LimiterSettings(min_gap=args.min_gap))
        ordered.update(order)
        return lists, note

    if "ours" in tools:
        runs.append(measure([proxy], "ours", ours))

    def part1() -> tuple[Lists | None, str]:
        lists, _, note = run_ours(endpoint, LimiterSettings(min_gap=args.min_gap), part1_only=True)
        return lists, note

    if "part1" in tools:  # versions, suites and chain only: what groups, DH, extensions … cost on top
        runs.append(measure([proxy], "part1", part1))
    if "sslyze" in tools:
        binary = ensure_sslyze(args.sslyze_venv)
        runs.append(measure([proxy], "sslyze", lambda: run_sslyze(binary, proxy.port, args.endpoint, workdir)))
    if "testssl" in tools and shutil.which("testssl"):
        if (kind, transport) == (ServiceKind.S2S, Transport.STARTTLS):
            print("testssl.sh skipped: Debian's 3.0.8 has no xmpp-server STARTTLS (it sends jabber:client)")
        else:
            runs.append(measure([proxy], "testssl.sh", lambda: run_testssl(proxy.port, args.endpoint, workdir)))
    return runs, ordered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", choices=["weak", "strong"], default="weak")
    parser.add_argument("--endpoint", choices=list(ENDPOINTS), default="c2s")
    parser.add_argument("--rtt-ms", type=float, default=50.0)
    parser.add_argument("--tools", default="ours,part1,sslyze,testssl,observatory,domain")
    parser.add_argument("--sslyze-venv", type=Path, default=Path("/tmp/sslyze-venv"))
    parser.add_argument(
        "--min-gap",
        type=float,
        default=DEFAULT_MIN_GAP,
        help=f"our seconds between new connections (connection layer default {DEFAULT_MIN_GAP})",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tls-enum-bench-") as scratch:
        root = Path(scratch)
        ports = PortAllocator()
        layout = plan_layout(ports)
        pki = TestPKI.create(root / "pki")
        leaf = pki.leaf("good")
        config = ProsodyConfig(args.instance, layout.strong, leaf, dns_resolver_port=layout.dns_resolver)
        if args.instance == "weak":
            config = dataclasses.replace(config, **WEAK_KNOBS)
        target = getattr(config.ports, args.endpoint)
        with (
            ProsodyInstance(config, root / args.instance),
            DelayProxy(target, ports.take(), args.rtt_ms / 1000) as proxy,
        ):
            transport = ENDPOINTS[args.endpoint][1].value
            print(
                f"{args.instance} Prosody, {args.endpoint} ({transport}), {args.rtt_ms:.0f} ms RTT through the proxy;"
                f" our pacing: {LimiterSettings().max_in_flight} in flight, {args.min_gap} s between connections"
            )
            runs, ordered = run_tools(args, proxy, root)
            tools = args.tools.split(",")
            if "observatory" in tools and args.endpoint == "c2s":
                with DelayProxy(config.ports.c2s_direct, ports.take(), args.rtt_ms / 1000) as direct:
                    run = run_cli({"c2s": proxy, "c2s_direct": direct}, ports, root, pki.root_path, args.min_gap)
                    runs.append(run)
            if "domain" in tools and args.endpoint == "c2s":
                with contextlib.ExitStack() as more:
                    others = {
                        name: more.enter_context(
                            DelayProxy(getattr(config.ports, name), ports.take(), args.rtt_ms / 1000)
                        )
                        for name in ("c2s_direct", "s2s", "s2s_direct")
                    }
                    run = run_cli({"c2s": proxy, **others}, ports, root, pki.root_path, args.min_gap)
                    runs.append(run)
    report(runs, ordered)


def _order_for(run: Run, ordered: dict[TlsVersion, bool]) -> dict[TlsVersion, bool]:
    """sslyze does not detect server order (removed in 2021), so only its sets can be compared."""
    return {} if run.tool == "sslyze" else ordered


def report(runs: list[Run], ordered: dict[TlsVersion, bool]) -> None:
    ours = next((run for run in runs if run.tool == "ours"), None)
    print(f"\n{'tool':<11} {'wall s':>8} {'conns':>6} {'ours faster':>12} {'conns vs ours':>14}  lists")
    for run in runs:
        rival = ours is not None and run.tool not in ("ours", "part1", "observatory", "domain")  # not rivals
        speed = f"{run.seconds / ours.seconds:.1f}x" if rival and ours else ""
        conns = f"{run.connections / ours.connections:.1f}x" if rival and ours and ours.connections else ""
        if run.lists is None:
            verdict = "n/a"
        elif ours is None or run is ours:
            verdict = "reference"
        else:
            verdict = (
                "identical" if not differences(ours.lists or {}, run.lists, _order_for(run, ordered)) else "DIFFER"
            )
        print(f"{run.tool:<11} {run.seconds:8.1f} {run.connections:6d} {speed:>12} {conns:>14}  {verdict}")
    if ours and ours.lists is not None:
        print("\nours:")
        for version, names in ours.lists.items():
            order = {True: "server order", False: "client order"}.get(ordered.get(version), "-")  # type: ignore[arg-type]
            print(f"  {version.value:<8} ({order}): {', '.join(names)}")
    for run in runs:
        if run.note:
            print(f"\n{run.tool}: {run.note}")
        if ours and ours.lists is not None and run.lists is not None and run is not ours:
            for line in differences(ours.lists, run.lists, _order_for(run, ordered)):
                print(f"{run.tool}: {line}")


if __name__ == "__main__":
    main()
