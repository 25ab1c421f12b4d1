"""The ``observatory`` command. Thin: parse and check arguments, call the package, render, set the exit code."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click
from rich.console import Console
from sqlalchemy.orm import Session

from observatory import __version__, storage
from observatory.grading import rank
from observatory.model import ScanResult
from observatory.orchestrate import (
    DEFAULT_FROM_DOMAIN,
    DEFAULT_PROBE_TIMEOUT,
    DEFAULT_TIMEOUT,
    ScanEvent,
    ScanOptions,
    incomplete,
    run_scan,
)
from observatory.profiles import available as available_profiles
from observatory.profiles import with_profiles
from observatory.storage.migrate import SchemaState
from observatory.trust_store import CaFileError, load_ca_file
from reports.json import render_json, render_schema
from reports.junit import render_junit
from reports.markdown import render_markdown
from reports.sarif import render_sarif
from reports.text import render_text
from scanners.addresses import AddressError, HostPort, parse_host_port
from scanners.base import ServiceKind
from scanners.connection import LimiterSettings
from scanners.connection.limits import DEFAULT_MAX_IN_FLIGHT, DEFAULT_MIN_GAP, DEFAULT_WAIT_LIMIT
from scanners.dns.names import DomainError, normalize_domain
from scanners.dns.trust_anchors import TrustAnchorError, TrustAnchors, load_trust_anchors
from scanners.policy import AddressPolicy, parse_networks

EXIT_OK = 0
EXIT_BELOW_BAR = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3

EXIT_CODES_HELP = """\b
Exit codes:
  0  the scan ran and met the bar
  1  the result is below --fail-under (or a compliance profile failed)
  2  usage error: a bad option or argument
  3  the scan could not be completed (nothing or only part was scanned)"""


def _domain(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    try:
        return normalize_domain(value)
    except DomainError as exc:
        raise click.BadParameter(str(exc)) from None


def _resolver(_ctx: click.Context, _param: click.Parameter, value: str | None) -> HostPort | None:
    if value is None:
        return None
    try:
        return parse_host_port(value, 53, require_ip=True)
    except AddressError as exc:
        raise click.BadParameter(str(exc)) from None


def _trust_anchor(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> TrustAnchors | None:
    if value is None:
        return None
    try:
        return load_trust_anchors(value)
    except TrustAnchorError as exc:
        raise click.BadParameter(str(exc)) from None


def _ca_file(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    if value is not None:
        try:
            load_ca_file(value)
        except CaFileError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="observatory")
def cli() -> None:
    """Security and compliance scanner for XMPP servers.

    Scans a domain's client (c2s) and server (s2s) services as XMPP clients and servers find them:
    SRV records and DNSSEC, DANE, STARTTLS and Direct TLS, TLS versions and cipher suites,
    certificates and the XMPP identity, then grades what it found and explains every reason.
    """


# --- Stored scans -------------------------------------------------------------------------------

DB_EXIT_CODES_HELP = """\b
Exit codes:
  0  done
  2  usage error: a bad option, argument or database URL
  3  the database could not be used (unreachable, or its schema is newer than this version)"""


def _db_option(function: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--db",
        "db_url",
        metavar="URL",
        envvar=storage.DATABASE_URL_ENV,
        help="Database: sqlite:///PATH or postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME. Default: "
        "$OBSERVATORY_DATABASE_URL, else a SQLite file per user "
        "($XDG_DATA_HOME/xmpp-observatory/observatory.db, i.e. ~/.local/share/… by default), "
        "created on first use.",
    )(function)


@contextmanager
def _storage_errors() -> Iterator[None]:
    try:
        yield
    except storage.DatabaseUrlError as exc:
        raise click.BadParameter(str(exc), param_hint="'--db'") from None
    except storage.StorageError as exc:
        click.echo(f"observatory: {exc}", err=True)
        sys.exit(EXIT_INCOMPLETE)


@contextmanager
def _session(db_url: str | None) -> Iterator[Session]:
    """A session on the database, its failures turned into messages and exit codes."""
    with (
        _storage_errors(),
        storage.open_database(db_url) as database,
        database.connection_errors(),
        database.session() as session,
    ):
        yield session


def _warn_skipped(skipped: list[storage.SkippedScan]) -> None:
    for scan in skipped:
        click.echo(f"observatory: {scan}", err=True)


def _connect(_ctx: click.Context, _param: click.Parameter, value: str | None) -> HostPort | None:
    if value is None:
        return None
    try:
        return parse_host_port(value, 0)
    except AddressError as exc:
        raise click.BadParameter(str(exc)) from None


#: The scan engine's settings, shared by ``scan``, ``serve`` and ``worker``: each also reads an
#: ``OBSERVATORY_*`` variable, so a site is pointed at a resolver or test CA exactly like a CLI scan.
ENGINE_OPTIONS = [
    click.option(
        "--resolver",
        metavar="HOST[:PORT]",
        callback=_resolver,
        help="IP address of the recursive DNS server to ask (port 53 unless given; IPv6 as [addr]:port). "
        "Default: the system's resolvers. DNSSEC is validated by the scanner itself either way.",
        envvar="OBSERVATORY_RESOLVER",
        show_envvar=True,
    ),
    click.option(
        "--trust-anchor",
        type=click.Path(path_type=Path, dir_okay=False),
        callback=_trust_anchor,
        metavar="FILE",
        help="DNSSEC trust anchors to use instead of the IANA root's: DS or DNSKEY records in zone-file "
        "format, like the dsset- files dnssec-signzone writes.",
        envvar="OBSERVATORY_TRUST_ANCHOR",
        show_envvar=True,
    ),
    click.option(
        "--ca-file",
        type=click.Path(path_type=Path, dir_okay=False),
        callback=_ca_file,
        metavar="FILE",
        help="Extra trusted root certificates (PEM), added to Mozilla's roots.",
        envvar="OBSERVATORY_CA_FILE",
        show_envvar=True,
    ),
    click.option(
        "--ipv4",
        is_flag=True,
        help="Only look up and scan IPv4 addresses.",
        envvar="OBSERVATORY_IPV4",
        show_envvar=True,
    ),
    click.option(
        "--ipv6",
        is_flag=True,
        help="Only look up and scan IPv6 addresses (neither flag: both).",
        envvar="OBSERVATORY_IPV6",
        show_envvar=True,
    ),
    click.option(
        "--from-domain",
        metavar="DOMAIN",
        default=DEFAULT_FROM_DOMAIN,
        show_default=True,
        help="The scanner's own domain, sent as 'from' on s2s streams. The scanner never asks the server "
        "to connect back to it.",
        envvar="OBSERVATORY_FROM_DOMAIN",
        show_envvar=True,
    ),
    click.option(
        "--max-connections",
        type=click.IntRange(min=1, max=64),
        default=DEFAULT_MAX_IN_FLIGHT,
        metavar="N",
        show_default=True,
        help="Most connections open at once to one server address.",
        envvar="OBSERVATORY_MAX_CONNECTIONS",
        show_envvar=True,
    ),
    click.option(
        "--connection-gap",
        type=click.FloatRange(min=0, max=60),
        default=DEFAULT_MIN_GAP,
        show_default=True,
        metavar="SECONDS",
        help="Least time between two new connections to one server address (servers rate-limit).",
        envvar="OBSERVATORY_CONNECTION_GAP",
        show_envvar=True,
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(min=1, max=3600),
        default=DEFAULT_TIMEOUT,
        show_default=True,
        metavar="SECONDS",
        help="Time limit for the whole scan; what is unfinished then is reported as such.",
        envvar="OBSERVATORY_TIMEOUT",
        show_envvar=True,
    ),
    click.option(
        "--probe-timeout",
        type=click.FloatRange(min=1, max=600),
        default=DEFAULT_PROBE_TIMEOUT,
        show_default=True,
        metavar="SECONDS",
        help="Time limit for one connection.",
        envvar="OBSERVATORY_PROBE_TIMEOUT",
        show_envvar=True,
    ),
    click.option(
        "--wait-timeout",
        type=click.FloatRange(min=0.5, max=600),
        default=DEFAULT_WAIT_LIMIT,
        show_default=True,
        metavar="SECONDS",
        help="Longest one wait for a server within a connection (connect, a reply, a TLS handshake): a "
        "server that accepts connections and says nothing is reported after this.",
        envvar="OBSERVATORY_WAIT_TIMEOUT",
        show_envvar=True,
    ),
    click.option(
        "--dns-timeout",
        type=click.FloatRange(min=0.1, max=60),
        default=3.0,
        show_default=True,
        metavar="SECONDS",
        help="Seconds to wait for each DNS answer (each question is tried twice).",
        envvar="OBSERVATORY_DNS_TIMEOUT",
        show_envvar=True,
    ),
    click.option(
        "--no-sasl-probes",
        is_flag=True,
        help="Never start SASL: skip the cleartext SASL attempt that checks STARTTLS enforcement and "
        "SCRAM's first round for a random account (XEP-0474/0515). No password is ever sent either way.",
        envvar="OBSERVATORY_NO_SASL_PROBES",
        show_envvar=True,
    ),
    click.option(
        "--no-http",
        is_flag=True,
        help="Skip HTTPS discovery: XEP-0156 host-meta, the _xmppconnect TXT record and POSH files.",
        envvar="OBSERVATORY_NO_HTTP",
        show_envvar=True,
    ),
    click.option(
        "--https-port",
        type=click.IntRange(1, 65535),
        default=443,
        show_default=True,
        metavar="PORT",
        help="TCP port for HTTPS discovery (host-meta, POSH), e.g. for a test server.",
        envvar="OBSERVATORY_HTTPS_PORT",
        show_envvar=True,
    ),
    click.option(
        "--http-port",
        type=click.IntRange(1, 65535),
        default=80,
        show_default=True,
        metavar="PORT",
        help="TCP port for the plain-HTTP host-meta check.",
        envvar="OBSERVATORY_HTTP_PORT",
        show_envvar=True,
    ),
    click.option(
        "--public",
        is_flag=True,
        envvar="OBSERVATORY_PUBLIC",
        show_envvar=True,
        help="Public mode: never connect to an address that is not public unicast (loopback, RFC 1918, CGNAT, "
        "link-local, documentation, ULA, NAT64/6to4/Teredo of those …), checked on every connection's "
        "address. For a site that scans what strangers name; refused endpoints are reported as such.",
    ),
    click.option(
        "--allow-network",
        "allow_networks",
        multiple=True,
        metavar="CIDR",
        envvar="OBSERVATORY_ALLOW_NETWORKS",
        show_envvar=True,
        help="In public mode, still allow this network (repeatable; the variable takes a space-separated list), "
        "e.g. an operator's own servers.",
    ),
    click.option(
        "--deny-network",
        "deny_networks",
        multiple=True,
        metavar="CIDR",
        envvar="OBSERVATORY_DENY_NETWORKS",
        show_envvar=True,
        help="Never connect to this network (repeatable; space-separated in the variable), in any mode.",
    ),
    click.option(
        "--allow-custom-targets",
        is_flag=True,
        envvar="OBSERVATORY_ALLOW_CUSTOM_TARGETS",
        show_envvar=True,
        help="In public mode, allow --connect and non-standard --https-port/--http-port (refused otherwise).",
    ),
]


def engine_options(function: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(ENGINE_OPTIONS):
        function = option(function)
    return function


def engine_template(
    *,
    resolver: HostPort | None,
    trust_anchor: TrustAnchors | None,
    ca_file: Path | None,
    ipv4: bool,
    ipv6: bool,
    from_domain: str,
    max_connections: int,
    connection_gap: float,
    timeout: float,
    probe_timeout: float,
    wait_timeout: float,
    dns_timeout: float,
    no_sasl_probes: bool,
    no_http: bool,
    https_port: int,
    http_port: int,
    public: bool,
    allow_networks: tuple[str, ...],
    deny_networks: tuple[str, ...],
    allow_custom_targets: bool,
) -> ScanOptions:
    """The scan options the engine options give, for any domain (``domain`` and ``kinds`` are set per scan)."""
    try:
        from_domain = normalize_domain(from_domain)
    except DomainError as exc:
        raise click.BadParameter(str(exc), param_hint="'--from-domain'") from None
    if public and not allow_custom_targets and (https_port, http_port) != (443, 80):
        raise click.BadParameter(
            "custom HTTP(S) ports are refused in public mode (add --allow-custom-targets to permit them)",
            param_hint="'--https-port'/'--http-port'",
        )
    try:
        policy = AddressPolicy(
            public_only=public, allow=parse_networks(allow_networks), deny=parse_networks(deny_networks)
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--allow-network'/'--deny-network'") from None
    return ScanOptions(
        domain="scan.invalid",
        resolver=resolver,
        trust_anchors=trust_anchor,
        ca_file=str(ca_file) if ca_file else None,
        extra_roots=tuple(load_ca_file(ca_file)) if ca_file else (),
        ipv4=ipv4 or not ipv6,
        ipv6=ipv6 or not ipv4,
        from_domain=from_domain,
        limiter=LimiterSettings(max_in_flight=max_connections, min_gap=connection_gap),
        timeout=timeout,
        probe_timeout=probe_timeout,
        wait_timeout=wait_timeout,
        dns_timeout=dns_timeout,
        sasl_probes=not no_sasl_probes,
        http=not no_http,
        https_port=https_port,
        http_port=http_port,
        policy=policy,
    )


BROKER_OPTIONS = [
    click.option(
        "--broker",
        "broker_url",
        metavar="URL",
        envvar="OBSERVATORY_BROKER_URL",
        show_envvar=True,
        help="Celery broker: redis://HOST:PORT/DB or amqp://USER:PASSWORD@HOST:PORT// (RabbitMQ).",
    ),
    click.option(
        "--redis",
        "redis_url",
        metavar="URL",
        envvar="OBSERVATORY_REDIS_URL",
        show_envvar=True,
        help="Redis for progress events and the fleet-wide pacing per server address (default: the broker, "
        "when it is Redis; needed with RabbitMQ).",
    ),
    click.option(
        "--namespace",
        default="observatory",
        show_default=True,
        metavar="NAME",
        envvar="OBSERVATORY_NAMESPACE",
        show_envvar=True,
        help="Separates sites that share a broker and Redis (the queue and keys carry it); the site and its "
        "workers must use the same.",
    ),
]


def broker_options(function: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(BROKER_OPTIONS):
        function = option(function)
    return function


GRADE_CHOICES = ["A+", "A", "A-", "B", "C", "D", "E", "T", "F"]

#: Batches and workers: domains hosted on one endpoint share its TLS enumeration once confirmed.
SHARE_TLS_OPTION = click.option(
    "--share-tls/--no-share-tls",
    default=True,
    show_default=True,
    envvar="OBSERVATORY_SHARE_TLS",
    show_envvar=True,
    help="Domains hosted on one server address and port share one TLS enumeration (versions, suites, "
    "order, groups, DH): each further domain sends one hello per version with its own name and takes "
    "the lists only when every answer is the predicted one (its certificate, staple, ticket and "
    "extension answers are always its own; the report says where the lists came from).",
)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("domain", required=False)
@click.option(
    "--from-file",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Scan every domain listed in FILE (one per line, # comments) instead of DOMAIN: with --format "
    "json one result document per line (NDJSON), with text one line per domain. Runs --concurrency "
    "scans at once here, sharing one pacing per server address, or on workers with --broker.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    metavar="N",
    help="With --from-file: domains scanned at once in this process.",
)
@SHARE_TLS_OPTION
@click.option(
    "--kind",
    type=click.Choice(["c2s", "s2s", "both"]),
    default="both",
    show_default=True,
    help="Which service to scan: client-to-server, server-to-server, or both.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "sarif", "junit", "markdown"]),
    default="text",
    show_default=True,
    help="Report format: text for people, json for machines (the full result document; "
    "`observatory schema` prints its JSON Schema), sarif for code-scanning dashboards (SARIF 2.1.0), "
    "junit for CI test reports, markdown for CI summaries and issue comments.",
)
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    type=click.Choice(list(available_profiles())),
    metavar="NAME",
    help="Also judge a compliance profile (repeatable): "
    + ", ".join(available_profiles())
    + ". Exit with 1 when one fails. `observatory profiles` says what each checks.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Write the report to FILE instead of standard output.",
)
@click.option(
    "--fail-under",
    type=click.Choice(GRADE_CHOICES),
    metavar="GRADE",
    help="Exit with 1 when a scanned service's grade is below GRADE (A+, A, A-, B … F; T counts as below E).",
)
@click.option(
    "--connect",
    metavar="HOST[:PORT]",
    callback=_connect,
    help="Skip DNS discovery and scan this address or host name as DOMAIN's server (e.g. a staging "
    "server before DNS points at it). Port: 5222 for c2s, 5269 for s2s unless given; IPv6 as "
    "[addr]:port. Certificates are still checked against DOMAIN.",
)
@click.option(
    "--save/--no-save",
    default=True,
    show_default=True,
    help="Store the result in the database (see `observatory history`).",
)
@click.option(
    "--diff",
    is_flag=True,
    help="Show what changed since the last stored scan of DOMAIN: grades, findings, endpoints, "
    "TLS versions and suites, certificates.",
)
@broker_options
@engine_options
@_db_option
def scan(
    domain: str | None,
    from_file: Path | None,
    concurrency: int,
    share_tls: bool,
    kind: str,
    output_format: str,
    output: Path | None,
    fail_under: str | None,
    profiles: tuple[str, ...],
    connect: HostPort | None,
    save: bool,
    diff: bool,
    broker_url: str | None,
    redis_url: str | None,
    namespace: str,
    db_url: str | None,
    **engine: object,
) -> None:
    """Scan the XMPP services of DOMAIN and print a graded report.

    DOMAIN is the XMPP domain (the part after @ in an address), e.g. example.org; international
    names are accepted and converted to their ASCII form. Progress is shown on standard error when
    it is a terminal.
    """
    kinds = (ServiceKind.C2S, ServiceKind.S2S) if kind == "both" else (ServiceKind(kind),)
    template = engine_template(**engine)  # type: ignore[arg-type]
    if from_file is not None:
        if domain is not None or connect is not None or diff:
            raise click.UsageError("--from-file scans the domains it lists: give no DOMAIN, --connect or --diff")
        if output_format not in ("json", "text"):
            raise click.BadParameter("--from-file writes json (one document per line) or text", param_hint="'--format'")
        scan_batch(
            from_file,
            template,
            kinds,
            output_format,
            output,
            fail_under,
            concurrency,
            save,
            db_url,
            broker_url,
            namespace,
            share_tls,
        )
        return
    if domain is None:
        raise click.UsageError("give a DOMAIN to scan, or --from-file FILE")
    domain = _domain(click.get_current_context(), None, domain)  # type: ignore[arg-type]
    if connect is not None and engine["public"] and not engine["allow_custom_targets"]:
        raise click.BadParameter(
            "--connect is refused in public mode (add --allow-custom-targets to permit it)", param_hint="'--connect'"
        )
    options = dataclasses.replace(template, domain=domain, kinds=kinds, connect=connect)
    result = with_profiles(run_with_progress(options), profiles)

    changes: list[str] | None = None
    if save or diff:
        with (
            _storage_errors(),
            storage.open_database(db_url) as database,
            database.connection_errors(),
            database.session() as session,
        ):
            previous = storage.latest_for_domain(session, domain=domain, kinds=kinds) if diff else None
            if save:
                storage.save_result(session, result=result)
        if previous is not None:
            _warn_skipped(previous.skipped)
            if previous.scan is None or previous.scan.result is None:
                changes = ["no earlier scan of this domain"]
            else:
                changes = storage.describe(storage.diff_results(previous.scan.result, result)) or ["no change"]

    write_report(result, output_format, output, changes)
    reasons = incomplete(result)
    if reasons:
        click.echo("observatory: the scan could not be completed:", err=True)
        for reason in reasons[:10]:
            click.echo(f"  {reason}", err=True)
        sys.exit(EXIT_INCOMPLETE)
    failed = [p for p in result.profiles if p.status.value == "fail"]
    for profile in failed:
        click.echo(f"observatory: the {profile.name} ({profile.edition}) profile fails", err=True)
    if (fail_under and below(result, fail_under)) or failed:
        sys.exit(EXIT_BELOW_BAR)


def _batch_line(domain: str, result: ScanResult | None, error: str | None) -> str:
    if result is None:
        return f"{domain}  failed: {error}"
    grades = [
        f"{name} {service.grade.letter if service.grade else '-'}"
        for name, service in (("c2s", result.services.c2s), ("s2s", result.services.s2s))
        if service is not None
    ]
    gaps = incomplete(result)
    tail = f"  incomplete: {gaps[0]}" if gaps else ""
    return f"{domain}  {'  '.join(grades)}  ({len(result.findings)} findings){tail}"


def scan_batch(
    path: Path,
    template: ScanOptions,
    kinds: tuple[ServiceKind, ...],
    output_format: str,
    output: Path | None,
    fail_under: str | None,
    concurrency: int,
    save: bool,
    db_url: str | None,
    broker_url: str | None,
    namespace: str,
    share_tls: bool = True,
) -> None:
    """``scan --from-file``: every domain, a line of output as each scan ends; the worst exit code."""
    from observatory.batch import BatchItem, DomainListError, read_domains, scan_locally, submit_all, wait_all

    try:
        domains = read_domains(path)
    except DomainListError as exc:
        raise click.BadParameter(str(exc), param_hint="'--from-file'") from None
    try:
        sink = output.open("w", encoding="utf-8") if output else sys.stdout
    except OSError as exc:
        click.echo(f"observatory: cannot write {output}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_INCOMPLETE)
    worst = EXIT_OK

    def emit(item: BatchItem) -> None:
        nonlocal worst
        if item.result is None or incomplete(item.result):
            worst = EXIT_INCOMPLETE
        elif fail_under and below(item.result, fail_under) and worst == EXIT_OK:
            worst = EXIT_BELOW_BAR
        if output_format == "json":
            line = (
                item.result.model_dump_json(by_alias=True)
                if item.result
                else json.dumps({"domain": item.domain, "error": item.error})
            )
        else:
            line = _batch_line(item.domain, item.result, item.error)
        sink.write(line + "\n")
        sink.flush()

    try:
        if broker_url:
            from observatory.jobs.distributed import send_scans

            with _storage_errors(), storage.open_database(db_url) as database:
                queued = submit_all(database, domains, kinds, template)
                send_scans(broker_url, list(queued), namespace)
                for item in wait_all(database, queued, timeout=template.timeout * len(domains) + 300):
                    emit(item)
        else:
            with _storage_errors(), storage.open_database(db_url) if save else contextlib.nullcontext() as database:

                async def run() -> None:
                    async for item in scan_locally(domains, template, kinds, concurrency, share_tls=share_tls):
                        if database is not None and item.result is not None:
                            with database.connection_errors(), database.session() as session:
                                storage.save_result(session, result=item.result)
                        emit(item)

                asyncio.run(run())
    finally:
        if output:
            sink.close()
    sys.exit(worst)


def below(result: ScanResult, bar: str) -> bool:
    grades = [service.grade for service in (result.services.c2s, result.services.s2s) if service and service.grade]
    return any(rank(grade.letter) > rank(bar) for grade in grades)  # type: ignore[arg-type]


def run_with_progress(options: ScanOptions) -> ScanResult:
    err = Console(stderr=True)
    if not err.is_terminal:
        return asyncio.run(run_scan(options))
    with err.status(f"scanning {options.domain} …") as status:

        def show(event: ScanEvent) -> None:
            progress = f" [{event.done}/{event.total}]" if event.total else ""
            status.update(f"scanning {options.domain}{progress}: {event.message}")

        return asyncio.run(run_scan(options, show))


MACHINE_FORMATS: dict[str, Callable[[ScanResult], str]] = {
    "json": render_json,
    "sarif": render_sarif,
    "junit": render_junit,
    "markdown": render_markdown,
}


def write_report(result: ScanResult, output_format: str, output: Path | None, changes: list[str] | None) -> None:
    if output_format in MACHINE_FORMATS:
        text = MACHINE_FORMATS[output_format](result)
    else:
        from observatory.profiles.summary import describe

        color = output is None and Console().is_terminal
        text = render_text(result, width=min(Console().width, 100) if output is None else 80, color=color)
        if result.profiles:
            text += "\nCompliance:\n" + "".join(f"  {line}\n" for line in describe(result.profiles))
        if changes is not None:
            text += "\nChanges since the last scan:\n" + "".join(f"  {line}\n" for line in changes)
    if output is None:
        click.echo(text, nl=False)
        if output_format != "text" and changes is not None:
            click.echo("Changes since the last scan:\n" + "".join(f"  {line}\n" for line in changes), err=True)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        click.echo(f"observatory: cannot write {output}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_INCOMPLETE)


@cli.command()
def checks() -> None:
    """List every finding the scanner can report: id, severity, grade cap and title."""
    from observatory.catalogue import catalogue
    from observatory.grading import CAPS

    for entry in catalogue().values():
        cap = CAPS.get(entry.id, "")
        click.echo(f"{entry.id:34} {entry.severity.value:9} {cap:2} {entry.title}")


@cli.command("profiles")
@click.argument("name", type=click.Choice(list(available_profiles())), required=False)
def profiles_command(name: str | None) -> None:
    """List the compliance profiles `scan --profile` takes; with NAME, every item that profile checks."""
    from observatory.profiles.summary import describe_profile

    if name is not None:
        click.echo("\n".join(describe_profile(available_profiles()[name])))
        return
    for profile in available_profiles().values():
        click.echo(f"{profile.id:22} {profile.name}, {profile.edition}")


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False), default="docs")
def docs(folder: Path) -> None:
    """Write the generated reference documents (grading.md, checks.md) into FOLDER (default: docs)."""
    from reports.docs import checks_markdown, grading_markdown

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "grading.md").write_text(grading_markdown(), encoding="utf-8")
    (folder / "checks.md").write_text(checks_markdown(), encoding="utf-8")
    click.echo(f"wrote {folder / 'grading.md'} and {folder / 'checks.md'}")


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the result document (--format json), versioned by format_version."""
    click.echo(render_schema(), nl=False)


