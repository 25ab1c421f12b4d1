"""Versions, cipher suites per version with the server's order, and the certificate chain, by raw probes.

Versions: one hello per version, the legacy ones first (SSL 2.0, TLS 1.1, 1.2 and 1.3 at once); a
legacy version refused with protocol_version rules out the older ones, whose hellos are then not
sent (``first_hellos``). Each version's hello offers every candidate suite (the 128-suite
partitions one after the other, common suites first, each weakest first) and doubles as the
first step of the walk: offer, remove the suite the server chose, repeat until it refuses. A
server that refuses so long a hello, and never answered one as long, is asked again a partition
(``suites_per_hello``) at a time, each walked on its own, as some servers cannot take more.

Order: a server that follows the client picks in the order offered; offers alternate between the
remaining suites' order and its reverse, and servers with an order of their own nearly always
prefer strong suites, so their picks leave our order and prove it at no cost. Otherwise one hello
with the accepted suites in another order tells (on TLS 1.2 it also takes the curve walk's second
step), and only when accepted suites came from several partitions does a last walk over them give
the server's order. TLS 1.3 walks suites and groups together (``joint_walk``). Every probe is one
connection; ``connections_by_probe`` says which family each served.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Any

from scanners.base import ErrorReason, ProbeError
from scanners.tls import groups, registry
from scanners.tls.facts import TlsFacts, TlsVersion
from scanners.tls.followups import FollowUpInputs, run_followups
from scanners.tls.groups import GroupWalk
from scanners.tls.handshake import HandshakeResult, full_handshake
from scanners.tls.parser import Alert
from scanners.tls.probe import Opener, Outcome, ProbeResult
from scanners.tls.prober import Prober, TlsScanOptions, probe_family
from scanners.tls.wire import VERSION_CODES, AlertDescription

__all__ = ["TlsScanOptions", "scan_tls"]

#: Versions whose chain travels in clear, best first.
CLEAR_CHAIN_VERSIONS = (TlsVersion.TLS12, TlsVersion.TLS11, TlsVersion.TLS10, TlsVersion.SSL3)


#: A legacy version whose hello is refused with a protocol_version alert rules out the older ones
#: too: a server answers with the highest version it speaks up to the client's (RFC 5246 E.1), so
#: their own hellos (and the partitions they would walk) are not sent.
_RULES_OUT = {
    TlsVersion.TLS12: (TlsVersion.TLS11, TlsVersion.TLS10, TlsVersion.SSL3),
    TlsVersion.TLS11: (TlsVersion.TLS10, TlsVersion.SSL3),
}
#: Sent first and together, the versions most servers answer first (so a server that answers none
#: of the first three is silent, ``_first_wave``); the others once these say whether they are needed.
_FIRST_WAVE = (TlsVersion.TLS12, TlsVersion.TLS13, TlsVersion.TLS11, TlsVersion.SSL2)
#: What an older version "answered" when a newer one's refusal ruled it out.
RULED_OUT = ProbeResult(Outcome.ALERT, alert=Alert(2, AlertDescription.PROTOCOL_VERSION))
#: What the versions not asked "answered" when the server answered no hello at all.
SILENT = ProbeResult(Outcome.TIMEOUT)


class Verdict(Enum):
    ACCEPTED = auto()
    #: Answered at another version, or refused the version outright: this version is not spoken.
    OTHER_VERSION = auto()
    REFUSED = auto()
    #: No connection could be made: nothing is known about this version.
    UNREACHABLE = auto()


@dataclass
class _Walk:
    """One partition's walk: each ClientHello offered and the suite the server picked from it."""

    offers: list[list[int]] = field(default_factory=list)
    picks: list[int] = field(default_factory=list)

    def add(self, offer: Sequence[int], pick: int) -> None:
        self.offers.append(list(offer))
        self.picks.append(pick)

    @property
    def defies_client_order(self) -> bool:
        """True when some pick was offered behind a suite the server accepted later: not client order."""
        for index, (offer, pick) in enumerate(zip(self.offers, self.picks, strict=True)):
            if set(offer[: offer.index(pick)]) & set(self.picks[index + 1 :]):
                return True
        return False


