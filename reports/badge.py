"""Grade badges: a flat two-part SVG like shields.io's, and the colours per grade (for our SVG and for a
shields.io endpoint's JSON).

The SVG is made here rather than fetched from shields.io so a README badge does not depend on, or tell a
third party about, every view. Text widths come from a table of Verdana 11px advances: no font is needed
on the server, and being a pixel off only widens the padding.
"""

from __future__ import annotations

from reports.charts import SVG_NS, attribute, text_content

LABEL_COLOR = "#555555"
#: Our colour per letter: the greens for the As, then yellow-green, amber, orange, red; grey for none.
GRADE_COLORS = {
    "A+": "#2e7d32",
    "A": "#2e7d32",
    "A-": "#388e3c",
    "B": "#689f38",
    "C": "#b8860b",
    "D": "#e65100",
    "E": "#e65100",
    "T": "#c62828",
    "F": "#c62828",
}
NO_GRADE_COLOR = "#757575"
#: shields.io's named colours for the same letters (its endpoint JSON takes a name or hex).
SHIELDS_COLORS = {
    "A+": "brightgreen",
    "A": "brightgreen",
    "A-": "green",
    "B": "yellowgreen",
    "C": "yellow",
    "D": "orange",
    "E": "orange",
    "T": "red",
    "F": "red",
}
SHIELDS_NO_GRADE = "lightgrey"

# Advance widths in px of Verdana at 11px (from the font's metrics, rounded to 0.1).
_WIDTHS = {
    **dict.fromkeys(" ", 3.9),
    **dict.fromkeys("!", 4.3),
    **dict.fromkeys("'", 3.0),
    **dict.fromkeys('"-()/:;[]{}|\\', 5.0),
    **dict.fromkeys(",.", 4.0),
    **dict.fromkeys("#+<=>~", 9.0),
    **dict.fromkeys("%", 11.8),
    **dict.fromkeys("&", 8.0),
    **dict.fromkeys("@", 11.0),
    **dict.fromkeys("?", 6.0),
    **dict.fromkeys("$*0123456789_^`", 7.0),
    **dict.fromkeys("fr", 4.7),
    **dict.fromkeys("ijl", 3.0),
    **dict.fromkeys("t", 4.3),
    **dict.fromkeys("m", 10.7),
    **dict.fromkeys("w", 9.0),
    **dict.fromkeys("cs", 5.7),
    **dict.fromkeys("z", 5.8),
    **dict.fromkeys("abdeghknopquvxy", 6.8),
    **dict.fromkeys("I", 4.6),
    **dict.fromkeys("J", 5.0),
    **dict.fromkeys("FL", 6.2),
    **dict.fromkeys("PTY", 6.7),
    **dict.fromkeys("ABCEKRSVXZ", 7.5),
    **dict.fromkeys("DGHNOQU", 8.4),
    **dict.fromkeys("M", 9.3),
    **dict.fromkeys("W", 10.9),
}
#: Anything else: wide scripts (CJK …) take about a full em, the rest an average letter.
_WIDE, _DEFAULT = 11.0, 7.0
_PADDING = 6
_HEIGHT = 20


def text_width(text: str) -> float:
    """Approximate width in px of ``text`` in Verdana 11px."""
    return sum(_WIDTHS.get(char, _WIDE if ord(char) >= 0x2E80 else _DEFAULT) for char in text)


def grade_color(letter: str | None) -> str:
    """Our hex colour for a grade letter; grey for no grade or a letter we do not know."""
    return GRADE_COLORS.get(letter, NO_GRADE_COLOR) if letter is not None else NO_GRADE_COLOR


def shields_color(letter: str | None) -> str:
    """shields.io's colour name for a grade letter; ``lightgrey`` for no grade or an unknown letter."""
    return SHIELDS_COLORS.get(letter, SHIELDS_NO_GRADE) if letter is not None else SHIELDS_NO_GRADE


def _part_width(text: str) -> int:
    return round(text_width(text)) + 2 * _PADDING if text else 0


def _caption(x: float, text: str) -> str:
    # The darker copy one pixel lower is shields.io's text shadow, drawn without a filter or an id.
    common = f'x="{x:.1f}" text-anchor="middle" font-family="Verdana, DejaVu Sans, sans-serif" font-size="11"'
    content = text_content(text)
    return (
        f'<text {common} y="15" fill="#010101" fill-opacity="0.3" aria-hidden="true">{content}</text>\n'
        f'<text {common} y="14" fill="#ffffff">{content}</text>'
    )


def badge_svg(label: str, message: str, color: str) -> str:
    """A flat badge: ``label`` on grey, ``message`` on ``color``; only the message part when the label
    is empty. Rounded corners by layering rectangles (a clip path would need an id, and ids collide when
    several badges are inlined in one page)."""
    label_width, message_width = _part_width(label), _part_width(message)
    width = label_width + message_width
    name = f"{label}: {message}" if label else message
    body = [f'<rect class="message" width="{width}" height="{_HEIGHT}" rx="3" fill={attribute(color)}/>']
    if label:
        body += [
            f'<rect class="label" width="{label_width}" height="{_HEIGHT}" rx="3" fill="{LABEL_COLOR}"/>',
            # Squares the label's right end where it meets the message.
            f'<rect x="{label_width - 3}" width="3" height="{_HEIGHT}" fill="{LABEL_COLOR}"/>',
            _caption(label_width / 2, label),
        ]
    body.append(_caption(label_width + message_width / 2, message))
    return "\n".join(
        [
            f'<svg xmlns="{SVG_NS}" class="badge" role="img" aria-label={attribute(name)} width="{width}" '
            f'height="{_HEIGHT}" viewBox="0 0 {width} {_HEIGHT}">',
            f"<title>{text_content(name)}</title>",
            *body,
            "</svg>",
        ]
    )
