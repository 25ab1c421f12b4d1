"""`observatory scan --from-file` on the loopback testbed: every listed domain scanned, one result
document per line (NDJSON) as each ends, the same grades as one-by-one scans, clear errors for a bad
list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import EXIT_BELOW_BAR, EXIT_OK, EXIT_USAGE, cli
from observatory.model import ScanResult
from tests.integration.test_scan_end_to_end import cli_args
from tests.testbed.dns import DnsTestbed
from tests.testbed.engine import flags_for_testbed
from tests.testbed.pki import TestPKI
from tests.testbed.prosody import ProsodyInstance

pytestmark = pytest.mark.integration


def engine(dns_testbed: DnsTestbed, pki: TestPKI) -> list[str]:
    return flags_for_testbed(dns_testbed, pki)


def grades(result: ScanResult) -> dict[str, str | None]:
    return {e.id: e.grade.letter if e.grade else None for s in (result.services.c2s,) if s for e in s.endpoints}


def test_a_domains_file_gives_one_document_per_line(
    dns_testbed: DnsTestbed,
    pki: TestPKI,
    prosody_strong: ProsodyInstance,
    prosody_weak: ProsodyInstance,
    tmp_path: Path,
) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("# our servers\nexample.test\n\nWEAK.example.test  # the old one\nexample.test\n")
    db = f"sqlite:///{tmp_path / 'batch.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade", "--db", db]).exit_code == 0
    args = ["scan", "--from-file", str(listing), "--kind", "c2s", "--format", "json", "--db", db]
    result = runner.invoke(cli, [*args, *engine(dns_testbed, pki)], catch_exceptions=False)
    assert result.exit_code == EXIT_OK, result.output
    documents = [ScanResult.model_validate_json(line) for line in result.stdout.splitlines()]
    assert sorted(d.domain for d in documents) == ["example.test", "weak.example.test"]
    by_domain = {d.domain: d for d in documents}
    # The same as scanning each alone.
    for domain in ("example.test", "weak.example.test"):
        alone = tmp_path / f"{domain}.json"
        single = [*cli_args(dns_testbed, pki, domain), "--kind", "c2s", "--format", "json", "--no-save"]
        runner.invoke(cli, [*single, "--output", str(alone)], catch_exceptions=False)
        assert grades(by_domain[domain]) == grades(ScanResult.model_validate_json(alone.read_text()))
    # Stored, like single scans.
    history = runner.invoke(cli, ["history", "weak.example.test", "--format", "json", "--db", db])
    assert len(json.loads(history.output)) == 1
    # Text: one line per domain, and the bar applies to each.
    text = runner.invoke(
        cli,
        [
            "scan",
            "--from-file",
            str(listing),
            "--kind",
            "c2s",
            "--no-save",
            "--fail-under",
            "A",
            *engine(dns_testbed, pki),
        ],
    )
    assert text.exit_code == EXIT_BELOW_BAR
    lines = text.stdout.splitlines()
    assert any(line.startswith("example.test  c2s A+") for line in lines), lines
    assert any(line.startswith("weak.example.test  c2s ") for line in lines), lines


def test_a_bad_list_is_refused_before_anything_is_scanned(tmp_path: Path) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("example.org\nnot a domain\nuser@example.org\n")
    result = CliRunner().invoke(cli, ["scan", "--from-file", str(listing), "--no-save"])
    assert result.exit_code == EXIT_USAGE
    assert "line 2:" in result.output
    assert "line 3:" in result.output
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    assert "names no domain" in CliRunner().invoke(cli, ["scan", "--from-file", str(empty)]).output
    both = CliRunner().invoke(cli, ["scan", "example.org", "--from-file", str(listing)])
    assert both.exit_code == EXIT_USAGE
    sarif = CliRunner().invoke(cli, ["scan", "--from-file", str(empty), "--format", "sarif"])
    assert sarif.exit_code == EXIT_USAGE
