"""The Markdown report: a golden file, and escaping of what servers control."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reports.markdown import code, md, render_markdown
from tests.unit.reports.judged import judged, with_hostile_detail

GOLDEN = Path(__file__).parents[2] / "data" / "report-markdown.md"
REGENERATE = "OBSERVATORY_REGENERATE_GOLDEN"


def test_report_matches_the_golden_file() -> None:
    rendered = render_markdown(judged())
    if os.environ.get(REGENERATE):
        GOLDEN.write_text(rendered, encoding="utf-8")
    hint = f"after a deliberate change: {REGENERATE}=1 pytest {__file__}"
    assert rendered == GOLDEN.read_text(encoding="utf-8"), hint


def test_report_leads_with_grades_then_compliance_endpoints_and_findings() -> None:
    text = render_markdown(judged())
    order = [text.index(heading) for heading in ("| c2s | **F** |", "## Compliance", "## Endpoints", "## Findings")]
    assert order == sorted(order)
    assert "| Mozilla intermediate | 6.0 | **FAIL** | 3 of 4 |" in text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("a | b", "a \\| b"),
        ("**bold** _it_ `code` [x](y) ~s~", "\\*\\*bold\\*\\* \\_it\\_ \\`code\\` \\[x\\](y) \\~s\\~"),
        ("line\nbreak\x00\x1b", "line break  "),
        ("ping @admin", "ping @\u200badmin"),
    ],
)
def test_md_escapes_markup_html_mentions_and_line_breaks(raw: str, shown: str) -> None:
    assert md(raw) == shown


def test_code_spans_cannot_be_closed_early() -> None:
    assert code("a`b\nc") == "`ab c`"


def test_hostile_details_are_shown_escaped() -> None:
    text = render_markdown(with_hostile_detail())
    assert "<img" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "\x00" not in text
    assert "@admin" not in text
