"""The stream prober: what an endpoint says before and after TLS.

``probe_stream(endpoint, limiter, deadline)`` never raises for anything a server does: it returns
``StreamFacts`` with everything observed, and ``StreamFacts.errors`` saying which part did not
complete and why. It opens, through the shared limiter:

1. the main connection: header and features; on STARTTLS endpoints ``<starttls/>``, a TLS
   handshake (SNI = the domain) and the restart; on Direct TLS endpoints the handshake first
   (SNI, ALPN ``xmpp-client``/``xmpp-server``); then the features after TLS and, on c2s, the first
   round of SCRAM for a random account (XEP-0474/XEP-0515 signals);
2. when STARTTLS is not ``<required/>``: a cleartext stream asking whether it is enforced anyway;
3. when STARTTLS is offered: a stream testing STARTTLS command injection.

2 and 3 run concurrently after 1, if it read the features, got no stream error and time is left.
A stream error is recorded with its text (a redirect is never followed) and ends the probe.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from scanners.base import ServiceKind, Transport
from scanners.connection.errors import PhaseClock, ProbeFailure, classify
from scanners.connection.limits import Deadline, Limiter
from scanners.connection.prelude import Endpoint, PreludeFacts, open_prelude
from scanners.connection.tls import TlsStream, start_tls
from scanners.stream.facts import StarttlsPolicy, StreamFacts, StreamTimings
from scanners.stream.features import FEATURES, parse_features
from scanners.stream.probes import check_enforcement, check_injection, scram_first_message
from scanners.stream.wire import CLOSE, stream_header
from scanners.stream.xmlstream import StreamErrorReceived, XmlStream


@dataclass(frozen=True)
class ProbeOptions:
    #: When STARTTLS is not required, ask on a cleartext stream whether it is enforced anyway.
    enforcement: bool = True
    #: Test STARTTLS command injection.
    injection: bool = True
    #: c2s: start SCRAM for a random, non-existent account to read XEP-0474/XEP-0515 attributes.
    scram: bool = True


async def _after_tls(
    tls: TlsStream,
    endpoint: Endpoint,
    deadline: Deadline,
    options: ProbeOptions,
    facts: dict[str, Any],
    clock: PhaseClock,
) -> None:
    """The stream over TLS: header, features, SCRAM's first round, a polite close."""
    direct = endpoint.transport is Transport.DIRECTTLS
    xml = XmlStream(tls, deadline)
    with clock.phase("restart"):
        xml.phase = "header" if direct else "header-after-tls"
        await tls.write(stream_header(endpoint.kind, endpoint.domain, endpoint.from_domain))
        header = await xml.open()
        facts["header" if direct else "header_after_tls"] = header
        xml.phase = "features" if direct else "features-after-tls"
        features = parse_features(await xml.expect(FEATURES))
        facts["features_after_tls"] = features
    if options.scram and endpoint.kind is ServiceKind.C2S:
        with clock.phase("scram"):
            facts["scram"] = await scram_first_message(tls, xml, features)
    await tls.write(CLOSE)
    await tls.close()


def _take_prelude(facts: dict[str, Any], prelude: PreludeFacts | None) -> None:
    if prelude is None:
        return
    facts.update(header=prelude.header, features_before_tls=prelude.features, starttls=prelude.starttls)
    facts["stream_error"] = prelude.stream_error
    facts["timings"].update(prelude.timings)


async def _main_connection(
    endpoint: Endpoint, limiter: Limiter, deadline: Deadline, options: ProbeOptions, facts: dict[str, Any]
) -> None:
    errors = facts["errors"]
    try:
        async with open_prelude(endpoint, limiter, deadline) as (reader, writer, prelude):
            _take_prelude(facts, prelude)
            clock = PhaseClock()
            try:
                with clock.phase("tls-handshake"):
                    tls = await start_tls(reader, writer, endpoint, deadline)
                facts.update(alpn=tls.alpn, tls_version=tls.version)
                await _after_tls(tls, endpoint, deadline, options, facts, clock)
            except StreamErrorReceived as exc:
                facts["stream_error"] = exc.error
                errors.append(classify(exc, exc.error.phase))
            except Exception as exc:
                errors.append(classify(exc, clock.current))
            facts["timings"].update(clock.seconds)
    except ProbeFailure as failure:
        _take_prelude(facts, failure.facts)
        if failure.facts is None or failure.facts.starttls is not StarttlsPolicy.ABSENT:
            errors.append(failure.error)  # no STARTTLS offered is a fact, not a failure


async def probe_stream(
    endpoint: Endpoint, limiter: Limiter, deadline: Deadline, options: ProbeOptions | None = None
) -> StreamFacts:
    """Probe one endpoint; see the module docstring. Never raises for the server's behaviour."""
    options = options or ProbeOptions()
    clock = PhaseClock()
    facts: dict[str, Any] = {"errors": [], "timings": {}}
    await _main_connection(endpoint, limiter, deadline, options, facts)

    policy = facts.get("starttls")
    follow_ups = []
    if facts.get("stream_error") is None and endpoint.transport is Transport.STARTTLS and not deadline.expired:
        if options.enforcement and policy in (StarttlsPolicy.OPTIONAL, StarttlsPolicy.ABSENT):
            follow_ups.append(("enforcement", check_enforcement(endpoint, limiter, deadline)))
        if options.injection and policy in (StarttlsPolicy.OPTIONAL, StarttlsPolicy.REQUIRED):
            follow_ups.append(("injection", check_injection(endpoint, limiter, deadline)))
    results = await asyncio.gather(*(probe for _, probe in follow_ups))
    for (name, _), (fact, error) in zip(follow_ups, results, strict=True):
        facts[name] = fact
        if error is not None:
            facts["errors"].append(error)

    seconds = facts.pop("timings")
    facts["timings"] = StreamTimings(
        queued=seconds.get("queue"),
        connect=seconds.get("connect"),
        header=seconds.get("header"),
        features=seconds.get("features"),
        starttls=seconds.get("starttls"),
        tls_handshake=seconds.get("tls-handshake"),
        restart=seconds.get("restart"),
        total=clock.total(),
    )
    return StreamFacts.model_validate(facts)