def _schema_line(database: storage.Database, state: SchemaState) -> str:
    if state.too_new:
        verdict = f"newer than this version knows (its newest is {state.head})"
    elif state.current is None:
        verdict = f"no tables yet (this version's schema is {state.head})"
    elif state.up_to_date:
        verdict = "up to date"
    else:
        verdict = f"older than this version's {state.head}: run `observatory db upgrade`"
    return f"{database.name}: schema {state.current or 'none'}, {verdict}"


@cli.group()
def db() -> None:
    """The database of stored scans: its schema version, upgrades and downgrades."""


@db.command("upgrade", epilog=DB_EXIT_CODES_HELP)
@click.argument("revision", default="head")
@_db_option
def db_upgrade(revision: str, db_url: str | None) -> None:
    """Create or migrate the database's tables up to REVISION (default: head, the newest).

    A database already migrated by a newer version of xmpp-observatory is refused and left untouched.
    """
    with _storage_errors(), storage.connect(db_url) as database:
        click.echo(_schema_line(database, storage.upgrade(database, revision)))


# ignore_unknown_options: a relative step such as -1 is the REVISION, not an unknown option.
@db.command("downgrade", epilog=DB_EXIT_CODES_HELP, context_settings={"ignore_unknown_options": True})
@click.argument("revision")
@_db_option
def db_downgrade(revision: str, db_url: str | None) -> None:
    """Migrate the database down to REVISION: a revision id, -1 for one step, or base (drops every table
    and the scans in them)."""
    with _storage_errors(), storage.connect(db_url) as database:
        click.echo(_schema_line(database, storage.downgrade(database, revision)))


