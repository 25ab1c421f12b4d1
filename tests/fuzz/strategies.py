"""Hypothesis strategies shared by the fuzz targets: XML text and byte mutations."""

from __future__ import annotations

import itertools

from hypothesis import strategies as st

#: Characters XML 1.0 can carry (§2.2): tab, LF, CR, and the planes minus surrogates and U+FFFE/FFFF.
xml_char = st.one_of(
    st.sampled_from("\t\n\r"),
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),  # mostly ASCII: markup-like text matters most
    st.characters(min_codepoint=0x20, max_codepoint=0xD7FF),
    st.characters(min_codepoint=0xE000, max_codepoint=0xFFFD),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
)
xml_text = st.text(xml_char, max_size=24)

#: Bytes that matter to the parsers: markup, quotes, entity and length-ish values, invalid UTF-8.
INTERESTING = [
    b"<",
    b">",
    b"&",
    b";",
    b"'",
    b'"',
    b"/",
    b"\x00",
    b"\xff",
    b"\xfe",
    b"\xc0\x80",
    b"]]>",
    b"<!",
    b"&#0;",
    b"&#x10FFFF;",
    b"&lt;",
    b"&foo;",
]


@st.composite
def mutated(draw: st.DrawFn, data: bytes, max_mutations: int = 6) -> bytes:
    """``data`` with a few bytes flipped, inserted or deleted, then perhaps truncated."""
    out = bytearray(data)
    for _ in range(draw(st.integers(0, max_mutations))):
        position = draw(st.integers(0, len(out)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "interesting"]))
        if action == "flip" and position < len(out):
            out[position] = draw(st.integers(0, 255))
        elif action == "insert":
            out[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del out[position : position + draw(st.integers(1, 16))]
        else:
            out[position:position] = draw(st.sampled_from(INTERESTING))
    if draw(st.booleans()):
        del out[draw(st.integers(0, len(out))) :]
    return bytes(out)


@st.composite
def chunked(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """``data`` cut at arbitrary boundaries (every boundary possible, one-byte chunks included)."""
    if not data:
        return [data]
    if draw(st.integers(0, 9)) == 0:
        return [data[i : i + 1] for i in range(len(data))]
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(data) - 1)), max_size=12))))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]
