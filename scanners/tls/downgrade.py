"""RFC 8446 §4.1.3's downgrade sentinel, read from the ServerHellos enumeration already has.

A TLS 1.3 server that negotiates an older version ends ServerHello.random with ``DOWNGRD`` and 1
(TLS 1.2) or 0 (older): a TLS 1.3 client seeing it knows an attacker removed TLS 1.3 from its
hello, whatever the older version's own protections. Each version's first hello is capped at that
version, so its answer must carry the sentinel; no connection of its own is needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scanners.tls.facts import TlsVersion
from scanners.tls.probe import ProbeResult

TO_TLS12, TO_OLDER = b"DOWNGRD\x01", b"DOWNGRD\x00"
_OLDER = (TlsVersion.TLS12, TlsVersion.TLS11, TlsVersion.TLS10)


def sentinel_for(negotiated: int) -> bytes:
    return TO_TLS12 if negotiated == 0x0303 else TO_OLDER


def downgrade_sentinel(supported: Sequence[TlsVersion], first: Mapping[TlsVersion, ProbeResult]) -> bool | None:
    """True when every older version's ServerHello carried the sentinel; None when there is nothing to tell."""
    if TlsVersion.TLS13 not in supported:
        return None
    hellos = [
        hello
        for version in _OLDER
        if version in supported and version in first and (hello := first[version].server_hello) is not None
    ]
    if not hellos:
        return None
    return all(hello.random[-8:] == sentinel_for(hello.version) for hello in hellos)