@db.command("current", epilog=DB_EXIT_CODES_HELP)
@_db_option
def db_current(db_url: str | None) -> None:
    """Show which database is used and its schema version."""
    with _storage_errors(), storage.connect(db_url) as database:
        click.echo(_schema_line(database, storage.schema_state(database)))


def _grades(summary: storage.ScanSummary) -> str:
    parts = []
    for kind in summary.kinds:
        grade = summary.grades[kind]
        score = f" ({grade.score})" if grade.score is not None else ""
        parts.append(f"{kind.value} {grade.letter or '-'}{score}")
    return "  ".join(parts)


@cli.command("history", epilog=DB_EXIT_CODES_HELP)
@click.argument("domain", callback=_domain)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Show at most N scans.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for machines (a list of scan summaries).",
)
@_db_option
def history_command(domain: str, limit: int, output_format: str, db_url: str | None) -> None:
    """List the stored scans of DOMAIN, newest first: when, status, grade per service, rules version."""
    with (
        _storage_errors(),
        storage.open_database(db_url) as database,
        database.connection_errors(),
        database.session() as session,
    ):
        found = storage.history(session, domain=domain, limit=limit)
    _warn_skipped(found.skipped)
    if output_format == "json":
        click.echo(json.dumps([scan.as_document() for scan in found.scans], indent=2))
        return
    if not found.scans:
        click.echo(f"No stored scans of {domain} in {database.name}.")
        return
    for scan in found.scans:
        when = (scan.started_at or scan.created_at).strftime("%Y-%m-%d %H:%M UTC")
        detail = f"rules {scan.rules_version}" if scan.status is storage.ScanStatus.DONE else (scan.error or "")
        click.echo(f"#{scan.id:<6} {when}  {scan.status.value:<7}  {_grades(scan):<20}  {detail}".rstrip())


