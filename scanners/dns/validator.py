"""DNSSEC validation in-process: from the trust anchor down, never trusting the resolver's AD bit.

Every answer is fetched with CD set and judged here (RFC 4035 §5):

* a signed RRset is checked with the keys of its signer zone; those keys are trusted through the
  DS RRset in the parent (itself signed, checked the same way) up to a trust anchor — bottom-up,
  two queries per zone (DS, DNSKEY), each cached for the scan;
* an unsigned RRset or denial is insecure only if a signed proof shows an unsigned delegation
  above it; the walk for that goes top-down from the anchor, one DS query per label, and stops at
  the first delegation without DS (NSEC/NSEC3 proof, or opt-out);
* a denial (NXDOMAIN, NODATA) needs NSEC or NSEC3 records signed by the zone, checked by
  :mod:`scanners.dns.denial` and :mod:`scanners.dns.nsec3`; a wildcard answer needs the proof that
  the name asked does not exist;
* aliases (CNAME, DNAME) are followed one query per link, each link judged on its own; the
  chain's verdict is its weakest link.

Bounds: at most :data:`MAX_ALIASES` links, :data:`MAX_WALK` labels walked, a few signatures and keys
per RRset (:mod:`scanners.dns.signatures`); queries and time are bounded by the client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.RRSIG import RRSIG

from scanners.dns.answers import Answer, Link, find, signatures, type_text
from scanners.dns.client import Querier
from scanners.dns.denial import Outcome, Proof
from scanners.dns.facts import DnssecState
from scanners.dns.proofs import check_denial
from scanners.dns.signatures import anchor_keys, keys_matching_ds, supported_ds, usable_keys, verify_rrset
from scanners.dns.tasks import shared
from scanners.dns.trust_anchors import TrustAnchors
from scanners.dns.verdicts import SECURE, Verdict, bogus, indeterminate, insecure, worst
from scanners.dns.zones import Cut, CutKind, ZoneKeys

#: CNAME/DNAME links followed for one lookup (resolvers use 8–12).
MAX_ALIASES = 8
#: Labels below the trust anchor the top-down walk goes through.
MAX_WALK = 24
#: NSEC/NSEC3 RRsets looked at in one denial; a proof needs at most three.
MAX_DENIAL_RRSETS = 16

DS, DNSKEY_TYPE, CNAME, DNAME = dns.rdatatype.DS, dns.rdatatype.DNSKEY, dns.rdatatype.CNAME, dns.rdatatype.DNAME
_ANSWERED = (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)


class Validator:
    """Validates lookups for one scan; zone keys and delegations are cached for its lifetime."""

    def __init__(self, client: Querier, anchors: TrustAnchors, *, now: Callable[[], float] = time.time) -> None:
        self.client = client
        self.anchors = anchors
        self._now = now
        self._keys: dict[dns.name.Name, asyncio.Task[ZoneKeys]] = {}
        self._cuts: dict[dns.name.Name, asyncio.Task[Cut]] = {}

    # --- lookups -------------------------------------------------------------------------------

    async def lookup(self, qname: dns.name.Name, rdtype: int) -> Answer:
        """Ask for ``qname``/``rdtype``, following aliases, and judge every RRset on the way."""
        try:
            return await self._lookup(qname, rdtype)
        except (dns.exception.DNSException, ValueError) as exc:  # e.g. a name made too long by synthesis
            error = f"could not process the answer for {qname} {type_text(rdtype)}: {exc}"
            return Answer(qname, rdtype, indeterminate(error), error=error)

    async def _lookup(self, qname: dns.name.Name, rdtype: int) -> Answer:
        links: list[Link] = []

        def done(
            verdict: Verdict, rcode: str | None, rrset: dns.rrset.RRset | None = None, error: str | None = None
        ) -> Answer:
            chain = worst([*(link.verdict for link in links), verdict])
            return Answer(qname, rdtype, chain, rcode=rcode, rrset=rrset, links=tuple(links), error=error)

        seen = {qname}
        current = qname
        for _ in range(MAX_ALIASES + 1):
            reply = await self.client.query(current, rdtype)
            if reply.message is None:
                return done(indeterminate(f"{current} {type_text(rdtype)}: {reply.error}"), None, error=reply.error)
            message = reply.message
            rcode = dns.rcode.to_text(message.rcode())
            if message.rcode() not in _ANSWERED:
                error = f"the resolver answered {rcode} for {current} {type_text(rdtype)}"
                return done(indeterminate(error), rcode, error=error)
            rrset = find(message.answer, current, rdtype)
            if rrset is not None:
                return done(await self.validate_rrset(message, rrset), rcode, rrset)
            link = await self._alias(message, current)
            if link is None:
                return done(await self.validate_denial(message, current, rdtype), rcode)
            links.append(link)
            if link.target in seen:
                return done(bogus(f"alias loop at {link.target}"), rcode, error=f"alias loop at {link.target}")
            seen.add(link.target)
            current = link.target
        error = f"more than {MAX_ALIASES} aliases"
        return done(indeterminate(error), None, error=error)

    async def _alias(self, message: dns.message.Message, name: dns.name.Name) -> Link | None:
        for rrset in message.answer:
            if rrset.rdtype == DNAME and name.is_subdomain(rrset.name) and name != rrset.name and rrset:
                verdict = await self.validate_rrset(message, rrset)
                try:
                    target = name.relativize(rrset.name).concatenate(next(iter(rrset)).target)
                except dns.name.NameTooLong:
                    return Link(name, dns.name.root, bogus(f"the DNAME at {rrset.name} makes a name too long"))
                return Link(name, target, verdict, dname=rrset.name)
        cname = find(message.answer, name, CNAME)
        if cname is None or not cname:
            return None
        return Link(name, next(iter(cname)).target, await self.validate_rrset(message, cname))

    # --- one RRset, one denial -----------------------------------------------------------------

    async def validate_rrset(
        self, message: dns.message.Message, rrset: dns.rrset.RRset, *, parent_side: bool = False
    ) -> Verdict:
        """The verdict on a positive RRset from ``message``'s answer section.

        ``parent_side`` (implied for DS) means the RRset must come from a zone above its owner.
        """
        owner, what = rrset.name, f"{rrset.name} {type_text(rrset.rdtype)}"
        sigs = signatures(message.answer, owner, rrset.rdtype)
        if not sigs:
            return await self._unsigned(owner, rrset.rdtype, f"{what} has no signature")
        # The signer must be the zone holding the RRset: an ancestor of it, and for a DS the parent.
        above = parent_side or rrset.rdtype == DS
        signers = {sig.signer for sig in sigs if owner.is_subdomain(sig.signer) and not (above and sig.signer == owner)}
        if not signers:
            return bogus(f"{what} is signed by a zone that cannot hold it")
        signer = max(signers, key=len)
        keys = await self.zone_keys(signer)
        if not keys.verdict.secure:
            return keys.verdict
        sig, reason = verify_rrset(rrset, sigs, signer, keys.keys, self._now())
        if sig is None:
            return bogus(f"{what}: {reason}")
        if sig.labels < len(owner) - 1 and not owner.is_wild():
            encloser = owner.split(sig.labels + 1)[1]
            proof = self._prove(message, owner, rrset.rdtype, signer, keys, wildcard=encloser)
            if proof.outcome is Outcome.INSECURE:
                return insecure(f"{what}: {proof.reason}")
            if not proof.holds:
                return bogus(f"{what} comes from a wildcard without proof that the name does not exist: {proof.reason}")
        return SECURE

    async def validate_denial(self, message: dns.message.Message, qname: dns.name.Name, qtype: int) -> Verdict:
        """The verdict on an NXDOMAIN or NODATA answer for ``qname``/``qtype``."""
        return (await self._denial(message, qname, qtype))[0]

    async def _denial(self, message: dns.message.Message, qname: dns.name.Name, qtype: int) -> tuple[Verdict, Proof]:
        nxdomain = message.rcode() == dns.rcode.NXDOMAIN
        what = f"{'NXDOMAIN' if nxdomain else 'no'} {qname} {type_text(qtype)}"
        records = [rrset for rrset in message.authority if rrset.rdtype in (dns.rdatatype.NSEC, dns.rdatatype.NSEC3)][
            :MAX_DENIAL_RRSETS
        ]
        soa = [rrset for rrset in message.authority if rrset.rdtype == dns.rdatatype.SOA]
        signers = {
            sig.signer
            for rrset in [*records, *soa]
            for sig in signatures(message.authority, rrset.name, rrset.rdtype)
            if qname.is_subdomain(sig.signer) and not (qtype == DS and sig.signer == qname)
        }
        if not records or not signers:
            missing = Proof(Outcome.NOT_PROVEN, "no signed NSEC or NSEC3 records")
            return await self._unsigned(qname, qtype, f"{what}: {missing.reason}"), missing
        zone = max(signers, key=len)
        keys = await self.zone_keys(zone)
        if not keys.verdict.secure:
            return keys.verdict, Proof(Outcome.NOT_PROVEN, keys.verdict.reason or "")
        proof = self._prove(message, qname, qtype, zone, keys)
        if proof.outcome is Outcome.INSECURE:
            return insecure(f"{what}: {proof.reason}"), proof
        if not proof.holds:
            return bogus(f"{what}: missing proof: {proof.reason}"), proof
        return SECURE, proof

    def _prove(
        self,
        message: dns.message.Message,
        qname: dns.name.Name,
        qtype: int,
        zone: dns.name.Name,
        keys: ZoneKeys,
        *,
        wildcard: dns.name.Name | None = None,
    ) -> Proof:
        """Check the zone's validated NSEC/NSEC3 records in the authority section against the claim."""
        valid, failures = [], []
        for rrset in message.authority[: MAX_DENIAL_RRSETS * 4]:
            if rrset.rdtype not in (dns.rdatatype.NSEC, dns.rdatatype.NSEC3) or not rrset.name.is_subdomain(zone):
                continue
            sigs = signatures(message.authority, rrset.name, rrset.rdtype)
            sig, reason = verify_rrset(rrset, sigs, zone, keys.keys, self._now())
            if sig is None:
                failures.append(f"{rrset.name} {type_text(rrset.rdtype)}: {reason}")
            else:
                valid.append(rrset)
        proof = check_denial(
            qname, qtype, zone, valid, nxdomain=message.rcode() == dns.rcode.NXDOMAIN, wildcard=wildcard
        )
        if not proof.holds and failures:
            # A proof that fails because its records do not verify is best explained by that.
            return Proof(Outcome.NOT_PROVEN, failures[0])
        return proof

    async def _unsigned(self, name: dns.name.Name, rdtype: int, what: str) -> Verdict:
        """Unsigned data is insecure below an unsigned delegation, and bogus inside a signed zone."""
        # A DS lives in the parent zone: its walk stops above the name (which also avoids a cycle).
        start = name.parent() if rdtype == DS and name != dns.name.root else name
        verdict, zone = await self._enclosing_zone(start)
        if verdict.secure:
            return bogus(f"{what}, but it is in the signed zone {zone}")
        return verdict

    # --- zones -----------------------------------------------------------------------------------

    def _anchor_for(self, name: dns.name.Name) -> dns.name.Name | None:
        return self.anchors.covering(name)

    async def _enclosing_zone(self, name: dns.name.Name) -> tuple[Verdict, dns.name.Name | None]:
        """Walk down from the anchor: (SECURE, zone holding ``name``), or why it is not secure."""
        anchor = self._anchor_for(name)
        if anchor is None:
            return insecure(f"no trust anchor covers {name}"), None
        keys = await self.zone_keys(anchor)
        if not keys.verdict.secure:
            return keys.verdict, anchor
        if len(name) - len(anchor) > MAX_WALK:
            return indeterminate(f"{name} is more than {MAX_WALK} labels below the trust anchor"), None
        zone = anchor
        for depth in range(len(anchor) + 1, len(name) + 1):
            below = name.split(depth)[1]
            cut = await self._cut(below)
            if cut.kind is CutKind.SECURE:
                zone = below
            elif cut.kind is CutKind.NXDOMAIN:
                break
            elif cut.kind is not CutKind.NOT_A_CUT:
                return cut.verdict, below
        return SECURE, zone

    async def zone_keys(self, zone: dns.name.Name) -> ZoneKeys:
        """The zone's DNSKEYs if a chain from a trust anchor vouches for them, else why not."""
        return await shared(self._keys, zone, lambda: self._zone_keys(zone))

    async def _zone_keys(self, zone: dns.name.Name) -> ZoneKeys:
        anchors = [rrset for rrset in self.anchors.rrsets if rrset.name == zone]
        if anchors:
            return await self._keys_from_anchor(zone, anchors)
        if self._anchor_for(zone) is None:
            return ZoneKeys(insecure(f"no trust anchor covers {zone}"))
        cut = await self._cut(zone)
        if cut.kind is CutKind.SECURE and cut.keys is not None:
            return cut.keys
        if cut.kind is CutKind.NOT_A_CUT:
            return ZoneKeys(bogus(f"{zone} signs records but is not a zone: its parent does not delegate it"))
        if cut.kind is CutKind.NXDOMAIN:
            return ZoneKeys(bogus(f"{zone} signs records but does not exist"))
        return ZoneKeys(cut.verdict)

    async def _cut(self, name: dns.name.Name) -> Cut:
        return await shared(self._cuts, name, lambda: self._find_cut(name))

    async def _find_cut(self, name: dns.name.Name) -> Cut:
        """What the parent says about ``name``: a secure or unsigned delegation, no cut, or no name."""
        reply = await self.client.query(name, DS)
        if reply.message is None:
            return Cut(CutKind.FAILED, indeterminate(f"{name} DS: {reply.error}"))
        message = reply.message
        if message.rcode() not in _ANSWERED:
            return Cut(
                CutKind.FAILED,
                indeterminate(f"the resolver answered {dns.rcode.to_text(message.rcode())} for {name} DS"),
            )
        ds = find(message.answer, name, DS)
        if ds is not None:
            verdict = await self.validate_rrset(message, ds)
            if not verdict.secure:
                return Cut(CutKind.INSECURE if verdict.state is DnssecState.INSECURE else CutKind.FAILED, verdict)
            keys = await self._keys_from_ds(name, ds)
            if keys.verdict.secure:
                return Cut(CutKind.SECURE, SECURE, keys)
            return Cut(CutKind.INSECURE if keys.verdict.state is DnssecState.INSECURE else CutKind.FAILED, keys.verdict)
        cname = find(message.answer, name, CNAME)
        if cname is not None:  # an alias cannot be a zone cut
            verdict = await self.validate_rrset(message, cname, parent_side=True)
            return Cut(CutKind.NOT_A_CUT, verdict) if verdict.secure else Cut(CutKind.FAILED, verdict)
        verdict, proof = await self._denial(message, name, DS)
        if verdict.state is DnssecState.INSECURE:
            return Cut(CutKind.INSECURE, verdict)
        if not verdict.secure:
            return Cut(CutKind.FAILED, verdict)
        if proof.outcome is Outcome.NO_DS:
            return Cut(CutKind.INSECURE, insecure(f"{name} is delegated without DS ({proof.reason})"))
        if proof.outcome is Outcome.NXDOMAIN:
            return Cut(CutKind.NXDOMAIN, SECURE)
        return Cut(CutKind.NOT_A_CUT, SECURE)

    async def _dnskeys(self, zone: dns.name.Name) -> tuple[dns.rrset.RRset, list[RRSIG]] | Verdict:
        reply = await self.client.query(zone, DNSKEY_TYPE)
        if reply.message is None:
            return indeterminate(f"{zone} DNSKEY: {reply.error}")
        if reply.message.rcode() != dns.rcode.NOERROR:
            return indeterminate(f"the resolver answered {dns.rcode.to_text(reply.message.rcode())} for {zone} DNSKEY")
        rrset = find(reply.message.answer, zone, DNSKEY_TYPE)
        if rrset is None:
            return bogus(f"{zone} has a DS but publishes no DNSKEY")
        return rrset, signatures(reply.message.answer, zone, DNSKEY_TYPE)

    async def _keys_from_ds(self, zone: dns.name.Name, ds: dns.rrset.RRset) -> ZoneKeys:
        usable = supported_ds(ds)
        if not usable:
            return ZoneKeys(insecure(f"the DS records of {zone} use only algorithms or digests we do not support"))
        fetched = await self._dnskeys(zone)
        if isinstance(fetched, Verdict):
            return ZoneKeys(fetched)
        dnskeys, sigs = fetched
        matched = keys_matching_ds(zone, usable, dnskeys)
        if not matched:
            tags = ", ".join(str(record.key_tag) for record in usable)
            return ZoneKeys(bogus(f"no DNSKEY of {zone} matches its DS (key tag {tags})"))
        return self._self_signed(zone, dnskeys, sigs, matched)

    async def _keys_from_anchor(self, zone: dns.name.Name, anchors: list[dns.rrset.RRset]) -> ZoneKeys:
        fetched = await self._dnskeys(zone)
        if isinstance(fetched, Verdict):
            return ZoneKeys(fetched)
        dnskeys, sigs = fetched
        if not sigs:
            reason = f"the resolver returned the {zone} DNSKEY RRset without signatures; does it support DNSSEC?"
            return ZoneKeys(indeterminate(reason))
        matched = anchor_keys(zone, anchors, dnskeys)
        if not matched:
            return ZoneKeys(bogus(f"no DNSKEY of {zone} matches the trust anchor ({self.anchors.source})"))
        return self._self_signed(zone, dnskeys, sigs, matched)

    def _self_signed(
        self, zone: dns.name.Name, dnskeys: dns.rrset.RRset, sigs: list[RRSIG], trusted: list[DNSKEY]
    ) -> ZoneKeys:
        """The DNSKEY RRset is trusted once a key the parent (or anchor) vouches for has signed it."""
        sig, reason = verify_rrset(dnskeys, sigs, zone, trusted, self._now())
        if sig is None:
            return ZoneKeys(bogus(f"{zone} DNSKEY: {reason}"))
        return ZoneKeys(SECURE, tuple(usable_keys(dnskeys)))