@dataclass
class VersionResult:
    supported: bool = False
    suites: Sequence[int] = ()
    server_order: bool | None = None
    chain: tuple[bytes, ...] | None = None
    #: The version's first ClientHello and what came back (the flight, up to TLS 1.2).
    first: ProbeResult | None = None


class Enumeration(Prober):
    """Versions and suites: the walks over each version's candidate suites."""

    #: TLS 1.3 groups found by the suite walk itself (``joint_walk``), for the follow-ups.
    tls13_groups: GroupWalk | None = None

    def __init__(self, opener: Opener, options: TlsScanOptions) -> None:
        super().__init__(opener, options)
        #: The most suites a hello offered that the server answered with a ServerHello: it takes
        #: hellos that long, so a refusal of a shorter one means what it says.
        self.largest_answered = 0
        #: No first hello was answered at all: nothing more is asked.
        self.silent = False
        #: Suites picked from an offer in a hello that asked something else too: (version, offer) → pick.
        self.answered: dict[tuple[TlsVersion, tuple[int, ...]], int | None] = {}
        #: Per legacy version, flights whose chosen suite was ECDHE (any hello offering the default
        #: groups): the curve walk's first answer, so it need not ask it again.
        self.ecdhe_flights: dict[TlsVersion, list[ProbeResult]] = {}

    def interpret(self, result: ProbeResult, version: TlsVersion, offered: Sequence[int]) -> tuple[Verdict, int]:
        hello = result.server_hello
        if result.outcome is Outcome.CONNECT_FAILED:
            return Verdict.UNREACHABLE, 0
        if hello is None:
            if result.alert is not None and result.alert.description == AlertDescription.PROTOCOL_VERSION:
                return Verdict.OTHER_VERSION, 0
            return Verdict.REFUSED, 0
        if hello.version != VERSION_CODES[version]:
            return Verdict.OTHER_VERSION, 0
        self.spoken.add(version)
        if hello.cipher_suite not in offered:
            chosen = registry.suite_name(hello.cipher_suite)
            self.anomaly(version, f"the server chose {chosen}, which was not offered")
            return Verdict.REFUSED, 0
        return Verdict.ACCEPTED, hello.cipher_suite

    async def pick(self, version: TlsVersion, codes: Sequence[int]) -> int | None:
        key = (version, tuple(codes))
        if key in self.answered:  # asked already, in a hello that asked something else too
            return self.answered.pop(key)
        legacy = version in CLEAR_CHAIN_VERSIONS
        result = await self.probe(self.hello(version, codes), read_flight=legacy)
        verdict, code = self.interpret(result, version, codes)
        if legacy and verdict is Verdict.ACCEPTED and result.server_key_exchange is not None:
            self.ecdhe_flights.setdefault(version, []).append(result)
        return code if verdict is Verdict.ACCEPTED else None

    async def walk(self, version: TlsVersion, part: Sequence[int], start: _Walk | None = None) -> _Walk:
        """Offer ``part``, remove the server's choice, repeat until it refuses.

        Offers alternate between ``part``'s order and its reverse: a server that follows the client
        then picks alternately from both ends, which hardly any server order of its own does.
        """
        walk = start or _Walk()
        remaining = [code for code in part if code not in walk.picks]
        while remaining:
            offer = remaining if len(walk.offers) % 2 == 0 else remaining[::-1]
            code = await self.pick(version, offer)
            if code is None:
                break
            walk.add(offer, code)
            remaining.remove(code)
        return walk

    async def first_hello(self, version: TlsVersion) -> ProbeResult:
        """The hello each version's enumeration begins with (the version probe): the same bytes for
        every scan of the version but the name sent."""
        with probe_family("versions"):
            if version == TlsVersion.SSL2:
                return await self.probe(self.hello(version, [suite.code for suite in registry.candidates(version)]))
            offer = first_offer(version, self.options.suites_per_hello)
            want_chain = self.options.certificate_chain and version in CLEAR_CHAIN_VERSIONS
            result = await self.probe(self.hello(version, offer), read_flight=want_chain)
            if result.server_hello is not None:
                self.largest_answered = max(self.largest_answered, len(offer))
            return result

    async def _first_wave(self, wave: Sequence[TlsVersion]) -> dict[TlsVersion, ProbeResult]:
        """The first hellos sent together; once three went unanswered and none was answered, the
        rest (queued behind them, say) are not waited for: the server is silent."""
        tasks = {asyncio.ensure_future(self.first_hello(version)): version for version in wave}
        found: dict[TlsVersion, ProbeResult] = {}
        pending = set(tasks)
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                found |= {tasks[task]: task.result() for task in done}
                outcomes = [result.outcome for result in found.values()]
                if len(outcomes) >= min(3, len(wave)) and all(outcome is Outcome.TIMEOUT for outcome in outcomes):
                    break
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        return {version: found[version] for version in wave if version in found}

    async def first_hellos(self) -> dict[TlsVersion, ProbeResult]:
        """Every version's first hello and its answer (``RULED_OUT`` for versions a newer one's
        refusal ruled out), oldest first."""
        versions = [version for version in TlsVersion if version in self.options.versions]
        wave = [version for version in _FIRST_WAVE if version in versions]
        found = await self._first_wave(wave)
        if found and all(result.outcome is Outcome.TIMEOUT for result in found.values()):
            # Connections accepted, no hello answered: a silent server, not one refusing versions.
            self.silent = True
            limit = self.options.wait_timeout
            message = f"no answer to any of {len(found)} ClientHellos" + (f" within {limit:g} s" if limit else "")
            self.note(ProbeError(phase="tls-enumerate", reason=ErrorReason.TIMEOUT, message=message))
            return {version: found.get(version, SILENT) for version in versions}
        ruled_out = {
            older
            for version, result in found.items()
            for older in _RULES_OUT.get(version, ())
            if result.server_hello is None
            and result.alert is not None
            and result.alert.description == AlertDescription.PROTOCOL_VERSION
        }
        later = [version for version in versions if version not in found and version not in ruled_out]
        found |= dict(zip(later, await asyncio.gather(*(self.first_hello(v) for v in later)), strict=True))
        found |= {version: RULED_OUT for version in versions if version in ruled_out and version not in found}
        return {version: found[version] for version in versions}

    async def run(
        self, firsts: dict[TlsVersion, ProbeResult] | None = None, versions: Sequence[TlsVersion] | None = None
    ) -> dict[TlsVersion, VersionResult]:
        """``versions`` (by default every version of the options), enumerated; ``firsts``: their first
        hellos, already sent."""
        firsts = firsts if firsts is not None else await self.first_hellos()
        wanted = self.options.versions if versions is None else versions
        versions = [version for version in TlsVersion if version in wanted]
        jobs = [
            self.sslv2(first) if version == TlsVersion.SSL2 else self.version(version, first)
            for version, first in ((version, firsts.get(version)) for version in versions)
        ]
        return dict(zip(versions, await asyncio.gather(*jobs), strict=True))

    async def version(self, version: TlsVersion, first: ProbeResult | None = None) -> VersionResult:
        size = self.options.suites_per_hello
        parts = [first_offer(version, size)]
        first = first if first is not None else await self.first_hello(version)
        verdict, code = self.interpret(first, version, parts[0])
        if verdict in (Verdict.OTHER_VERSION, Verdict.UNREACHABLE) or self.silent:
            return VersionResult()
        if verdict is Verdict.ACCEPTED and first.server_key_exchange is not None:
            self.ecdhe_flights.setdefault(version, []).insert(0, first)
        if verdict is Verdict.REFUSED and len(parts[0]) > size and self.largest_answered < len(parts[0]):
            # Refused, by a server that never took so long a hello: perhaps it cannot. Ask again
            # the careful way, at most ``suites_per_hello`` suites a hello.
            parts = partitions(version, size)
            want_chain = self.options.certificate_chain and version in CLEAR_CHAIN_VERSIONS
            with probe_family("versions"):
                first = await self.probe(self.hello(version, parts[0]), read_flight=want_chain)
            verdict, code = self.interpret(first, version, parts[0])
            if verdict in (Verdict.OTHER_VERSION, Verdict.UNREACHABLE):
                return VersionResult()
        with probe_family(f"suites {version.value}"):
            head = _Walk()
            if verdict is Verdict.ACCEPTED:
                head.add(parts[0], code)
                if version == TlsVersion.TLS13 and self.options.groups and len(parts) == 1:
                    assert first.server_hello is not None
                    head = await self.joint_walk(parts[0], head, first.server_hello.key_share_group)
                else:
                    head = await self.walk(version, parts[0], head)
            walks = [head, *await asyncio.gather(*(self.walk(version, part) for part in parts[1:]))]
            suites, server_order = await self.order(version, [walk for walk in walks if walk.picks])
        chain = first.certificates if verdict is Verdict.ACCEPTED else None
        return VersionResult(version in self.spoken, suites, server_order, chain, first)

    async def joint_walk(self, part: Sequence[int], walk: _Walk, known_group: int | None) -> _Walk:
        """TLS 1.3 suites and groups in one walk: hellos with no key share make the server name both its
        suite and its group in a HelloRetryRequest, so each connection takes a step of both walks.

        A refusal is ambiguous while both walks go on (no suite left, or no group left?): one hello of
        the remaining groups with a suite known to be accepted tells which, and usually finds the next
        group too (servers accept fewer TLS 1.3 suites than groups, so the suites run out first). Once
        one walk is over, its place in the hello holds something known to be accepted. The order of
        both lists is then asked in one hello too. Sets ``tls13_groups``.
        """
        version = TlsVersion.TLS13
        remaining = [code for code in part if code not in walk.picks]
        picked: list[int] = []
        groups_left = list(groups.TLS13_GROUPS)
        suites_done = not remaining
        groups_done = False

        async def step(suite_offer: Sequence[int], group_offer: Sequence[int]) -> tuple[int, int] | None:
            result = await self.probe(
                self.hello(version, suite_offer, supported_groups=group_offer, key_share_groups=())
            )
            verdict, code = self.interpret(result, version, suite_offer)
            hello = result.server_hello
            if verdict is not Verdict.ACCEPTED or hello is None:
                return None
            group = hello.key_share_group
            if group is None or group not in group_offer:
                shown = "none" if group is None else groups.group_name(group)
                self.anomaly(version, f"the server chose group {shown}, which was not offered")
                return None
            return code, group

        while not (suites_done and groups_done) and not self.stopped:
            known = [*picked, *([known_group] if known_group is not None else [])]
            if groups_done and not known:
                break  # no group was ever accepted: the suites' walk cannot go on this way
            suite_offer = (
                walk.picks[:1] if suites_done else (remaining if len(walk.offers) % 2 == 0 else remaining[::-1])
            )
            group_offer = known[:1] if groups_done else groups_left
            answer = await step(suite_offer, group_offer)
            if answer is None and not suites_done and not groups_done:
                # Which list ran out? The same groups with a suite known to be accepted tell.
                suites_done = True
                suite_offer = walk.picks[:1]
                answer = await step(suite_offer, groups_left)
                if answer is None:  # the groups ran out: the suites may not have
                    suites_done, groups_done = False, True
                    continue
            if answer is None:
                suites_done = groups_done = True
                break
            suite, group = answer
            if not suites_done:
                walk.add(suite_offer, suite)
                remaining.remove(suite)
                suites_done = not remaining
            if not groups_done and group in groups_left:
                picked.append(group)
                groups_left.remove(group)
                groups_done = not groups_left
        accepted = list(walk.picks)
        backwards = picked[::-1]
        question = self.order_question([walk])
        known_top: list[int | None] = []
        if question is not None and len(picked) >= 2 and not self.stopped:
            # Both orders' first question in one hello; the suite answer waits for ``order``.
            answer = await step(question, backwards)
            self.answered[(version, tuple(question))] = answer[0] if answer else None
            known_top.append(answer[1] if answer else None)

        async def group_pick(offer: Sequence[int]) -> int | None:
            if known_top and list(offer) == backwards:
                return known_top[0]
            return await groups.tls13_pick(self, accepted, offer)

        self.tls13_groups = await groups.settle_order(groups.TLS13_GROUPS, picked, group_pick)
        return walk

    def order_question(self, walks: Sequence[_Walk]) -> list[int] | None:
        """The accepted suites as ``order`` first re-offers them; None when it needs no probe."""
        accepted = [code for walk in walks for code in walk.picks]
        if len(accepted) < 2 or any(walk.defies_client_order for walk in walks):
            return None
        # Under server order the top suite is the first pick of some partition (a "head"); leading
        # the re-offer with a non-head tells client order from server order in one connection.
        heads = {walk.picks[0] for walk in walks}
        backwards = list(reversed(accepted))
        lead = next((c for c in backwards if c not in heads and not _chacha(c)), None)
        if lead is None:  # (suite code 0 exists, so no truthiness here)
            lead = next((c for c in backwards if c not in heads), backwards[0])
        # ChaCha20 last: servers that prioritise it when the client does would fake a client order.
        rest = [c for c in backwards if c != lead]
        return [lead, *(c for c in rest if not _chacha(c)), *(c for c in rest if _chacha(c))]

    async def order(self, version: TlsVersion, walks: Sequence[_Walk]) -> tuple[list[int], bool | None]:
        """The accepted suites in the server's order if it imposes one, and whether it does."""
        accepted = [code for walk in walks for code in walk.picks]
        if len(accepted) < 2:
            return accepted, None
        if any(walk.defies_client_order for walk in walks):
            return await self.merge(version, walks), True
        offer = self.order_question(walks)
        assert offer is not None
        heads = {walk.picks[0] for walk in walks}
        lead = offer[0]
        top = await self.order_pick(version, offer)
        if top is None:
            if not self.stopped:
                self.anomaly(version, "the server refused suites it had accepted one by one")
            return accepted, None
        # Without a server order, report them as the registry ranks them: common and strong first.
        strength = {suite.code: position for position, suite in enumerate(registry.candidates(version))}
        strongest_first = sorted(accepted, key=strength.__getitem__)
        if top == lead:
            if lead not in heads:
                return strongest_first, False
            again = await self.pick(version, [*offer[1:], lead])
            if again != top:
                return strongest_first, False
        return await self.merge(version, walks, top), True

    async def order_pick(self, version: TlsVersion, offer: Sequence[int]) -> int | None:
        """``pick`` for the order question. On TLS 1.2 whose accepted suites are all ECDHE with one
        certificate type, the same hello also takes the curve walk's second step: every curve but
        the first one offered (the curve does not depend on the suites' order, nor the suite chosen
        among accepted ECDHE suites on the curves, as long as one offered curve is accepted)."""
        if version != TlsVersion.TLS12 or not self.options.groups or set(groups.ecdhe_suites(offer)) != set(offer):
            return await self.pick(version, offer)
        first = groups.first_curve(self, version, offer, self.ecdhe_flights.get(version, []))
        if first is None:
            return await self.pick(version, offer)
        rest = tuple(group for group in groups.EC_GROUPS if group != first)
        result = await self.probe(self.hello(version, offer, supported_groups=rest), read_flight=True)
        verdict, code = self.interpret(result, version, offer)
        params = groups.key_exchange(self, result, version)
        if verdict is Verdict.ACCEPTED and params is not None and params.kind == "ecdhe" and params.group in rest:
            self.curve_answers[(version, rest)] = params.group
            return code
        if verdict is Verdict.REFUSED:
            # Accepted suites refused: no curve but the first one is (the curve walk's last answer).
            self.curve_answers[(version, rest)] = None
        return await self.pick(version, offer)

    async def merge(self, version: TlsVersion, walks: Sequence[_Walk], top: int | None = None) -> list[int]:
        """The server's order over every partition's accepted suites (each walk is already in order)."""
        if len(walks) == 1 and top in (None, walks[0].picks[0]):
            return walks[0].picks
        accepted = [code for walk in walks for code in walk.picks]
        ordered: list[int] = [] if top is None else [top]
        remaining = [code for code in accepted if code not in ordered]
        while len(remaining) > 1:  # every one is known to be accepted: the last needs no probe
            code = await self.pick(version, remaining)
            if code is None:
                break
            ordered.append(code)
            remaining.remove(code)
        return ordered + remaining

    async def sslv2(self, first: ProbeResult | None = None) -> VersionResult:
        result = first if first is not None else await self.first_hello(TlsVersion.SSL2)
        hello = result.sslv2
        if hello is None:
            return VersionResult()
        chain = (hello.certificate,) if hello.certificate_type == 1 and hello.certificate else None
        return VersionResult(True, list(hello.cipher_kinds), None, chain)


