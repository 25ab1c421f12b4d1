"""One TLS enumeration for all the domains hosted on an endpoint, confirmed for each of them.

A hosting server answers on one address and port for many domains, choosing a certificate (and,
in Prosody and ejabberd, possibly a whole TLS configuration) by the name the client sends. The
versions, suites and their order, groups and DH parameters of one endpoint usually do not depend
on that name, and they are what costs: tens of connections at a polite pace.

So every domain's scan of an endpoint starts with the hellos an enumeration starts with anyway,
one per version, with its own name. Their answers (the suite picked, or a refusal, per version)
are the configuration's *fingerprint*. The first domain with a given fingerprint on an endpoint
enumerates in full (those hellos are its first probes, nothing is sent twice) and leaves its
lists as the *template* for that endpoint and fingerprint; every further domain with the same
answers takes the template, once its lists predict exactly those answers (which suite a server
with that order picks from that offer), and the facts say so (``TlsFacts.shared_from``). A name
with a configuration of its own answers differently and gets (or makes) its own template; any
error, and the domain is enumerated in full.

What a hello per version cannot see, a vhost that accepts the same first pick but differs further
down its lists, is the stated limit of this proof. Everything tied to the name is always fetched
for the domain itself: the certificate chain (the clear flight of the confirming hello, or a
complete TLS 1.3 handshake), every further certificate, the OCSP staple and session ticket, the
extension answers and the fallback behaviour.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Sequence
from dataclasses import replace

from scanners.tls import registry
from scanners.tls.enumeration import Enumeration, Verdict, VersionResult, finish, first_offer
from scanners.tls.facts import SharedEnumeration, TlsFacts, TlsVersion
from scanners.tls.probe import Opener, Outcome, ProbeResult
from scanners.tls.prober import TlsScanOptions
from scanners.tls.templates import Lookup, Template, TemplateStore

#: Facts taken from the template; the rest of ``TlsFacts`` is this domain's own.
#: (The first three come with the per-version results ``finish`` builds from; the rest are copied.)
_COPIED = ("groups", "groups_server_order", "ecdhe_curve", "dh_parameters")
SHARED_FIELDS = ("versions", "cipher_suites", "server_order", *_COPIED)
log = logging.getLogger(__name__)
_UNKNOWN = re.compile(r"UNKNOWN_0x([0-9A-F]+)\Z")


def suite_code(name: str, *, sslv2: bool = False) -> int | None:
    """The code of a suite as ``TlsFacts`` names it (registry name or ``UNKNOWN_0x…``)."""
    unknown = _UNKNOWN.match(name)
    if unknown is not None:
        return int(unknown.group(1), 16)
    suite = registry.by_name(name)
    return suite.code if suite is not None and suite.sslv2 == sslv2 else None


def suite_codes(facts: TlsFacts, version: TlsVersion) -> list[int] | None:
    """The version's accepted suites as codes, in the facts' order; None if a name is not ours."""
    codes = [suite_code(name, sslv2=version == TlsVersion.SSL2) for name in facts.cipher_suites.get(version, [])]
    return None if None in codes else [code for code in codes if code is not None]


def shareable(facts: TlsFacts) -> bool:
    """Whether an enumeration may serve other domains: complete, error-free, and its own."""
    if not facts.versions or facts.errors or facts.shared_from is not None:
        return False
    return all(suite_codes(facts, version) is not None for version in facts.versions)


def expected_pick(facts: TlsFacts, version: TlsVersion, offer: Sequence[int]) -> int | None:
    """The suite a server with these lists picks from ``offer`` at ``version``; None: it refuses.

    With an order of its own the server takes its best suite among those offered; otherwise the
    first offered that it accepts (one accepted suite: both are the same).
    """
    if version not in facts.versions:
        return None
    accepted = suite_codes(facts, version) or []
    offered = set(offer)
    if facts.server_order.get(version):
        return next((code for code in accepted if code in offered), None)
    accepted_set = set(accepted)
    return next((code for code in offer if code in accepted_set), None)


def answers(scan: Enumeration, firsts: dict[TlsVersion, ProbeResult]) -> dict[TlsVersion, object] | None:
    """The fingerprint: per version, the suite picked (or the SSLv2 cipher kinds), None for a
    refusal; None as a whole when a hello could not be sent (nothing is known then)."""
    found: dict[TlsVersion, object] = {}
    for version, result in firsts.items():
        if version == TlsVersion.SSL2:
            if result.outcome is Outcome.CONNECT_FAILED:
                return None
            found[version] = tuple(result.sslv2.cipher_kinds) if result.sslv2 is not None else None
            continue
        offer = first_offer(version, scan.options.suites_per_hello)
        verdict, code = scan.interpret(result, version, offer)
        if verdict is Verdict.UNREACHABLE:
            return None
        found[version] = code if verdict is Verdict.ACCEPTED else None
    return found


def predicts(facts: TlsFacts, found: dict[TlsVersion, object], suites_per_hello: int) -> bool:
    """Whether a server with these lists gives exactly these answers to the first hellos."""
    for version, answer in found.items():
        if version == TlsVersion.SSL2:
            codes = suite_codes(facts, version) if version in facts.versions else None
            if (tuple(codes) if codes is not None else None) != answer:
                return False
        elif expected_pick(facts, version, first_offer(version, suites_per_hello)) != answer:
            return False
    return True


def _fingerprint(found: dict[TlsVersion, object]) -> str:
    text = repr(sorted((version.value, answer) for version, answer in found.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


async def _from_template(
    scan: Enumeration, facts: TlsFacts, firsts: dict[TlsVersion, ProbeResult]
) -> dict[TlsVersion, VersionResult]:
    """Each version's result: the template's lists, and this domain's own first flight (its chain)."""
    results = {}
    for version, first in firsts.items():
        if version not in facts.versions:
            results[version] = VersionResult()
        elif version == TlsVersion.SSL2:
            results[version] = await scan.sslv2(first)  # (parses the answer; sends nothing)
        else:
            offer = first_offer(version, scan.options.suites_per_hello)
            verdict, _ = scan.interpret(first, version, offer)
            chain = first.certificates if verdict is Verdict.ACCEPTED else None
            suites = suite_codes(facts, version) or []
            results[version] = VersionResult(True, suites, facts.server_order.get(version), chain, first)
    return results