@cli.command("rescore", epilog=DB_EXIT_CODES_HELP)
@click.option(
    "--domain",
    callback=lambda ctx, param, value: _domain(ctx, param, value) if value else None,
    help="Only the scans of this domain.",
)
@click.option("--all", "everything", is_flag=True, help="Re-grade scans already judged under the current rules too.")
@_db_option
def rescore_command(domain: str | None, everything: bool, db_url: str | None) -> None:
    """Judge stored scans again under the current rules and say what changed.

    The observed facts of a scan are never rewritten; only its grades and findings are replaced.
    """
    from observatory.grading import RULES_VERSION
    from observatory.judge import judge

    with (
        _storage_errors(),
        storage.open_database(db_url) as database,
        database.connection_errors(),
        database.session() as session,
    ):
        report = storage.rescore(
            session, judge=judge, domain=domain, skip_rules_version=None if everything else RULES_VERSION
        )
    _warn_skipped(report.skipped)
    for scan in report.changed:
        click.echo(f"#{scan.scan_id} {scan.domain} (rules {scan.old_rules_version} → {scan.new_rules_version})")
        lines = storage.describe(scan.diff) if scan.diff is not None else ["previous judgment unreadable; replaced"]
        for line in lines:
            click.echo(f"  {line}")
    click.echo(f"{len(report.rescored)} re-graded, {len(report.changed)} changed, {len(report.skipped)} skipped")


