"""Named groups: which ones a server accepts per version, in what order, and the ECDHE curve.

Every walk removes the chosen group and offers the rest again until the server refuses:

* TLS 1.3: hellos with every group in supported_groups and an empty key_share (RFC 8446 §4.2.8
  allows it), so the server must name its choice in a HelloRetryRequest. No key is generated,
  so FFDHE and the hybrid post-quantum groups (X25519MLKEM768 …) are found like the rest.
* TLS ≤ 1.2: hellos offering the accepted ECDHE suites; the curve is in the ServerKeyExchange.
  FFDHE groups (RFC 7919) likewise with DHE suites: the server's prime names the group, or shows
  that it ignores the extension and uses its own parameters.

A walk always offers in our order (strongest first). Picks out of our order prove a server order;
otherwise one hello with the accepted groups reversed tells.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from scanners.tls import dh, registry
from scanners.tls.client_hello import DEFAULT_GROUPS
from scanners.tls.facts import TlsVersion
from scanners.tls.parser import KeyExchangeParams, TlsParseError, parse_server_key_exchange
from scanners.tls.probe import ProbeResult
from scanners.tls.prober import Prober
from scanners.tls.wire import VERSION_CODES, Group

#: IANA "TLS Supported Groups" names.
_NAMES: dict[int, str] = {
    **{group.value: group.name.lower() for group in Group if group.value < 256},
    Group.BRAINPOOLP256R1: "brainpoolP256r1",
    Group.BRAINPOOLP384R1: "brainpoolP384r1",
    Group.BRAINPOOLP512R1: "brainpoolP512r1",
    Group.FFDHE2048: "ffdhe2048",
    Group.FFDHE3072: "ffdhe3072",
    Group.FFDHE4096: "ffdhe4096",
    Group.FFDHE6144: "ffdhe6144",
    Group.FFDHE8192: "ffdhe8192",
    Group.SECP256R1MLKEM768: "SecP256r1MLKEM768",
    Group.X25519MLKEM768: "X25519MLKEM768",
    Group.SECP384R1MLKEM1024: "SecP384r1MLKEM1024",
    31: "brainpoolP256r1tls13",
    32: "brainpoolP384r1tls13",
    33: "brainpoolP512r1tls13",
}

FFDHE_GROUPS: tuple[int, ...] = tuple(group for group in DEFAULT_GROUPS if 256 <= group <= 260)
EC_GROUPS: tuple[int, ...] = tuple(group for group in DEFAULT_GROUPS if group not in FFDHE_GROUPS)
#: What a TLS 1.3 server might choose, hybrids first (legacy curves too: a server picking one is a fact).
TLS13_GROUPS: tuple[int, ...] = (
    Group.X25519MLKEM768,
    Group.SECP256R1MLKEM768,
    Group.SECP384R1MLKEM1024,
    *EC_GROUPS[:5],
    31,
    32,
    33,
    *FFDHE_GROUPS,
    *EC_GROUPS[5:],
)


def group_name(code: int) -> str:
    return _NAMES.get(code, f"UNKNOWN_0x{code:04X}")


@dataclass
class GroupWalk:
    picks: list[int] = field(default_factory=list)
    server_order: bool | None = None
    #: TLS ≤ 1.2 FFDHE: the parameters the first hello got when they were no offered group's.
    own_parameters: KeyExchangeParams | None = None
    own_suite: int | None = None


Pick = Callable[[Sequence[int]], Awaitable[int | None]]


async def walk(offer: Sequence[int], pick: Pick, first: int | None = None) -> GroupWalk:
    """Offer ``offer``, remove the server's choice, repeat; then settle the order (see module doc)."""
    picks: list[int] = []
    remaining = list(offer)
    while remaining:
        chosen = first if first is not None and not picks else await pick(remaining)
        if chosen is None or chosen not in remaining:
            break
        picks.append(chosen)
        remaining.remove(chosen)
    return await settle_order(offer, picks, pick)


async def settle_order(offer: Sequence[int], picks: list[int], pick: Pick) -> GroupWalk:
    """The walk's result once ``picks`` (in the order found, offering ``offer`` minus the earlier picks)
    are known: whether the server imposes an order of its own."""
    result = GroupWalk(picks=picks)
    if len(picks) < 2:
        return result
    # A client-order server picks in our order; a pick ahead of one we offered first is its own order.
    position = {group: index for index, group in enumerate(offer)}
    if any(position[a] > position[b] for a, b in itertools.pairwise(picks)):
        result.server_order = True
        return result
    backwards = picks[::-1]
    top = await pick(backwards)
    if top is not None:
        result.server_order = top != backwards[0]
    return result


