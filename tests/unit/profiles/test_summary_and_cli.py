"""`observatory profiles`, `scan --profile` argument checking, and the profile lines of the text report."""

from __future__ import annotations

from click.testing import CliRunner

from cli import EXIT_USAGE, cli
from observatory.profiles import available
from observatory.profiles.summary import describe
from tests.unit.profiles.factsets import judged, strong_endpoint, weak_endpoint


def test_profiles_lists_every_profile_with_its_edition() -> None:
    result = CliRunner().invoke(cli, ["profiles"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == len(available())
    assert "mozilla-old            Mozilla old, 5.7" in lines
    assert "bsi-tr-02102-2         BSI TR-02102-2, 2026-01" in lines


def test_profiles_name_lists_every_item_with_its_level_and_reference() -> None:
    result = CliRunner().invoke(cli, ["profiles", "mozilla-intermediate"])
    assert result.exit_code == 0
    assert "mozilla-intermediate: Mozilla intermediate, 6.0" in result.output
    assert "  MUST   versions: Only TLS 1.2 and TLS 1.3 are accepted  [tls_versions]" in result.output
    assert "  SHOULD ocsp-stapling: An OCSP response is stapled  [ocsp_staple]" in result.output


def test_an_unknown_profile_is_a_usage_error_before_anything_is_scanned() -> None:
    result = CliRunner().invoke(cli, ["scan", "example.org", "--profile", "pci-dss", "--no-save"])
    assert result.exit_code == EXIT_USAGE
    assert "'pci-dss' is not one of" in result.output


def test_describe_says_which_endpoints_fail_and_what_was_not_evaluated() -> None:
    result = judged([strong_endpoint(), weak_endpoint().model_copy(update={"id": "c2s/starttls/weak/192.0.2.2:5222"})],
                    ["mozilla-intermediate"])  # fmt: skip
    lines = describe(result.profiles)
    assert lines[0] == "Mozilla intermediate (6.0): FAIL on 1 of 2 endpoints"
    assert lines[1].startswith("  c2s/starttls/weak/192.0.2.2:5222: versions (accepts TLSv1.0), suites.tls12 (")
    assert lines[1].endswith(", and 3 more")
    assert lines[2] == "  not evaluated: groups, ocsp-stapling"
    passing = describe(judged([strong_endpoint()], ["bcp195"]).profiles)
    assert passing[0] == "IETF BCP 195 (RFC 9325 (November 2022), with RFC 10015 (July 2026)): pass on all 1 endpoints"