async def scan_tls_sharing(opener: Opener, options: TlsScanOptions, store: TemplateStore, key: str) -> TlsFacts:
    """``scan_tls``, but through ``store``: the template of this endpoint and fingerprint when there
    is one, else a full enumeration (left as the template when it may serve others)."""
    started = time.monotonic()
    scan = Enumeration(opener, options)
    firsts = await scan.first_hellos()
    found = answers(scan, firsts)
    if found is None or scan.errors:
        return await finish(scan, await scan.run(firsts), started)
    variant = f"{key}/{_fingerprint(found)}"
    try:
        lookup = await store.get_or_claim(variant)
    except Exception as exc:  # the store is an economy, never a reason for a scan to fail
        log.warning("TLS templates unavailable (%s: %s): enumerating %s", type(exc).__name__, exc, key)
        lookup = Lookup(None, None)
    template = lookup.template
    if template is not None and predicts(template.facts, found, options.suites_per_hello):
        # Groups and DH parameters come with the lists; the follow-ups fetch what the name decides.
        scan.options = replace(options, groups=False, dh_parameters=False)
        provenance = SharedEnumeration(
            enumerated_at=template.enumerated_at, fields=list(SHARED_FIELDS), confirmations=scan.connections
        )
        shared = {name: getattr(template.facts, name) for name in _COPIED}
        results = await _from_template(scan, template.facts, firsts)
        return await finish(scan, results, started, **shared, shared_from=provenance)
    try:
        facts = await finish(scan, await scan.run(firsts), started)
        if lookup.token is not None and shareable(facts) and predicts(facts, found, options.suites_per_hello):
            await _quietly(store.put(variant, Template.of(facts)), f"keeping the template of {variant}")
        return facts
    finally:
        if lookup.token is not None:  # (its lease would end the claim anyway)
            await _quietly(store.release(variant, lookup.token), f"releasing the claim on {variant}")


async def _quietly(job: Awaitable[None], what: str) -> None:
    try:
        await job
    except Exception as exc:  # the store is an economy, never a reason for a scan to fail
        log.warning("%s failed (%s: %s)", what, type(exc).__name__, exc)