@cli.group("block")
def block_group() -> None:
    """Domains the website must not scan, because their owners asked (a domain blocks its subdomains).

    A blocked domain submitted to the site is refused with a clear message; `observatory scan` on the
    command line is not affected.
    """


@block_group.command("add", epilog=DB_EXIT_CODES_HELP)
@click.argument("domain", callback=_domain)
@click.option("--reason", metavar="TEXT", help="Why, as the site shows it (e.g. 'owner's request, 2026-12-04').")
@_db_option
def block_add(domain: str, reason: str | None, db_url: str | None) -> None:
    """Block DOMAIN and its subdomains."""
    from observatory.storage.blocklist import block

    with _session(db_url) as session:
        added = block(session, domain=domain, reason=reason)
    click.echo(f"blocked {domain}" if added else f"{domain} was already blocked")


@block_group.command("remove", epilog=DB_EXIT_CODES_HELP)
@click.argument("domain", callback=_domain)
@_db_option
def block_remove(domain: str, db_url: str | None) -> None:
    """Unblock DOMAIN (its own entry; a blocked parent domain still blocks it)."""
    from observatory.storage.blocklist import unblock

    with _session(db_url) as session:
        removed = unblock(session, domain=domain)
    if not removed:
        click.echo(f"observatory: {domain} is not on the block list", err=True)
        sys.exit(EXIT_BELOW_BAR)
    click.echo(f"unblocked {domain}")


