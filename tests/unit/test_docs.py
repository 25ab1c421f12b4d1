"""Generated reference documents are committed and current."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.docs import checks_markdown, grading_markdown

DOCS = Path(__file__).parents[2] / "docs"


@pytest.mark.parametrize(("name", "render"), [("grading.md", grading_markdown), ("checks.md", checks_markdown)])
def test_committed_document_is_current(name: str, render) -> None:  # type: ignore[no-untyped-def]
    assert (DOCS / name).read_text(encoding="utf-8") == render(), "regenerate with: observatory docs"


def test_grading_document_lists_every_cap() -> None:
    from observatory.grading import CAPS

    text = grading_markdown()
    for finding_id in CAPS:
        assert f"`{finding_id}`" in text
