"""CCS injection (CVE-2014-0224): does the server take a ChangeCipherSpec before the key exchange?

Run on the extension probe's connection once its flight is in (after the Heartbleed test, when
there is one): two ChangeCipherSpec records where the server expects a ClientKeyExchange. A CCS
is only valid after the key exchange (RFC 5246 §7.1), so a patched server refuses the first one
with unexpected_message. A vulnerable OpenSSL (before 1.0.1h, 1.0.0m and 0.9.8za) accepts it and
derives keys from an empty master secret; the second CCS then arrives under those keys, fails its
MAC, and the server says bad_record_mac (decryption_failed on the oldest). Nothing is decrypted
and no key is ever computed on our side.

The second ChangeCipherSpec goes out only when the first met silence: Prosody 0.12 (LuaSec over
OpenSSL 3) refuses a lone early one at once, but given both in one segment it neither answers nor
hangs up — on loopback the two can arrive apart, over a real network they arrive together.
"""

from __future__ import annotations

import asyncio

from scanners.tls.probe import ProbeResult
from scanners.tls.reaction import CLOSED, RESET, SILENT, alert_label, read_reaction, record
from scanners.tls.wire import ContentType

#: How long to wait for the server's verdict; both kinds of server answer at once.
ANSWER_WAIT = 2.0
#: A patched server refuses the first ChangeCipherSpec within a round trip; a vulnerable one takes
#: it without a word, so silence this long sends the second.
FIRST_WAIT = 1.0
#: bad_record_mac, decryption_failed: the first CCS was taken and keys changed under it.
_TAKEN = frozenset({alert_label(20), alert_label(21)})


def verdict(reaction: str) -> bool | None:
    """True: the early CCS was taken; False: refused; None: the reaction says neither (silence)."""
    if reaction in _TAKEN:
        return True
    return refused(reaction)


def refused(reaction: str) -> bool | None:
    """False when ``reaction`` is a refusal (an alert, a hang-up), None when it says nothing."""
    if reaction.startswith("alert ") or reaction in (CLOSED, RESET):
        return False
    return None


async def follow_up(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, result: ProbeResult, deadline: float
) -> bool | None:
    """Send an early ChangeCipherSpec, and a second one if the first is taken; the verdict."""
    hello = result.server_hello
    if hello is None:
        return None
    change = record(ContentType.CHANGE_CIPHER_SPEC, hello.version, b"\x01")
    try:
        writer.write(change)
        await writer.drain()
    except (ConnectionError, OSError):
        return None
    first = await read_reaction(reader, deadline, FIRST_WAIT)
    if first != SILENT:
        # Whatever the code, an answer to the lone ChangeCipherSpec is no sign it was taken.
        return refused(first)
    try:
        writer.write(change)
        await writer.drain()
    except (ConnectionError, OSError):
        return None
    return verdict(await read_reaction(reader, deadline, ANSWER_WAIT))
