"""The command line: help that explains, usage errors as exit 2, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import EXIT_INCOMPLETE, EXIT_USAGE, cli
from observatory.model import FORMAT_VERSION

ROOT_DS = ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_help_lists_the_commands(runner: CliRunner) -> None:
    out = runner.invoke(cli, ["--help"]).output
    assert "scan" in out
    assert "schema" in out


def test_scan_help_describes_every_option(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["scan", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for text in (
        "DOMAIN",
        "--kind [c2s|s2s|both]",
        "default: both",
        "--format",
        "--resolver HOST[:PORT]",
        "--trust-anchor FILE",
        "dsset-",
        "--ca-file FILE",
        "PEM",
        "Exit codes",
    ):
        assert text in result.output, text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "bad..domain"], "not a valid domain"),
        (["scan", "192.0.2.1"], "IP address"),
        (["scan", "example.org", "--kind", "c3s"], "'c3s' is not one of"),
        (["scan", "example.org", "--resolver", "dns.example.org"], "not an IP address"),
        (["scan", "example.org", "--resolver", "127.0.0.1:99999"], "port must be"),
        (["scan", "example.org", "--trust-anchor", "/nonexistent/anchors"], "cannot read"),
        (["scan", "example.org", "--ca-file", "/nonexistent/ca.pem"], "cannot read"),
        (["scan"], "give a DOMAIN to scan, or --from-file FILE"),
        (["scan", "--from-file", "/nonexistent/list"], "cannot read /nonexistent/list"),
    ],
)
def test_bad_input_is_a_usage_error_not_a_traceback(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == EXIT_USAGE
    assert message in result.output
    assert "Traceback" not in result.output


def test_scan_of_a_domain_with_no_dns_answer_is_incomplete_not_a_crash(runner: CliRunner, tmp_path: Path) -> None:
    # A resolver address where nothing listens: discovery fails, the report says so, exit code 3.
    anchors = tmp_path / "dsset-."
    anchors.write_text(ROOT_DS)
    result = runner.invoke(
        cli,
        [
            "scan",
            "example.test",
            "--kind",
            "c2s",
            "--resolver",
            "127.0.0.1:9",
            "--trust-anchor",
            str(anchors),
            "--dns-timeout",
            "0.2",
            "--timeout",
            "5",
            "--no-save",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == EXIT_INCOMPLETE, result.output
    assert "Traceback" not in result.output
    document = json.loads(result.stdout)
    assert document["domain"] == "example.test"


def test_schema_prints_the_result_json_schema(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema"])
    schema = json.loads(result.output)
    assert schema["$id"].endswith(f"scan-result-{FORMAT_VERSION}.json")
    assert "services" in schema["properties"]
