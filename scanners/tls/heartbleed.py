"""A safe Heartbleed test (CVE-2014-0160), run on the extension probe's connection.

When the server answered the heartbeat extension, two heartbeat requests follow its flight:

1. one whose payload_length (3) exceeds its payload (none), so the 16 bytes of padding are all
   the record holds. RFC 6520 says to discard it silently; a vulnerable OpenSSL copies 3 bytes
   from where the payload should be, which is our own padding: the answer proves the over-read
   while the server reads nothing of its own memory past our record;
2. one well-formed request (1 byte of payload), which an honest server may answer at once, so an
   honest server does not cost a timeout.

Answers come in order, so the first heartbeat response tells: payload_length 3 is the over-read,
1 is the honest answer to the second. No answer within a short wait: not vulnerable.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

from scanners.tls.probe import ProbeResult
from scanners.tls.reaction import record, records
from scanners.tls.wire import ContentType, Extension

#: Bytes a vulnerable server is asked to copy beyond the payload (all of them our own padding).
OVERREAD = 3
_PADDING = 16
_REQUEST, _RESPONSE = 1, 2
#: How long to wait for an answer once both requests are out; vulnerable servers answer at once.
ANSWER_WAIT = 2.0
#: Never read more than this after the flight: a few headers and the tiny answers expected.
_READ_LIMIT = 512


@dataclass(frozen=True)
class HeartbeatOutcome:
    #: The server answered the malformed request.
    bleeds: bool
    #: payload_length of the first heartbeat response, when there was one.
    answered_length: int | None = None
    #: The server sent an alert (or hung up) instead: nothing more can be asked on this connection.
    ended: bool = False


def heartbeat_record(version: int, payload: bytes, claimed: int) -> bytes:
    message = bytes([_REQUEST]) + claimed.to_bytes(2, "big") + payload + os.urandom(_PADDING)
    return record(ContentType.HEARTBEAT, version, message)


async def follow_up(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, result: ProbeResult, deadline: float
) -> HeartbeatOutcome | None:
    """The follow-up for ``run_probe``: None when the server did not answer the heartbeat extension."""
    hello = result.server_hello
    if hello is None or hello.extension(Extension.HEARTBEAT) is None:
        return None
    writer.write(heartbeat_record(hello.version, b"", OVERREAD) + heartbeat_record(hello.version, b"\x00", 1))
    stop = min(deadline, time.monotonic() + ANSWER_WAIT)
    buffer = b""
    try:
        await writer.drain()
        while len(buffer) < _READ_LIMIT:
            remaining = stop - time.monotonic()
            if remaining <= 0:
                break
            chunk = await asyncio.wait_for(reader.read(_READ_LIMIT - len(buffer)), remaining)
            if not chunk:
                return HeartbeatOutcome(bleeds=False, ended=True)
            buffer += chunk
            answer = _first_heartbeat(buffer)
            if answer is not None:
                return HeartbeatOutcome(bleeds=answer == OVERREAD, answered_length=answer)
            if _ended(buffer):
                return HeartbeatOutcome(bleeds=False, ended=True)
    except TimeoutError:
        pass
    except (ConnectionError, OSError):
        return HeartbeatOutcome(bleeds=False, ended=True)
    return HeartbeatOutcome(bleeds=False)


def _first_heartbeat(buffer: bytes) -> int | None:
    for content_type, body in records(buffer):
        if content_type == ContentType.HEARTBEAT and len(body) >= 3 and body[0] == _RESPONSE:
            return int.from_bytes(body[1:3], "big")
    return None


def _ended(buffer: bytes) -> bool:
    """A fatal alert (or anything that is not a heartbeat) ends the wait: no answer will come."""
    return any(content_type != ContentType.HEARTBEAT for content_type, _ in records(buffer))
