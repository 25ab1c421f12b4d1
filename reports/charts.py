"""Charts as SVG text, rendered on the server, for the site's statistics pages.

Pure functions from numbers to a string; the page puts the numbers in a table beside the chart, so the
chart is a picture of the table, not the only place the figures are.

The SVG is meant to be inlined in HTML under a strict Content-Security-Policy (``default-src 'self'``):
no script, no event handler, no ``style`` attribute or element (both count as inline style), no external
reference, no ``id`` (two charts on one page would collide). Colours are presentation attributes; each
element also has a class name a stylesheet of the site may use. Every text is escaped, and characters XML
cannot hold at all are replaced, since labels may come from remote servers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

SVG_NS = "http://www.w3.org/2000/svg"
FONT = 'font-family="Verdana, DejaVu Sans, sans-serif"'
TEXT_COLOR = "#222222"
MUTED_COLOR = "#666666"
GRID_COLOR = "#dddddd"
BAR_COLOR = "#1565c0"
#: Distinguishable for the common colour-vision deficiencies (Okabe–Ito), cycled when there are more.
SERIES_COLORS = ("#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#f0e442", "#000000")

# Characters XML 1.0 does not allow even escaped (C0 controls but tab/newline/CR, lone surrogates, U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """``text`` without the characters an XML document cannot contain (they become U+FFFD)."""
    return _NOT_XML.sub("\ufffd", text)


def text_content(text: str) -> str:
    """Escaped for an element's content."""
    return escape(clean(text))


def attribute(text: str) -> str:
    """Escaped and quoted for an attribute value (``quoteattr`` picks the quotes)."""
    return quoteattr(clean(text), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def number(value: float, unit: str = "") -> str:
    """A figure as the chart prints it: whole numbers plain, others with one decimal."""
    text = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return f"{text}{unit}"


def _svg(title: str, width: int, height: int, body: list[str], css_class: str) -> str:
    return "\n".join(
        [
            f'<svg xmlns="{SVG_NS}" class={attribute(css_class)} role="img" aria-label={attribute(title)} '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
            f"<title>{text_content(title)}</title>",
            *body,
            "</svg>",
        ]
    )


def _text(x: float, y: float, text: str, *, size: int = 12, anchor: str = "start", color: str = TEXT_COLOR) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" {FONT} font-size="{size}" text-anchor="{anchor}" '
        f'fill="{color}">{text_content(text)}</text>'
    )


def _heading(title: str, width: int) -> str:
    return _text(width / 2, 20, title, size=14, anchor="middle")


def _no_data(title: str, width: int, css_class: str) -> str:
    height = 80
    return _svg(
        title,
        width,
        height,
        [_heading(title, width), _text(width / 2, 52, "no data", anchor="middle", color=MUTED_COLOR)],
        css_class,
    )


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


# --- Bars ---------------------------------------------------------------------------------------------


def bar_chart(
    title: str,
    rows: list[tuple[str, float]],
    *,
    unit: str = "%",
    max_value: float | None = None,
    width: int = 480,
    label_width: int = 140,
    bar_height: int = 20,
    color: str = BAR_COLOR,
) -> str:
    """Horizontal bars, one per (label, value), in the given order, each with its value printed after it.

    The scale runs from 0 to ``max_value`` (100 for ``%``, else the largest value), so shares of different
    charts compare by eye. Negative and non-finite values draw no bar; their value is still printed.
    """
    if not rows:
        return _no_data(title, width, "chart bar-chart")
    values = [_finite(value) for _, value in rows]
    top = max_value if max_value is not None else (100.0 if unit == "%" else max((v for v in values if v), default=0))
    value_width = 60
    plot = max(width - label_width - value_width - 20, 10)
    gap = 6
    body = [_heading(title, width)]
    for index, ((label, value), finite) in enumerate(zip(rows, values, strict=True)):
        y = 34 + index * (bar_height + gap)
        length = plot * min(finite / top, 1.0) if finite is not None and finite > 0 and top > 0 else 0.0
        middle = y + bar_height / 2 + 4
        body.append(_text(label_width - 6, middle, label, anchor="end"))
        body.append(
            f'<rect class="bar" x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height}" '
            f"fill={attribute(color)}/>"
        )
        body.append(_text(label_width + length + 4, middle, number(value, unit) if finite is not None else "–"))
    height = 34 + len(rows) * (bar_height + gap) + 4
    return _svg(title, width, height, body, "chart bar-chart")