@block_group.command("list", epilog=DB_EXIT_CODES_HELP)
@_db_option
def block_list(db_url: str | None) -> None:
    """List the blocked domains, with when and why."""
    from observatory.storage.blocklist import blocks

    with _session(db_url) as session:
        entries = blocks(session)
    for entry in entries:
        click.echo(f"{entry.domain}  {entry.created_at:%Y-%m-%d}  {entry.reason or ''}".rstrip())


@cli.command("forget", epilog=DB_EXIT_CODES_HELP)
@click.argument("domain", callback=_domain)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_db_option
def forget_command(domain: str, yes: bool, db_url: str | None) -> None:
    """Delete every stored scan of DOMAIN (history, reports, statistics rows): its owner's opt-out.

    To stop it being scanned again on the site, also `observatory block add DOMAIN`.
    """
    from observatory.storage.blocklist import forget

    if not yes:
        click.confirm(f"Delete every stored scan of {domain}?", abort=True, err=True)
    with _session(db_url) as session:
        removed = forget(session, domain=domain)
    click.echo(f"deleted {removed} scan{'s' if removed != 1 else ''} of {domain}")


SERVE_EXIT_CODES_HELP = """\b
Exit codes:
  1  the server could not start (e.g. the port is in use)
  2  usage error: a bad option or database URL
  3  the database could not be used"""