def first_offer(version: TlsVersion, size: int) -> list[int]:
    """What a version's first hello offers: every candidate, the partitions one after the other.

    One hello then covers the whole list, so a walk needs one refusal, not one per partition. A
    server that cannot take so long a hello refuses it; unless it answered as long a hello for
    another version, the version is asked again a partition at a time (``Enumeration.version``).
    """
    return [code for part in partitions(version, size) for code in part]


def partitions(version: TlsVersion, size: int) -> list[list[int]]:
    """The version's candidate suites in hellos of at most ``size``, common ones in the first, each
    offered weakest first."""
    codes = [suite.code for suite in registry.candidates(version)]  # common first, strongest first
    size = max(1, size)
    return [codes[start : start + size][::-1] for start in range(0, len(codes), size)]


def _chacha(code: int) -> bool:
    suite = registry.by_code(code)
    return suite is not None and suite.cipher == "CHACHA20_POLY1305"


async def scan_tls(opener: Opener, options: TlsScanOptions | None = None) -> TlsFacts:
    """Scan one endpoint. ``opener`` returns a fresh connection positioned where TLS starts.

    Enumeration first (versions, suites, order, chain), then the follow-up probes the options ask
    for (``followups``): groups, DH parameters, extension behaviour, session, certificates.
    """
    options = options or TlsScanOptions()
    started = time.monotonic()
    scan = Enumeration(opener, options)
    firsts = await scan.first_hellos()
    first13 = firsts.get(TlsVersion.TLS13)
    if first13 is None:
        return await finish(scan, await scan.run(firsts), started)
    # TLS 1.3's walk is the longest chain of connections one after the other; the follow-ups of
    # the legacy versions need nothing from it, so they start when the legacy walks end.
    tls13 = asyncio.ensure_future(scan.version(TlsVersion.TLS13, first13))
    try:
        results = await scan.run(firsts, [version for version in firsts if version != TlsVersion.TLS13])
        if any(
            results[version].supported and results[version].suites
            for version in CLEAR_CHAIN_VERSIONS
            if version in results
        ):
            return await finish(scan, results, started, tls13=tls13)
        results[TlsVersion.TLS13] = await tls13
        return await finish(scan, results, started)
    finally:
        if not tls13.done():
            tls13.cancel()
            await asyncio.gather(tls13, return_exceptions=True)