async def tls13_pick(prober: Prober, suites: Sequence[int], groups: Sequence[int]) -> int | None:
    """The group a TLS 1.3 server names in its HelloRetryRequest when offered ``groups`` and no share."""
    result = await prober.probe(prober.hello(TlsVersion.TLS13, suites, supported_groups=groups, key_share_groups=()))
    hello = result.server_hello
    if hello is None or hello.version != VERSION_CODES[TlsVersion.TLS13]:
        return None
    group = hello.key_share_group
    if group is None or group not in groups:
        shown = "none" if group is None else group_name(group)
        prober.anomaly(TlsVersion.TLS13, f"the server chose group {shown}, which was not offered")
        return None
    return group


async def tls13_groups(prober: Prober, suites: Sequence[int]) -> GroupWalk:
    """TLS 1.3 groups by HelloRetryRequest, in the server's order when it has one."""
    return await walk(TLS13_GROUPS, lambda groups: tls13_pick(prober, suites, groups))


async def ecdhe_groups(prober: Prober, version: TlsVersion, suites: Sequence[int], first: int | None) -> GroupWalk:
    """TLS ≤ 1.2 curves of ECDHE ``suites``; ``first``: the curve a hello offering all of them already got."""

    async def pick(groups: Sequence[int]) -> int | None:
        asked = (version, tuple(groups))
        if asked in prober.curve_answers:  # asked already, in a hello that asked something else too
            return prober.curve_answers.pop(asked)
        result = await prober.probe(prober.hello(version, suites, supported_groups=groups), read_flight=True)
        params = key_exchange(prober, result, version)
        if params is None or params.kind != "ecdhe" or params.group is None:
            return None
        if params.group not in groups:
            prober.anomaly(version, f"the server chose curve {group_name(params.group)}, which was not offered")
            return None
        return params.group

    return await walk(EC_GROUPS, pick, first)


async def ffdhe_groups(prober: Prober, version: TlsVersion, suites: Sequence[int]) -> GroupWalk:
    """TLS ≤ 1.2 FFDHE groups of DHE ``suites`` (RFC 7919), or the server's own parameters."""
    outcome = GroupWalk()

    async def pick(groups: Sequence[int]) -> int | None:
        result = await prober.probe(prober.hello(version, suites, supported_groups=groups), read_flight=True)
        params = key_exchange(prober, result, version)
        if params is None or params.dh_prime is None:
            return None
        group = dh.ffdhe_group(params.dh_prime)
        if group in groups:
            return group
        if not outcome.picks and outcome.own_parameters is None:
            outcome.own_parameters = params
            outcome.own_suite = result.server_hello.cipher_suite if result.server_hello else None
        return None

    found = await walk(FFDHE_GROUPS, pick)
    found.own_parameters, found.own_suite = outcome.own_parameters, outcome.own_suite
    return found


def ecdhe_suites(suites: Sequence[int]) -> list[int]:
    """The ECDHE suites among ``suites``, RSA-authenticated ones alone when there are any.

    Up to TLS 1.2 an ECDSA certificate's own curve must stay offered, which would end a walk
    early; RSA suites have no such tie.
    """
    ecdhe = [code for code in suites if (suite := registry.by_code(code)) is not None and suite.kx == "ECDHE"]
    rsa = [code for code in ecdhe if (suite := registry.by_code(code)) is not None and suite.auth == "RSA"]
    return rsa or ecdhe


def first_curve(
    prober: Prober, version: TlsVersion, suites: Sequence[int], flights: Sequence[ProbeResult]
) -> int | None:
    """The curve a hello offering every group got with one of ``suites``: the curve walk's first answer.

    Any hello of the enumeration that offered the default groups and got one of these suites
    answers it (the curve a server picks does not depend on the other suites offered, as long as
    the suite's certificate type is the same one).
    """
    for result in flights:
        hello = result.server_hello
        if hello is None or hello.cipher_suite not in suites:
            continue
        params = key_exchange(prober, result, version)
        if params is not None and params.kind == "ecdhe":
            return params.group
    return None


def key_exchange(prober: Prober, result: ProbeResult, version: TlsVersion) -> KeyExchangeParams | None:
    """The ServerKeyExchange of a read-flight probe, interpreted for the suite the server chose."""
    hello = result.server_hello
    if hello is None or result.server_key_exchange is None or hello.version != VERSION_CODES[version]:
        return None
    suite = registry.by_code(hello.cipher_suite)
    if suite is None:
        return None
    try:
        return parse_server_key_exchange(
            result.server_key_exchange,
            suite.kx,
            tls12=version == TlsVersion.TLS12,
            signed=suite.auth not in ("anon", "PSK"),
        )
    except TlsParseError as exc:
        prober.anomaly(version, f"unreadable ServerKeyExchange: {exc}")
        return None