@cli.command(epilog=SERVE_EXIT_CODES_HELP)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="OBSERVATORY_HOST",
    show_envvar=True,
    help="Address to listen on. Keep the default behind a reverse proxy on the same machine.",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8000,
    show_default=True,
    envvar="OBSERVATORY_PORT",
    show_envvar=True,
    help="TCP port to listen on.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    metavar="N",
    envvar="OBSERVATORY_CONCURRENCY",
    show_envvar=True,
    help="Scans run at once; more wait in the queue.",
)
@click.option(
    "--cooldown",
    type=click.FloatRange(min=0),
    default=600,
    show_default=True,
    metavar="SECONDS",
    envvar="OBSERVATORY_COOLDOWN",
    show_envvar=True,
    help="A domain scanned this recently (or being scanned) is not scanned again: visitors get that scan.",
)
@click.option(
    "--secret-key",
    envvar="OBSERVATORY_SECRET_KEY",
    show_envvar=True,
    metavar="TEXT",
    help="Key that signs the forms' anti-CSRF tokens (default: a random key per start).",
)
@click.option(
    "--migrate",
    is_flag=True,
    envvar="OBSERVATORY_MIGRATE",
    show_envvar=True,
    help="Upgrade the database's schema on start-up (the per-user SQLite file always is).",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    default=("127.0.0.1", "::1"),
    show_default=True,
    metavar="CIDR",
    envvar="OBSERVATORY_TRUSTED_PROXIES",
    show_envvar=True,
    help="A reverse proxy whose X-Forwarded-For/-Proto headers are believed (repeatable; space-separated in "
    "the variable). Any other peer's headers are ignored: the client address is the socket's.",
)
@click.option(
    "--max-active-per-client",
    type=click.IntRange(min=1),
    metavar="N",
    envvar="OBSERVATORY_MAX_ACTIVE_PER_CLIENT",
    show_envvar=True,
    help="Scans one client address may have queued or running at once (public mode default: 2; else no limit).",
)
@click.option(
    "--max-scans-per-hour",
    type=click.IntRange(min=1),
    metavar="N",
    envvar="OBSERVATORY_MAX_SCANS_PER_HOUR",
    show_envvar=True,
    help="New scans one client address may start per hour (public mode default: 20; else no limit). Beyond "
    "either limit: 429 with Retry-After.",
)
@click.option(
    "--queue-limit",
    type=click.IntRange(min=1),
    metavar="N",
    envvar="OBSERVATORY_QUEUE_LIMIT",
    show_envvar=True,
    help="Scans waiting in the queue at most (public mode default: 100; else no limit); beyond it: 503 with "
    "Retry-After.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    envvar="OBSERVATORY_LOG_LEVEL",
    show_envvar=True,
    help="How much the server logs.",
)
@broker_options
@engine_options
@_db_option
def serve(
    host: str,
    port: int,
    concurrency: int,
    cooldown: float,
    secret_key: str | None,
    migrate: bool,
    trusted_proxies: tuple[str, ...],
    max_active_per_client: int | None,
    max_scans_per_hour: int | None,
    queue_limit: int | None,
    log_level: str,
    broker_url: str | None,
    redis_url: str | None,
    namespace: str,
    db_url: str | None,
    **engine: object,
) -> None:
    """Run the grading website and its JSON API.

    One process does everything: the pages, the API under /api/v1, and the scans themselves (at most
    --concurrency at once, the rest queued in the database). With --broker, scans go to
    `observatory worker` processes instead (Celery), on this machine or others. Scans use the same engine settings as
    `observatory scan` (resolver, trust anchors, extra roots, pacing), from options or OBSERVATORY_*
    variables. Put it behind a reverse proxy (TLS, compression) for anything but a laptop; see the README.

    With --public (OBSERVATORY_PUBLIC=1) it is safe to expose: no connection to a non-public address,
    per-client and queue limits, the block list (`observatory block`). Without it, it scans whatever it
    is asked, internal hosts included: run it for yourself.

    Ctrl-C or SIGTERM stops it gracefully (scans cut short are marked failed, with the reason), and it
    then ends by that signal, as servers do.
    """
    import uvicorn

    from observatory.storage.queue import SubmissionLimits
    from observatory.web import SiteSettings, create_app
    from observatory.web.settings import PUBLIC_LIMITS

    public = bool(engine["public"])
    defaults = PUBLIC_LIMITS if public else SubmissionLimits()
    limits = SubmissionLimits(
        per_client_active=max_active_per_client or defaults.per_client_active,
        per_client_hour=max_scans_per_hour or defaults.per_client_hour,
        queue=queue_limit or defaults.queue,
    )
    try:
        proxies = parse_networks(trusted_proxies)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--trusted-proxy'") from None
    settings = SiteSettings(
        database_url=db_url,
        concurrency=concurrency,
        cooldown_seconds=cooldown,
        scan=engine_template(**engine),  # type: ignore[arg-type]
        migrate=migrate,
        public=public,
        limits=limits,
        trusted_proxies=proxies,
        broker_url=broker_url,
        redis_url=redis_url,
        namespace=namespace,
        **({"secret_key": secret_key} if secret_key else {}),
    )
    if broker_url:
        _check_broker(broker_url, redis_url)
    with _storage_errors():
        app = create_app(settings)
    click.echo(f"observatory: serving on http://{'[' + host + ']' if ':' in host else host}:{port}/", err=True)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        # The site weighs X-Forwarded-* itself (observatory.web.proxy), against --trusted-proxy.
        proxy_headers=False,
        # Scans run in this event loop: the standard one, the loop every accuracy test runs on.
        loop="asyncio",
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    try:
        server.run()
    except SystemExit:
        # uvicorn exits with its own code (3) when it cannot start; ours for that is 1 (3: the database).
        sys.exit(1)
    if not server.started:
        sys.exit(1)


