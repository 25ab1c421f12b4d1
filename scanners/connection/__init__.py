"""The connection layer every probe stands on: pacing, deadlines, the prelude up to TLS, a full handshake.

Usage (one ``Limiter`` per scan, shared by every probe; a ``Deadline`` per probe)::

    limiter = Limiter(LimiterSettings(max_in_flight=4, min_gap=0.1))
    endpoint = Endpoint(ServiceKind.C2S, "example.org", "192.0.2.1", 5222, Transport.STARTTLS)
    deadline = Deadline.after(10)
    async with open_prelude(endpoint, limiter, deadline) as (reader, writer, facts):
        tls = await start_tls(reader, writer, endpoint, deadline)   # or write a raw ClientHello

``open_prelude`` raises ``ProbeFailure`` (``.error`` a ``ProbeError``, ``.facts`` what was seen);
``start_tls`` raises ``TlsFailed`` or ``TimeoutError``; ``classify(exc, phase)`` turns any of these
into a ``ProbeError``.
"""

from scanners.connection.errors import PhaseClock, ProbeFailure, TlsFailed, classify
from scanners.connection.limits import Deadline, Limiter, LimiterSettings
from scanners.connection.prelude import Endpoint, Prelude, PreludeFacts, open_prelude
from scanners.connection.tls import TlsStream, client_context, start_tls

__all__ = [
    "Deadline",
    "Endpoint",
    "Limiter",
    "LimiterSettings",
    "PhaseClock",
    "Prelude",
    "PreludeFacts",
    "ProbeFailure",
    "TlsFailed",
    "TlsStream",
    "classify",
    "client_context",
    "open_prelude",
    "start_tls",
]
