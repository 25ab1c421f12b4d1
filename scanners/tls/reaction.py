"""How a server reacts to what a follow-up sent after its first flight: an alert, a hang-up or silence.

The attack probes (CCS injection, ROBOT) send records a server must refuse and compare how it
refuses them. The reaction is read in clear: an alert sent before the server's ChangeCipherSpec
travels unencrypted. Reads are bounded in bytes and time.
"""

from __future__ import annotations

import asyncio
import time

from scanners.tls.wire import ContentType

#: Never read more than this: a few alerts are all that is expected.
_READ_LIMIT = 512
#: Reaction labels besides ``alert N``.
CLOSED, RESET, SILENT = "closed", "reset", "silent"


def records(buffer: bytes) -> list[tuple[int, bytes]]:
    """The complete records at the start of ``buffer``: (content type, fragment)."""
    found, position = [], 0
    while position + 5 <= len(buffer):
        length = int.from_bytes(buffer[position + 3 : position + 5], "big")
        if position + 5 + length > len(buffer):
            break
        found.append((buffer[position], buffer[position + 5 : position + 5 + length]))
        position += 5 + length
    return found


def record(content_type: int, version: int, fragment: bytes) -> bytes:
    """One record; the record version never exceeds TLS 1.2's (RFC 8446 §5.1)."""
    return bytes([content_type]) + min(version, 0x0303).to_bytes(2, "big") + len(fragment).to_bytes(2, "big") + fragment


def alert_label(description: int) -> str:
    return f"alert {description}"


async def read_reaction(reader: asyncio.StreamReader, deadline: float, wait: float) -> str:
    """``alert N`` (the first alert's description), ``closed``, ``reset``, ``silent`` (nothing within
    ``wait``), or ``record N`` when the server sent something other than an alert first."""
    stop = min(deadline, time.monotonic() + wait)
    buffer = b""
    try:
        while len(buffer) < _READ_LIMIT:
            remaining = stop - time.monotonic()
            if remaining <= 0:
                return SILENT
            chunk = await asyncio.wait_for(reader.read(_READ_LIMIT - len(buffer)), remaining)
            if not chunk:
                return _first(buffer) or CLOSED
            buffer += chunk
            first = _first(buffer)
            if first is not None:
                return first
    except TimeoutError:
        return SILENT
    except ConnectionResetError:
        return _first(buffer) or RESET
    except (ConnectionError, OSError):
        return _first(buffer) or CLOSED
    return _first(buffer) or SILENT


def _first(buffer: bytes) -> str | None:
    for content_type, fragment in records(buffer):
        if content_type == ContentType.ALERT and len(fragment) >= 2:
            return alert_label(fragment[1])
        if content_type not in (ContentType.ALERT, ContentType.HEARTBEAT):  # (a late answer to Heartbleed's test)
            return f"record {content_type}"
    return None
