"""Server-rendered SVG charts: well-formed, accessible, escaped, and safe to inline under a strict CSP."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from reports.charts import bar_chart, line_chart

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script> & \"quotes\" 'too'"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{NS}text")]


def assert_inline_safe(svg: str, root: ET.Element) -> None:
    """Nothing a ``default-src 'self'`` policy blocks or that could run: no script, handler, style,
    external reference, or id."""
    assert root.get("role") == "img"
    assert root.get("viewBox")
    assert root.find(f"{NS}title") is not None
    for element in root.iter():
        assert element.tag.removeprefix(NS) not in {"script", "style", "foreignObject", "image", "use", "a"}
        for name in element.attrib:
            assert not name.lower().startswith("on")
            assert name not in {"style", "href", "{http://www.w3.org/1999/xlink}href", "id"}
    assert "<script" not in svg
    assert "url(" not in svg


def test_a_bar_chart_draws_one_bar_per_row_with_its_value() -> None:
    svg = bar_chart("TLS versions", [("TLS 1.2", 100.0), ("TLS 1.3", 62.5), ("TLS 1.0", 0.0)])
    root = parse(svg)
    assert_inline_safe(svg, root)
    assert root.findtext(f"{NS}title") == "TLS versions"
    assert root.get("aria-label") == "TLS versions"
    bars = [float(rect.get("width", "")) for rect in root.iter(f"{NS}rect")]
    assert len(bars) == 3
    assert bars[0] > bars[1] > bars[2] == 0
    # On a percent scale a share of 62.5 is 62.5% of the longest possible bar.
    assert bars[1] / bars[0] == pytest.approx(0.625, abs=0.01)
    assert {"TLS 1.2", "100%", "62.5%", "0%"} <= set(texts(root))


def test_a_bar_chart_in_counts_scales_to_its_largest_value() -> None:
    root = parse(bar_chart("Domains", [("A", 4), ("B", 2)], unit=""))
    widths = [float(rect.get("width", "")) for rect in root.iter(f"{NS}rect")]
    assert widths[1] / widths[0] == pytest.approx(0.5, abs=0.01)
    assert {"4", "2"} <= set(texts(root))


def test_odd_values_draw_no_bar_and_do_not_fail() -> None:
    root = parse(bar_chart("Odd", [("negative", -5.0), ("nan", float("nan")), ("huge", 1e9)]))
    widths = [float(rect.get("width", "")) for rect in root.iter(f"{NS}rect")]
    assert widths[0] == widths[1] == 0
    assert widths[2] > 0


@pytest.mark.parametrize(
    "svg",
    [
        bar_chart(HOSTILE, [(HOSTILE, 50.0)], unit=HOSTILE),
        line_chart(HOSTILE, [HOSTILE, "2026-12"], {HOSTILE: [10.0, 20.0]}, unit=HOSTILE),
    ],
)
def test_hostile_text_stays_text(svg: str) -> None:
    root = parse(svg)
    assert_inline_safe(svg, root)
    assert root.findtext(f"{NS}title") == HOSTILE
    assert root.get("aria-label") == HOSTILE
    assert HOSTILE in texts(root)


def test_characters_xml_cannot_hold_are_replaced() -> None:
    root = parse(bar_chart("bell\x07 and nul\x00", [("form\x0cfeed", 1.0)]))
    assert root.findtext(f"{NS}title") == "bell\ufffd and nul\ufffd"
    assert "form\ufffdfeed" in texts(root)


def test_a_line_chart_draws_a_line_per_series_with_a_legend() -> None:
    months = ["2026-10", "2026-11", "2026-12"]
    svg = line_chart("Legacy TLS", months, {"TLS 1.0/1.1": [30.0, 20.0, 10.0], "TLS 1.3": [50.0, 60.0, 70.0]})
    root = parse(svg)
    assert_inline_safe(svg, root)
    lines = list(root.iter(f"{NS}polyline"))
    assert len(lines) == 2
    assert len(lines[0].get("points", "").split()) == 3
    assert {"2026-10", "2026-12", "TLS 1.0/1.1", "TLS 1.3", "0%", "100%"} <= set(texts(root))
    # The first series falls: its y grows (SVG y points down).
    ys = [float(point.split(",")[1]) for point in lines[0].get("points", "").split()]
    assert ys == sorted(ys)


def test_none_breaks_a_line_and_a_lone_value_is_a_dot() -> None:
    root = parse(line_chart("Gaps", ["1", "2", "3", "4", "5"], {"s": [1.0, 2.0, None, 4.0, None]}))
    assert [len(line.get("points", "").split()) for line in root.iter(f"{NS}polyline")] == [2]
    assert len(list(root.iter(f"{NS}circle"))) == 1


def test_a_single_month_is_a_dot_in_the_middle() -> None:
    root = parse(line_chart("One", ["2026-12"], {"s": [40.0]}))
    assert len(list(root.iter(f"{NS}circle"))) == 1
    assert not list(root.iter(f"{NS}polyline"))


@pytest.mark.parametrize(
    "svg",
    [
        bar_chart("Nothing", []),
        line_chart("Nothing", [], {}),
        line_chart("Nothing", ["2026-11", "2026-12"], {"s": [None, None]}),
        line_chart("Nothing", ["2026-11", "2026-12"], {}),
    ],
)
def test_empty_data_says_so(svg: str) -> None:
    root = parse(svg)
    assert_inline_safe(svg, root)
    assert "no data" in texts(root)
    assert root.findtext(f"{NS}title") == "Nothing"


def test_many_months_thin_out_the_axis_labels() -> None:
    months = [f"2026-{m:02d}" for m in range(1, 13)] + [f"2027-{m:02d}" for m in range(1, 13)]
    root = parse(line_chart("Two years", months, {"s": [float(i) for i in range(24)]}, width=400))
    shown = [t for t in texts(root) if t.startswith("202")]
    assert "2027-12" in shown
    assert 2 <= len(shown) < len(months)