# --- Lines --------------------------------------------------------------------------------------------


def _segments(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Runs of consecutive known values: a None (no data that month) breaks the line."""
    runs: list[list[tuple[int, float]]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((index, value))
    return [run for run in runs if run]


def _label_step(count: int, plot_width: float) -> int:
    """Every n-th x label, so labels about 60 px wide do not overlap."""
    return max(1, math.ceil(count * 60 / max(plot_width, 1)))


def line_chart(
    title: str,
    x_labels: list[str],
    series: dict[str, list[float | None]],
    *,
    unit: str = "%",
    max_value: float | None = None,
    width: int = 640,
    height: int = 280,
) -> str:
    """One line per series over ``x_labels`` (months, oldest first), with a legend below.

    None is a gap in the line (a month without data); a value alone between gaps is drawn as a dot.
    The y scale runs from 0 to ``max_value`` (100 for ``%``, else the largest value).
    """
    cleaned = {name: [_finite(v) for v in values[: len(x_labels)]] for name, values in series.items()}
    known = [v for values in cleaned.values() for v in values if v is not None]
    if not x_labels or not known:
        return _no_data(title, width, "chart line-chart")
    top = max_value if max_value is not None else (100.0 if unit == "%" else max(max(known), 1.0))
    top = top if top > 0 else 1.0
    # Room on the right for half of the last x label, which is centred on the last point.
    left, right, plot_top = 56, 36, 36
    legend_rows = math.ceil(len(cleaned) / 3)
    plot_bottom = height - 40 - 18 * legend_rows
    plot_width = width - left - right
    plot_height = max(plot_bottom - plot_top, 10)

    def x_of(index: int) -> float:
        return left + (plot_width * index / (len(x_labels) - 1) if len(x_labels) > 1 else plot_width / 2)

    def y_of(value: float) -> float:
        return plot_bottom - plot_height * max(min(value / top, 1.0), 0.0)

    body = [_heading(title, width)]
    for step in range(5):
        value = top * step / 4
        y = y_of(value)
        body.append(
            f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID_COLOR}"/>'
        )
        body.append(_text(left - 6, y + 4, number(value, unit), size=11, anchor="end", color=MUTED_COLOR))
    every = _label_step(len(x_labels), plot_width)
    for index, label in enumerate(x_labels):
        last = index == len(x_labels) - 1
        # The last label always shows; the regular one before it gives way when they would overlap.
        if (index % every == 0 and (last or len(x_labels) - 1 - index >= every)) or last:
            body.append(_text(x_of(index), plot_bottom + 16, label, size=11, anchor="middle", color=MUTED_COLOR))
    for position, (name, values) in enumerate(cleaned.items()):
        color = SERIES_COLORS[position % len(SERIES_COLORS)]
        for run in _segments(values):
            if len(run) == 1:
                (index, value), *_ = run
                body.append(
                    f'<circle class="point" cx="{x_of(index):.1f}" cy="{y_of(value):.1f}" r="3" fill="{color}"/>'
                )
                continue
            points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in run)
            body.append(f'<polyline class="line" points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        column, row = position % 3, position // 3
        x = left + column * (plot_width / 3)
        y = plot_bottom + 36 + row * 18
        body.append(f'<rect class="legend" x="{x:.1f}" y="{y - 9:.1f}" width="12" height="10" fill="{color}"/>')
        body.append(_text(x + 16, y, name, size=11))
    return _svg(title, width, height, body, "chart line-chart")
