"""The ``observatory`` command. Thin: parse and check arguments, call the package, render, set the exit code."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from observatory import __version__
from observatory.trust_store import CaFileError, load_ca_file
from reports.json import render_schema
from scanners.addresses import AddressError, HostPort, parse_host_port
from scanners.base import ServiceKind
from scanners.dns.names import DomainError, normalize_domain
from scanners.dns.trust_anchors import TrustAnchorError, TrustAnchors, load_trust_anchors

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


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("domain", callback=_domain)
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
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Report format: text for people, json for machines (the full result document).",
)
@click.option(
    "--resolver",
    metavar="HOST[:PORT]",
    callback=_resolver,
    help="IP address of the recursive DNS server to ask (port 53 unless given; IPv6 as [addr]:port). "
    "Default: the system's resolvers. DNSSEC is validated by the scanner itself either way.",
)
@click.option(
    "--trust-anchor",
    type=click.Path(path_type=Path, dir_okay=False),
    callback=_trust_anchor,
    metavar="FILE",
    help="DNSSEC trust anchors to use instead of the IANA root's: DS or DNSKEY records in zone-file "
    "format, like the dsset- files dnssec-signzone writes.",
)
@click.option(
    "--ca-file",
    type=click.Path(path_type=Path, dir_okay=False),
    callback=_ca_file,
    metavar="FILE",
    help="Extra trusted root certificates (PEM), added to Mozilla's roots.",
)
def scan(
    domain: str,
    kind: str,
    output_format: str,
    resolver: HostPort | None,
    trust_anchor: TrustAnchors | None,
    ca_file: Path | None,
) -> None:
    """Scan the XMPP services of DOMAIN and print a graded report.

    DOMAIN is the XMPP domain (the part after @ in an address), e.g. example.org; international
    names are accepted and converted to their ASCII form.
    """
    kinds = [ServiceKind.C2S, ServiceKind.S2S] if kind == "both" else [ServiceKind(kind)]
    click.echo(
        f"observatory {__version__}: the scan engine is not available yet in this version. "
        f"The request was checked and is valid ({domain}, {'+'.join(k.value for k in kinds)}); "
        "nothing was scanned.",
        err=True,
    )
    sys.exit(EXIT_INCOMPLETE)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the result document (--format json), versioned by format_version."""
    click.echo(render_schema(), nl=False)


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
