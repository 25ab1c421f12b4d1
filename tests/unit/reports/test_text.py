"""The text report: reasons first, every endpoint, findings with fixes, 80 columns, no colour off a terminal."""

from __future__ import annotations

from observatory.judge import judge
from reports.text import _versions, render_text
from scanners.tls.facts import TlsVersion
from tests.factories import make_result


def report(**kwargs) -> str:  # type: ignore[no-untyped-def]
    return render_text(judge(make_result().to_facts()), **kwargs)


def test_fits_80_columns_without_colour() -> None:
    text = report()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "\x1b[" not in text
    assert text == "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def test_grades_and_reasons_come_before_findings() -> None:
    text = report()
    assert text.index("c2s: F") < text.index("Endpoints") < text.index("Findings")
    assert "TLSA records do not match the certificate (max F)" in text


def test_every_endpoint_is_listed_including_the_failed_one() -> None:
    text = report()
    assert "[2001:db8::10]:5222" in text
    assert "timeout" in text


def test_findings_are_grouped_with_why_and_fix() -> None:
    text = report()
    assert text.count("dane.mismatch") == 1
    assert "where:    c2s (2 endpoints), s2s (1 endpoint)" in text
    assert "fix:" in text
    assert "prosody:" in text


def test_colour_only_when_asked() -> None:
    assert "\x1b[" in report(color=True)


def test_versions_are_compact() -> None:
    assert _versions([TlsVersion.TLS10, TlsVersion.TLS11, TlsVersion.TLS12, TlsVersion.TLS13]) == "1.0–1.3"
    assert _versions([TlsVersion.TLS12, TlsVersion.TLS13]) == "1.2, 1.3"
    assert _versions([TlsVersion.SSL3, TlsVersion.TLS12]) == "SSLv3, 1.2"