def _check_broker(broker_url: str, redis_url: str | None) -> str:
    from observatory.jobs.distributed import redis_url_for

    try:
        return redis_url_for(broker_url, redis_url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--redis'") from None


@cli.command(epilog=DB_EXIT_CODES_HELP)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=2,
    show_default=True,
    metavar="N",
    envvar="OBSERVATORY_CONCURRENCY",
    show_envvar=True,
    help="Scans this worker runs at once (one process each).",
)
@click.option(
    "--beat",
    is_flag=True,
    envvar="OBSERVATORY_BEAT",
    show_envvar=True,
    help="Also run the schedule (one worker of the fleet does): reap scans stuck running (every minute), "
    "queue rescans of listed domains (every hour), snapshot the statistics (daily).",
)
@click.option(
    "--rescan-after",
    type=click.FloatRange(min=0.01),
    default=7,
    show_default=True,
    metavar="DAYS",
    envvar="OBSERVATORY_RESCAN_AFTER",
    show_envvar=True,
    help="With --beat: listed domains whose newest scan is this old are scanned again, oldest first.",
)
@click.option(
    "--rescan-batch",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    metavar="N",
    envvar="OBSERVATORY_RESCAN_BATCH",
    show_envvar=True,
    help="With --beat: at most N rescans queued per hour.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    envvar="OBSERVATORY_LOG_LEVEL",
    show_envvar=True,
    help="How much the worker logs.",
)
@SHARE_TLS_OPTION
@broker_options
@engine_options
@_db_option
def worker(
    concurrency: int,
    beat: bool,
    rescan_after: float,
    rescan_batch: int,
    log_level: str,
    share_tls: bool,
    broker_url: str | None,
    redis_url: str | None,
    namespace: str,
    db_url: str | None,
    **engine: object,
) -> None:
    """Run scans for `observatory serve --broker URL` as a Celery worker.

    The worker takes scan ids from the broker, reads each scan's request from the database (--db, the
    same as the site's), runs it with these engine settings and stores the result. A worker killed
    mid-scan gives its scan back to the broker and another worker starts it over. Pacing per server
    address holds across all workers through Redis.
    """
    from observatory.jobs.distributed import WorkerContext, configure_worker, make_celery, worker_argv

    if not broker_url:
        raise click.BadParameter("a worker needs a broker (or OBSERVATORY_BROKER_URL)", param_hint="'--broker'")
    redis = _check_broker(broker_url, redis_url)
    template = engine_template(**engine)  # type: ignore[arg-type]
    with _storage_errors():
        storage.open_database(db_url).dispose()  # fail now, with a message, if the database cannot be used
    app = make_celery(broker_url, namespace=namespace)
    context = WorkerContext(
        database_url=db_url,
        template=template,
        redis_url=redis,
        namespace=namespace,
        rescan_after=timedelta(days=rescan_after),
        rescan_batch=rescan_batch,
        share_tls=share_tls,
    )
    configure_worker(app, context)
    if beat:
        from observatory.jobs.distributed import beat_schedule

        app.conf.beat_schedule = beat_schedule()
        app.conf.beat_schedule_filename = str(Path(tempfile.gettempdir()) / f"observatory-beat-{namespace}")
    app.worker_main(argv=worker_argv(concurrency, namespace=namespace, beat=beat, log_level=log_level))


def main() -> None:
    try:
        cli.main(prog_name="observatory", standalone_mode=True)
    except Exception as exc:  # a bug: say so plainly instead of a traceback
        if os.environ.get("OBSERVATORY_DEBUG"):
            raise
        click.echo(
            f"observatory: internal error ({type(exc).__name__}: {exc}). "
            "This is a bug; run again with OBSERVATORY_DEBUG=1 for details and report it.",
            err=True,
        )
        sys.exit(EXIT_INCOMPLETE)


if __name__ == "__main__":
    main()
