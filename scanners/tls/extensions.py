"""Extension behaviour of TLS ≤ 1.2, and whether TLS_FALLBACK_SCSV is honoured.

One hello at the highest version up to TLS 1.2 asks for everything at once: DEFLATE and LZS
before null compression, renegotiation_info, extended_master_secret, encrypt_then_mac,
session_ticket, status_request, truncated_hmac and heartbeat. It offers the accepted CBC suites when there are
any, because servers only answer encrypt_then_mac for block ciphers. Its flight is read to the
end (OCSP staple included); the Heartbleed test, then the CCS injection test follow on the same
connection (neither needs a connection of its own).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from scanners.tls import ccs, heartbleed, registry
from scanners.tls.facts import TlsExtensionFacts, TlsVersion
from scanners.tls.probe import FollowUp, ProbeResult
from scanners.tls.prober import Prober
from scanners.tls.wire import VERSION_CODES, AlertDescription, Compression, Extension, HandshakeSignal

_COMPRESSION_NAMES = {Compression.DEFLATE: "DEFLATE", Compression.LZS: "LZS"}


def _block_cipher(code: int) -> bool:
    suite = registry.by_code(code)
    return suite is not None and suite.cipher.endswith("_CBC")


async def extension_probe(
    prober: Prober, version: TlsVersion, suites: Sequence[int]
) -> tuple[TlsExtensionFacts | None, ProbeResult]:
    offer = [code for code in suites if _block_cipher(code)] or list(suites)
    options = prober.options
    hello = prober.hello(
        version,
        offer,
        compression_methods=(Compression.DEFLATE, Compression.LZS, Compression.NULL),
        heartbeat=options.heartbleed,
        extra_extensions=((Extension.TRUNCATED_HMAC, b""),),
    )
    follow = _after_flight(options.heartbleed, options.ccs_injection)
    result = await prober.probe(hello, read_flight=True, follow_up=follow)
    server_hello = result.server_hello
    if server_hello is None or server_hello.version != VERSION_CODES[version]:
        prober.anomaly(version, "the server refused a hello asking for compression and every legacy extension")
        return None, result
    has = {kind for kind, _ in server_hello.extensions}
    compression = server_hello.compression_method
    after = result.follow_up if isinstance(result.follow_up, _Afterwards) else _Afterwards()
    outcome = after.heartbeat
    return (
        TlsExtensionFacts(
            version=version,
            cipher_suite=registry.suite_name(server_hello.cipher_suite),
            compression=None if compression == 0 else _COMPRESSION_NAMES.get(compression, f"UNKNOWN_{compression}"),
            secure_renegotiation=Extension.RENEGOTIATION_INFO in has,
            extended_master_secret=Extension.EXTENDED_MASTER_SECRET in has,
            encrypt_then_mac=(Extension.ENCRYPT_THEN_MAC in has) if _block_cipher(server_hello.cipher_suite) else None,
            session_ticket=Extension.SESSION_TICKET in has,
            status_request=Extension.STATUS_REQUEST in has,
            heartbeat=Extension.HEARTBEAT in has,
            truncated_hmac=Extension.TRUNCATED_HMAC in has,
            heartbleed=outcome.bleeds if outcome is not None else None,
            heartbleed_overread=outcome.answered_length if outcome is not None and outcome.bleeds else None,
            ccs_injection=after.ccs_taken,
        ),
        result,
    )


@dataclass(frozen=True)
class _Afterwards:
    heartbeat: heartbleed.HeartbeatOutcome | None = None
    ccs_taken: bool | None = None


def _after_flight(heartbeat: bool, early_ccs: bool) -> FollowUp | None:
    """Heartbleed's test, then the early ChangeCipherSpecs (unless the server already hung up)."""
    if not (heartbeat or early_ccs):
        return None

    async def follow_up(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, result: ProbeResult, deadline: float
    ) -> _Afterwards:
        outcome = await heartbleed.follow_up(reader, writer, result, deadline) if heartbeat else None
        if not early_ccs or (outcome is not None and outcome.ended):
            return _Afterwards(outcome)
        return _Afterwards(outcome, await ccs.follow_up(reader, writer, result, deadline))

    return follow_up


async def fallback_scsv(prober: Prober, supported: Sequence[TlsVersion], suites: Sequence[int]) -> bool | None:
    """Offer the second-highest version with TLS_FALLBACK_SCSV (RFC 7507): True when refused as it should be.

    ``supported`` is oldest first; ``suites`` are those accepted at the second-highest version.
    None when fewer than two versions (SSL 2.0 aside) are spoken, or the answer says neither.
    """
    versions = [version for version in supported if version != TlsVersion.SSL2]
    if len(versions) < 2:
        return None
    lower = versions[-2]
    codes = list(suites) or [suite.code for suite in registry.candidates(lower)][:64]
    result = await prober.probe(prober.hello(lower, [*codes, HandshakeSignal.FALLBACK_SCSV]))
    if result.alert is not None and result.server_hello is None:
        if result.alert.description == AlertDescription.INAPPROPRIATE_FALLBACK:
            return True
        alert = result.alert.description
        prober.anomaly(lower, f"a fallback hello was refused with alert {alert}, not inappropriate_fallback")
        return None
    if result.server_hello is not None:
        return False
    return None
