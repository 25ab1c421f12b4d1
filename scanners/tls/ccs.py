"""CCS injection (CVE-2014-0224): does the server take a ChangeCipherSpec before the key exchange?

Run on the extension probe's connection once its flight is in (after the Heartbleed test, when
there is one): two ChangeCipherSpec records where the server expects a ClientKeyExchange. A CCS
is only valid after the key exchange (RFC 5246 §7.1), so a patched server refuses the first one
with unexpected_message. A vulnerable OpenSSL (before 1.0.1h, 1.0.0m and 0.9.8za) accepts it and
derives keys from an empty master secret; the second CCS then arrives under those keys, fails its
MAC, and the server says bad_record_mac (decryption_failed on the oldest). Nothing is decrypted
and no key is ever computed on our side.
"""

from __future__ import annotations

import asyncio

from scanners.tls.probe import ProbeResult
from scanners.tls.reaction import CLOSED, RESET, alert_label, read_reaction, record
from scanners.tls.wire import ContentType

#: How long to wait for the server's verdict; both kinds of server answer at once.
ANSWER_WAIT = 2.0
#: bad_record_mac, decryption_failed: the first CCS was taken and keys changed under it.
_TAKEN = frozenset({alert_label(20), alert_label(21)})


def verdict(reaction: str) -> bool | None:
    """True: the early CCS was taken; False: refused; None: the reaction says neither (silence)."""
    if reaction in _TAKEN:
        return True
    if reaction.startswith("alert ") or reaction in (CLOSED, RESET):
        return False
    return None


async def follow_up(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, result: ProbeResult, deadline: float
) -> bool | None:
    """Send the two early ChangeCipherSpec records; the verdict on the server's answer."""
    hello = result.server_hello
    if hello is None:
        return None
    change = record(ContentType.CHANGE_CIPHER_SPEC, hello.version, b"\x01")
    try:
        writer.write(change + change)
        await writer.drain()
    except (ConnectionError, OSError):
        return None
    return verdict(await read_reaction(reader, deadline, ANSWER_WAIT))
