"""Just enough DER to read the string inside an otherName SAN (SRV-ID, XmppAddr), strictly and bounded.

``cryptography`` hands an otherName's value over as the raw DER of the inner value; the certificate
is the server's, so every length is checked against the bytes actually there and against a cap.
"""

from __future__ import annotations

IA5STRING = 0x16
UTF8STRING = 0x0C

#: No real identity is anywhere near this long; a longer one is treated as hostile.
MAX_VALUE_BYTES = 1024


class DerError(ValueError):
    """The bytes are not the single, minimal DER string TLV expected; the message says why."""


def _length(data: bytes) -> tuple[int, int]:
    """(content length, offset of the content) for the TLV starting at ``data[0]``."""
    if len(data) < 2:
        raise DerError("truncated: no length")
    first = data[1]
    if first < 0x80:
        return first, 2
    count = first & 0x7F
    if count == 0:
        raise DerError("indefinite length is not DER")
    if count > 2:
        raise DerError(f"length of {count} bytes is beyond the {MAX_VALUE_BYTES}-byte cap")
    if len(data) < 2 + count:
        raise DerError("truncated: length bytes missing")
    length = int.from_bytes(data[2 : 2 + count], "big")
    if length < 0x80 or (count == 2 and length < 0x100):
        raise DerError("length not minimally encoded (not DER)")
    return length, 2 + count


def decode_string(data: bytes, tag: int) -> str:
    """The text of one DER string TLV of universal ``tag`` that fills ``data`` exactly."""
    if not data:
        raise DerError("empty value")
    if data[0] != tag:
        expected = {IA5STRING: "IA5String", UTF8STRING: "UTF8String"}.get(tag, f"tag {tag:#04x}")
        raise DerError(f"tag {data[0]:#04x} where an {expected} was expected")
    length, start = _length(data)
    if length > MAX_VALUE_BYTES:
        raise DerError(f"{length} bytes, beyond the {MAX_VALUE_BYTES}-byte cap")
    if start + length != len(data):
        raise DerError("length does not match the bytes present")
    body = data[start:]
    if tag == IA5STRING:
        if any(byte > 0x7F for byte in body):
            raise DerError("IA5String with non-ASCII bytes")
        return body.decode("ascii")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise DerError("UTF8String that is not UTF-8") from None
