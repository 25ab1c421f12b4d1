"""Does a certificate name the XMPP domain? RFC 6120 §13.7.1.2 with RFC 6125/9525 matching rules.

The reference identity is the XMPP domain the user asked about, never the SRV target (a name derived
from insecure DNS would let an attacker choose it). Presented identities, by type:

* SRV-ID ``_xmpp-client.<domain>`` for c2s, ``_xmpp-server.<domain>`` for s2s (RFC 4985);
* XmppAddr whose JID is the bare domain (RFC 6120 §13.7.1.4), compared in A-labels, no wildcards;
* DNS-ID, with a wildcard only as the whole left-most label, standing for exactly one label;
* the subject CN, with DNS-ID rules, only when none of DNS-ID, SRV-ID, URI-ID and XmppAddr is
  present (RFC 6125 §6.4.4; RFC 9525 drops it), and flagged as such.

Every presented name that did not count for a reason a person could act on gets a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from observatory.certificates.model import SubjectAltNames
from scanners.base import ServiceKind
from scanners.dns.names import DomainError, normalize_domain

SERVICES = {ServiceKind.C2S: "xmpp-client", ServiceKind.S2S: "xmpp-server"}

# Rank of each way of matching, best first: the most XMPP-specific, exact identities lead.
_RANK = {"SRV-ID": 0, "XmppAddr": 1, "DNS-ID": 2, "SRV-ID*": 3, "DNS-ID*": 4, "CN-ID": 5}


@dataclass
class IdentityResult:
    reference: str | None
    matches: bool
    #: ``TYPE:presented`` for every match, best first.
    matched: list[str] = field(default_factory=list)
    via_cn: bool = False
    srv_target: str | None = None
    srv_target_matches: bool | None = None
    notes: list[str] = field(default_factory=list)


def match_identity(
    names: SubjectAltNames | None,
    common_names: Sequence[str],
    *,
    domain: str,
    kind: ServiceKind,
    srv_target: str | None = None,
) -> IdentityResult:
    """Match the presented identities of a leaf against the XMPP ``domain`` for a ``kind`` link."""
    notes: list[str] = []
    try:
        reference = normalize_domain(domain)
    except DomainError as exc:
        return IdentityResult(reference=None, matches=False, notes=[f"no reference identity: {exc}"])
    target = _reference_or_none(srv_target)
    names = names or SubjectAltNames()
    found: list[tuple[int, str]] = []

    for presented in names.srv:
        how = _match_srv_id(presented, reference, SERVICES[kind], target, notes)
        if how:
            found.append((_RANK[how], f"SRV-ID:{presented}"))
    for presented in names.xmpp_addr:
        if _match_xmpp_addr(presented, reference, notes):
            found.append((_RANK["XmppAddr"], f"XmppAddr:{presented}"))
    for presented in names.dns:
        how = _match_dns(presented, reference, notes, label="DNS-ID")
        if how:
            found.append((_RANK["DNS-ID" if how == "exact" else "DNS-ID*"], f"DNS-ID:{presented}"))

    cn_allowed = not _has_san_identities(names)
    via_cn = False
    if cn_allowed and not found:
        if len(common_names) == 1:
            if _match_dns(common_names[0], reference, notes, label="CN"):
                found.append((_RANK["CN-ID"], f"CN-ID:{common_names[0]}"))
                via_cn = True
        elif len(common_names) > 1:
            notes.append(f"{len(common_names)} subject CNs and no SAN identity: none is used")
    elif common_names and not cn_allowed and not found and any(_same(cn, reference) for cn in common_names):
        notes.append(
            f"the subject CN names {reference}, but a CN counts only when the certificate has no DNS-ID, "
            "SRV-ID, URI-ID or XmppAddr"
        )

    target_matches = None
    if target is not None:
        target_matches = any(_match_dns(n, target, []) for n in names.dns) or (
            cn_allowed and len(common_names) == 1 and bool(_match_dns(common_names[0], target, []))
        )
        if target_matches and not found and target != reference:
            notes.append(
                f"the certificate names the SRV target {target}, not the XMPP domain {reference}; "
                "a client may accept that only when the SRV answer is DNSSEC-secure (RFC 7673)"
            )

    found.sort(key=lambda item: item[0])
    matched = list(dict.fromkeys(text for _, text in found))
    return IdentityResult(
        reference=reference,
        matches=bool(matched),
        matched=matched,
        via_cn=via_cn,
        srv_target=target,
        srv_target_matches=target_matches,
        # Notes explain names that did not count; once the identity matched they are noise.
        notes=[] if matched else list(dict.fromkeys(notes)),
    )


def _reference_or_none(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        return normalize_domain(name)
    except DomainError:
        return None


def _has_san_identities(names: SubjectAltNames) -> bool:
    undecodable = any(p.startswith(("SRV-ID", "XmppAddr")) for p in names.problems)
    return bool(names.dns or names.srv or names.uri or names.xmpp_addr or undecodable)


def _same(presented: str, reference: str) -> bool:
    return _presented_dns(presented) == reference


def _presented_dns(presented: str) -> str | None:
    """A presented DNS name in comparable form: ASCII, lower case, one trailing dot dropped."""
    text = presented[:-1] if presented.endswith(".") else presented
    if not text or not text.isascii() or any(not label for label in text.split(".")):
        return None
    return text.lower()


def _match_dns(presented: str, reference: str, notes: list[str], *, label: str = "DNS-ID") -> str | None:
    """``exact``, ``wildcard`` or None, by RFC 9525 §6.3 (and what browsers do)."""
    name = _presented_dns(presented)
    if name is None:
        if presented and not presented.isascii():
            notes.append(f"{label} {presented!r} is not in A-labels (IDNs must be xn-- encoded), so it never matches")
        return None
    if "*" not in name:
        return "exact" if name == reference else None
    labels = name.split(".")
    if labels[0] != "*" or any("*" in rest for rest in labels[1:]):
        notes.append(f"{label} {presented!r}: a wildcard counts only as the whole left-most label")
        return None
    if len(labels) < 3:
        notes.append(f"{label} {presented!r}: a wildcard directly above a top-level domain is never accepted")
        return None
    wanted = reference.split(".")
    if wanted[1:] == labels[1:] and len(wanted) == len(labels):
        return "wildcard"
    if reference == ".".join(labels[1:]):
        notes.append(f"{label} {presented!r} covers names below {reference}, not {reference} itself")
    return None


def _match_srv_id(presented: str, reference: str, service: str, target: str | None, notes: list[str]) -> str | None:
    first, dot, rest = presented.partition(".")
    if not first.startswith("_") or not dot or not rest:
        notes.append(f"SRV-ID {presented!r} is not of the form _service.domain")
        return None
    how = _match_dns(rest, reference, notes, label="SRV-ID")
    if first[1:].lower() != service:
        if how:
            notes.append(f"SRV-ID {presented!r} is for the {first[1:]} service; this {service} link needs _{service}")
        return None
    if how is None and target is not None and target != reference and _match_dns(rest, target, []):
        notes.append(f"SRV-ID {presented!r} names the SRV target; an SRV-ID must name the XMPP domain {reference}")
    if how is None:
        return None
    return "SRV-ID" if how == "exact" else "SRV-ID*"


def _match_xmpp_addr(presented: str, reference: str, notes: list[str]) -> bool:
    if "@" in presented or "/" in presented:
        notes.append(f"XmppAddr {presented!r} is a user or resource address, not a server's domain")
        return False
    if "*" in presented:
        notes.append(f"XmppAddr {presented!r}: wildcards are not allowed in XmppAddr")
        return False
    try:
        return normalize_domain(presented) == reference
    except DomainError:
        notes.append(f"XmppAddr {presented!r} is not a valid domain")
        return False