async def finish(
    scan: Enumeration,
    results: dict[TlsVersion, VersionResult],
    started: float,
    tls13: asyncio.Future[VersionResult] | None = None,
    **fields: Any,
) -> TlsFacts:
    """The chain and the follow-up probes, after the versions and suites are known (``tls13``: TLS
    1.3's walk, still going on); ``fields``: facts learnt elsewhere (a shared enumeration's groups …),
    overridden by nothing the follow-ups find."""
    options = scan.options
    supported = [version for version in results if results[version].supported]
    pending = None
    if tls13 is not None and TlsVersion.TLS13 in scan.spoken:
        supported.append(TlsVersion.TLS13)

        async def tls13_lists() -> tuple[Sequence[int], GroupWalk | None]:
            result = await tls13
            return result.suites, scan.tls13_groups

        pending = asyncio.ensure_future(tls13_lists())
    with probe_family("chain"):
        chain, chain_version, handshake = await certificate_chain(scan, results, supported)
    found_fields: dict[str, Any] = {
        "certificate_chain": list(chain),
        "certificate_chain_version": chain_version,
    }
    if supported and not scan.stopped:
        found = FollowUpInputs(
            supported=supported,
            suites={version: results[version].suites for version in results if version != TlsVersion.SSL2},
            first={version: first for version in results if (first := results[version].first) is not None},
            chain=chain,
            chain_version=chain_version,
            handshake=handshake,
            tls13_groups=scan.tls13_groups,
            tls13_pending=pending,
            ecdhe_flights=scan.ecdhe_flights,
            handshake_failed=chain_version is None and TlsVersion.TLS13 in supported and options.certificate_chain,
        )
        found_fields.update(await run_followups(scan, found))
    if tls13 is not None:
        results[TlsVersion.TLS13] = await tls13
        supported = [version for version in results if results[version].supported]
        supported.sort(key=list(TlsVersion).index)
    return TlsFacts(
        versions=supported,
        cipher_suites={
            version: registry.names(results[version].suites, sslv2=version == TlsVersion.SSL2) for version in supported
        },
        server_order={version: order for version in supported if (order := results[version].server_order) is not None},
        connections=scan.connections,
        connections_by_probe=dict(scan.by_family),
        duration_seconds=round(time.monotonic() - started, 3),
        errors=scan.errors,
        **{**found_fields, **fields},
    )


