"""The probes that follow enumeration: groups, DH parameters, extensions, session, certificates.

They need what enumeration found (versions, accepted suites, the first flight of each version),
so they start once it is done, all at once, through the same prober (same caps, same budget).
Costs in connections: TLS 1.3 groups, none (the suite walk found them, ``Enumeration.joint_walk``;
else accepted + 1, + 1 to tell the order); TLS ≤ 1.2 curves, accepted (any ECDHE flight of the
enumeration is the first pick, its order question may be the second) + 1 (+ 1); FFDHE groups, one
when the server ignores RFC 7919; DH parameters, one per DHE family (but the one the FFDHE probe
already showed); extensions, one (Heartbleed's and the CCS injection test ride on it); fallback,
one; session, one complete handshake (none for a TLS 1.3-only server, whose chain handshake serves;
the client-initiated renegotiation test rides on it); certificates, one per further certificate
type (three handshakes on a TLS 1.3-only server); ROBOT, five when an RSA key exchange is accepted
(ten when the answers differ); the downgrade sentinel, none (enumeration's ServerHellos show it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scanners.base import ProbeError
from scanners.tls import certificates, dh, extensions, groups, registry, robot
from scanners.tls.downgrade import downgrade_sentinel
from scanners.tls.facts import CertificateDeployment, DhParameters, SessionTicketFacts, TlsVersion
from scanners.tls.handshake import HandshakeResult, full_handshake
from scanners.tls.probe import ProbeResult
from scanners.tls.prober import Prober, probe_family

#: Versions whose handshake is in clear, best first.
_LEGACY = (TlsVersion.TLS12, TlsVersion.TLS11, TlsVersion.TLS10, TlsVersion.SSL3)


@dataclass(frozen=True)
class FollowUpInputs:
    #: Accepted versions, oldest first, and their accepted suites (codes).
    supported: Sequence[TlsVersion]
    suites: dict[TlsVersion, Sequence[int]]
    #: Each version's first ClientHello result (its flight read when up to TLS 1.2).
    first: dict[TlsVersion, ProbeResult]
    chain: Sequence[bytes]
    chain_version: TlsVersion | None
    #: The complete TLS 1.3 handshake enumeration made for the chain (TLS 1.3-only servers).
    handshake: HandshakeResult | None = None
    #: That handshake was tried and failed: further complete handshakes would fail alike.
    handshake_failed: bool = False
    #: The TLS 1.3 groups, when the suite walk already found them (``Enumeration.joint_walk``).
    tls13_groups: groups.GroupWalk | None = None
    #: TLS 1.3's suites and groups when its walk was still going on as the follow-ups began.
    tls13_pending: Awaitable[tuple[Sequence[int], groups.GroupWalk | None]] | None = None
    #: Per version, the walk's flights with a ServerKeyExchange (default groups offered).
    ecdhe_flights: dict[TlsVersion, list[ProbeResult]] = field(default_factory=dict)


def _kind(code: int, kx: str) -> bool:
    suite = registry.by_code(code)
    return suite is not None and suite.kx == kx


async def run_followups(prober: Prober, found: FollowUpInputs) -> dict[str, Any]:
    """TlsFacts fields for everything after enumeration, as the options ask."""
    options = prober.options
    legacy = next((v for v in _LEGACY if v in found.supported and found.suites.get(v)), None)
    fields: dict[str, Any] = {}
    jobs = []
    if options.groups:
        jobs.append(_groups(prober, found, legacy, fields))
    if options.dh_parameters or options.groups:
        jobs.append(_dh(prober, found, fields))
    if options.extensions and legacy is not None:
        jobs.append(_extensions(prober, found, legacy, fields))
    if options.session or options.certificates or options.renegotiation:
        jobs.append(_session_and_certificates(prober, found, legacy, fields))
    if options.robot:
        jobs.append(_robot(prober, found, fields))
    await asyncio.gather(*jobs)
    fields["downgrade_sentinel"] = downgrade_sentinel(found.supported, found.first)
    ffdhe = fields.pop("_ffdhe", None)
    if ffdhe is not None and options.groups and ffdhe[1].picks:
        version, walk = ffdhe
        fields.setdefault("groups", {}).setdefault(version, []).extend(groups.group_name(c) for c in walk.picks)
    staple = fields.pop("_extension_staple", None)
    if "ocsp_staple_requested" not in fields and fields.get("extensions") is not None:
        # No complete handshake: the extension probe's hello asked for a staple too.
        fields["ocsp_staple_requested"] = True
        fields["ocsp_staple"] = staple
    return fields


async def _groups(prober: Prober, found: FollowUpInputs, legacy: TlsVersion | None, fields: dict[str, Any]) -> None:
    by_version: dict[TlsVersion, list[str]] = {}
    order: dict[TlsVersion, bool] = {}
    await asyncio.gather(
        _tls13_groups(prober, found, by_version, order), _curves(prober, found, by_version, order, fields)
    )
    # (TLS 1.3 first, as before the two walks ran side by side)
    versions = [TlsVersion.TLS13, *_LEGACY]
    fields["groups"] = {version: by_version[version] for version in versions if version in by_version}
    fields["groups_server_order"] = {version: order[version] for version in versions if version in order}


async def _tls13_groups(
    prober: Prober, found: FollowUpInputs, by_version: dict[TlsVersion, list[str]], order: dict[TlsVersion, bool]
) -> None:
    if TlsVersion.TLS13 not in found.supported:
        return
    suites, walk = found.suites.get(TlsVersion.TLS13, ()), found.tls13_groups
    if found.tls13_pending is not None:
        suites, walk = await found.tls13_pending
    if not suites:
        return
    if walk is None:
        with probe_family("groups TLSv1.3"):
            walk = await groups.tls13_groups(prober, suites)
    by_version[TlsVersion.TLS13] = [groups.group_name(code) for code in walk.picks]
    if walk.server_order is not None:
        order[TlsVersion.TLS13] = walk.server_order


async def _curves(
    prober: Prober,
    found: FollowUpInputs,
    by_version: dict[TlsVersion, list[str]],
    order: dict[TlsVersion, bool],
    fields: dict[str, Any],
) -> None:
    ecdhe_version = next((v for v in _LEGACY if any(_kind(c, "ECDHE") for c in found.suites.get(v, ()))), None)
    if ecdhe_version is not None:
        suites = groups.ecdhe_suites(found.suites[ecdhe_version])
        flights = [*([found.first[ecdhe_version]] if ecdhe_version in found.first else []),
                   *found.ecdhe_flights.get(ecdhe_version, [])]  # fmt: skip
        first = groups.first_curve(prober, ecdhe_version, suites, flights)
        with probe_family("curves"):
            walk = await groups.ecdhe_groups(prober, ecdhe_version, suites, first)
        if walk.picks:
            fields["ecdhe_curve"] = groups.group_name(walk.picks[0])
        by_version[ecdhe_version] = [groups.group_name(code) for code in walk.picks]
        if walk.server_order is not None:
            order[ecdhe_version] = walk.server_order


async def _dh(prober: Prober, found: FollowUpInputs, fields: dict[str, Any]) -> None:
    options = prober.options
    highest_first = [(v, found.suites.get(v, ())) for v in _LEGACY if v in found.supported]
    families = dh.families(highest_first)
    results: list[DhParameters] = []
    signed = next((name for name in families if name in ("DHE_RSA", "DHE_DSS")), None)

    async def one(name: str) -> None:
        version, suites = families[name]
        if options.groups and name == signed:
            with probe_family("ffdhe groups"):
                walk = await groups.ffdhe_groups(prober, version, suites)
            fields["_ffdhe"] = (version, walk)
            if walk.own_parameters is not None and walk.own_suite is not None:
                described = dh.describe(walk.own_parameters, name, version, walk.own_suite)
                if described is not None:
                    results.append(described)
                return
        if not options.dh_parameters:
            return
        with probe_family("dh parameters"):
            hello = prober.hello(version, suites, supported_groups=groups.EC_GROUPS)
            result = await prober.probe(hello, read_flight=True)
        params = groups.key_exchange(prober, result, version)
        if params is not None and result.server_hello is not None:
            described = dh.describe(params, name, version, result.server_hello.cipher_suite)
            if described is not None:
                results.append(described)

    await asyncio.gather(*(one(name) for name in families))
    if options.dh_parameters:
        fields["dh_parameters"] = sorted(results, key=lambda params: params.family)


async def _extensions(prober: Prober, found: FollowUpInputs, legacy: TlsVersion, fields: dict[str, Any]) -> None:
    versions = [v for v in found.supported if v != TlsVersion.SSL2]
    lower = versions[-2] if len(versions) >= 2 else None
    with probe_family("extensions"):
        probe = asyncio.ensure_future(extensions.extension_probe(prober, legacy, found.suites[legacy]))
    with probe_family("fallback"):
        scsv = asyncio.ensure_future(
            extensions.fallback_scsv(prober, found.supported, found.suites.get(lower, ()) if lower else ())
        )
    (facts, result), fallback = await asyncio.gather(probe, scsv)
    fields["extensions"] = facts
    fields["fallback_scsv"] = fallback
    fields["_extension_staple"] = result.ocsp_response


async def _session_and_certificates(
    prober: Prober, found: FollowUpInputs, legacy: TlsVersion | None, fields: dict[str, Any]
) -> None:
    options = prober.options
    handshake = found.handshake
    if found.handshake_failed:
        return
    if handshake is None and (options.session or options.renegotiation) and legacy != TlsVersion.SSL3:
        # Capped at TLS 1.2 where it is spoken: that ticket travels in clear, with its lifetime hint,
        # and renegotiation exists only there.
        cap = TlsVersion.TLS12 if legacy is not None else None

        async def job() -> HandshakeResult | ProbeError:
            return await full_handshake(
                prober.opener,
                server_name=options.server_name,
                alpn=options.alpn,
                time_limit=options.probe_timeout,
                wait_limit=options.wait_timeout,
                min_version=None if legacy is not None else TlsVersion.TLS13,
                max_version=cap,
                renegotiate=options.renegotiation and cap is not None,
            )

        # A failure leaves session_ticket and the staple unobserved; whether real clients complete
        # handshakes is the stream prober's question, so it is not noted as an error here.
        with probe_family("session"):
            outcome = await prober.connection(job, note_errors=False)
        handshake = outcome if isinstance(outcome, HandshakeResult) else None
        if handshake is not None and options.renegotiation:
            fields["client_renegotiation"] = handshake.renegotiated
    if handshake is not None and options.session:
        fields["session_ticket"] = SessionTicketFacts(
            version=handshake.version,
            issued=handshake.ticket_issued,
            lifetime_hint_seconds=handshake.ticket_lifetime_hint,
        )
        fields["ocsp_staple_requested"] = True
        fields["ocsp_staple"] = handshake.ocsp_staple
    if options.certificates:
        with probe_family("certificates"):
            deployments = await _certificates(prober, found, legacy)
        fields["certificates"] = deployments
        if len(deployments) > 1 and handshake is not None and handshake.chain:
            # Several certificates: the chain is the one a modern client's complete handshake got.
            fields["certificate_chain"] = handshake.chain
            fields["certificate_chain_version"] = handshake.version


async def _robot(prober: Prober, found: FollowUpInputs, fields: dict[str, Any]) -> None:
    version = next(
        (v for v in _LEGACY if any(robot.is_rsa_key_exchange(code) for code in found.suites.get(v, ()))), None
    )
    if version is not None:
        with probe_family("robot"):
            fields["robot"] = await robot.robot_probe(prober, version, found.suites[version])


async def _certificates(
    prober: Prober, found: FollowUpInputs, legacy: TlsVersion | None
) -> list[CertificateDeployment]:
    if legacy is not None:
        first = found.first.get(legacy)
        known_suite = first.server_hello.cipher_suite if first is not None and first.server_hello else None
        known_chain = found.chain if found.chain_version == legacy else ()
        return await certificates.by_suites(prober, legacy, found.suites[legacy], known_chain, known_suite)
    if TlsVersion.TLS13 in found.supported:
        return await certificates.by_signature_algorithms(prober)
    return []
