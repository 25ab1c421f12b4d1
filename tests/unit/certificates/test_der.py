"""The bounded DER reader for otherName values: exact, minimal, capped."""

from __future__ import annotations

import pytest

from observatory.certificates._der import IA5STRING, MAX_VALUE_BYTES, UTF8STRING, DerError, decode_string


@pytest.mark.parametrize(
    ("data", "tag", "text"),
    [
        (b"\x16\x18_xmpp-client.example.org", IA5STRING, "_xmpp-client.example.org"),
        (b"\x0c\x0fb\xc3\xbccher.example", UTF8STRING, "bücher.example"),
        (b"\x16\x81\x80" + b"a" * 0x80, IA5STRING, "a" * 0x80),
        (b"\x16\x82\x01\x00" + b"a" * 0x100, IA5STRING, "a" * 0x100),
        (b"\x0c\x00", UTF8STRING, ""),
    ],
)
def test_decodes(data: bytes, tag: int, text: str) -> None:
    assert decode_string(data, tag) == text


@pytest.mark.parametrize(
    ("data", "tag", "message"),
    [
        (b"", IA5STRING, "empty"),
        (b"\x0c\x03abc", IA5STRING, "IA5String was expected"),
        (b"\x16", IA5STRING, "no length"),
        (b"\x16\x05abc", IA5STRING, "does not match"),
        (b"\x16\x02abc", IA5STRING, "does not match"),
        (b"\x16\x80abc\x00\x00", IA5STRING, "indefinite"),
        (b"\x16\x81\x03abc", IA5STRING, "minimally"),
        (b"\x16\x82\x00\x80" + b"a" * 0x80, IA5STRING, "minimally"),
        (b"\x16\x84\x7f\xff\xff\xff", IA5STRING, "cap"),
        (b"\x16\x82", IA5STRING, "length bytes missing"),
        (b"\x16\x82\x04\x01" + b"a" * (MAX_VALUE_BYTES + 1), IA5STRING, "cap"),
        (b"\x16\x02\xc3\xbc", IA5STRING, "non-ASCII"),
        (b"\x0c\x02\xff\xfe", UTF8STRING, "not UTF-8"),
    ],
)
def test_refuses(data: bytes, tag: int, message: str) -> None:
    with pytest.raises(DerError, match=message):
        decode_string(data, tag)