async def certificate_chain(
    scan: Enumeration, results: dict[TlsVersion, VersionResult], supported: list[TlsVersion]
) -> tuple[Sequence[bytes], TlsVersion | None, HandshakeResult | None]:
    if not scan.options.certificate_chain:
        return (), None, None
    for version in CLEAR_CHAIN_VERSIONS:
        if version not in supported:
            continue
        chain = results[version].chain
        if chain is None and results[version].suites:
            # The version's first hello was refused (its suites sit in a later partition): ask again.
            flight = await scan.probe(scan.hello(version, results[version].suites), read_flight=True)
            chain = flight.certificates
            if flight.server_hello is not None:
                results[version].first = flight
        if chain:
            return chain, version, None
    if TlsVersion.TLS13 in supported:
        options = scan.options

        async def job() -> HandshakeResult | ProbeError:
            return await full_handshake(
                scan.opener,
                server_name=options.server_name,
                alpn=options.alpn,
                time_limit=options.probe_timeout,
                wait_limit=options.wait_timeout,
                min_version=TlsVersion.TLS13,
            )

        fetched = await scan.connection(job)
        if isinstance(fetched, HandshakeResult):
            return fetched.chain, TlsVersion.TLS13, fetched
        return (), None, None
    if TlsVersion.SSL2 in supported and results[TlsVersion.SSL2].chain:
        return results[TlsVersion.SSL2].chain or (), TlsVersion.SSL2, None
    return (), None, None
