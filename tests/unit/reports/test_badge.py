"""Grade badges: well-formed, accessible, escaped, sized by their text, coloured by grade."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from observatory.storage.stats import GRADE_LETTERS
from reports.badge import GRADE_COLORS, badge_svg, grade_color, shields_color, text_width

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def test_a_badge_has_two_parts_and_names_itself() -> None:
    root = parse(badge_svg("xmpp c2s", "A+", "#2e7d32"))
    assert root.get("role") == "img"
    assert root.get("aria-label") == "xmpp c2s: A+"
    assert root.findtext(f"{NS}title") == "xmpp c2s: A+"
    rects = list(root.iter(f"{NS}rect"))
    assert rects[0].get("fill") == "#2e7d32"
    assert rects[1].get("fill") == "#555555"
    visible = [t.text for t in root.iter(f"{NS}text") if t.get("aria-hidden") != "true"]
    assert visible == ["xmpp c2s", "A+"]
    assert root.get("viewBox") == f"0 0 {root.get('width')} 20"


def test_the_width_follows_the_text() -> None:
    narrow = int(parse(badge_svg("grade", "A", "#2e7d32")).get("width", ""))
    wide = int(parse(badge_svg("grade", "not graded yet", "#2e7d32")).get("width", ""))
    assert wide - narrow == pytest.approx(text_width("not graded yet") - text_width("A"), abs=1)
    assert text_width("iii") < text_width("mmm")
    assert text_width("漢字") == 22


def test_hostile_text_stays_text() -> None:
    hostile = "<script>alert(1)</script> & \"x\" 'y'"
    svg = badge_svg(hostile, hostile, '"><script>alert(2)</script>')
    root = parse(svg)
    assert "<script" not in svg
    assert not any(element.tag.endswith("script") for element in root.iter())
    assert root.get("aria-label") == f"{hostile}: {hostile}"
    assert [t.text for t in root.iter(f"{NS}text")].count(hostile) == 4
    assert next(root.iter(f"{NS}rect")).get("fill") == '"><script>alert(2)</script>'
    assert not any(name.startswith("on") or name == "style" for e in root.iter() for name in e.attrib)


def test_without_a_label_only_the_message_shows() -> None:
    root = parse(badge_svg("", "A", "#2e7d32"))
    assert root.get("aria-label") == "A"
    assert len(list(root.iter(f"{NS}rect"))) == 1


@pytest.mark.parametrize(
    ("letter", "ours", "shields"),
    [
        ("A+", "#2e7d32", "brightgreen"),
        ("A", "#2e7d32", "brightgreen"),
        ("A-", "#388e3c", "green"),
        ("B", "#689f38", "yellowgreen"),
        ("C", "#b8860b", "yellow"),
        ("D", "#e65100", "orange"),
        ("E", "#e65100", "orange"),
        ("T", "#c62828", "red"),
        ("F", "#c62828", "red"),
        (None, "#757575", "lightgrey"),
        ("Z", "#757575", "lightgrey"),
    ],
)
def test_colours_per_grade(letter: str | None, ours: str, shields: str) -> None:
    assert grade_color(letter) == ours
    assert shields_color(letter) == shields


def test_every_grade_letter_has_a_colour() -> None:

    assert set(GRADE_COLORS) == set(GRADE_LETTERS)
