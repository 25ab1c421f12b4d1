"""RRSIG and DS checks on top of dnspython's primitives, with bounded work and a reason for every failure.

Pure functions: the caller supplies the RRset, its signatures, the keys it trusts and the time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import dns.dnssec
import dns.exception
import dns.name
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.RRSIG import RRSIG

#: Signature algorithms we validate (RFC 8624 "MUST/RECOMMENDED to validate", as unbound does);
#: a zone signed only with others is treated as unsigned (RFC 4035 §5.2).
SUPPORTED_ALGORITHMS = frozenset({5, 7, 8, 10, 13, 14, 15, 16})
#: DS digest types we can check: SHA-1, SHA-256, SHA-384.
SUPPORTED_DIGESTS = frozenset({1, 2, 4})
#: At most this many RRSIGs are tried per RRset, and keys per RRSIG: colliding key tags and piles of
#: signatures are the KeyTrap denial of service (CVE-2023-50387).
MAX_SIGNATURES = 8
MAX_KEYS_PER_SIGNATURE = 4
#: DNSKEYs and DS records looked at per zone; real zones have a handful.
MAX_KEYS = 32
_ZONE_KEY = 0x0100


def _when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def usable_keys(keys: Iterable[DNSKEY]) -> list[DNSKEY]:
    """Zone keys (RFC 4034 §2.1.1) with protocol 3 and an algorithm we support, bounded in number."""
    usable = [
        key
        for key in keys
        if key.flags & _ZONE_KEY and key.protocol == 3 and int(key.algorithm) in SUPPORTED_ALGORITHMS
    ]
    return usable[:MAX_KEYS]


def verify_rrset(
    rrset: dns.rrset.RRset,
    signatures: Sequence[RRSIG],
    signer: dns.name.Name,
    keys: Sequence[DNSKEY],
    now: float,
) -> tuple[RRSIG | None, str | None]:
    """The signature by ``signer`` that verifies with one of ``keys`` at ``now``, or why none does.

    The reason names the most telling failure: an expired or not yet valid signature before a
    cryptographic failure, before a missing key.
    """
    failures: list[tuple[int, str]] = []
    tried = 0
    for sig in signatures:
        if sig.signer != signer or sig.type_covered != rrset.rdtype:
            continue
        if tried >= MAX_SIGNATURES:
            failures.append((1, f"more than {MAX_SIGNATURES} signatures; the rest were not tried"))
            break
        tried += 1
        if int(sig.algorithm) not in SUPPORTED_ALGORITHMS:
            failures.append((0, f"signature algorithm {int(sig.algorithm)} is not supported"))
            continue
        if sig.labels > len(rrset.name) - 1 - (1 if rrset.name.is_wild() else 0):
            failures.append((2, "signature label count is larger than the owner name's"))
            continue
        candidates = [
            key
            for key in keys
            if dns.dnssec.key_id(key) == sig.key_tag and key.algorithm == sig.algorithm and key.flags & _ZONE_KEY
        ][:MAX_KEYS_PER_SIGNATURE]
        if not candidates:
            failures.append((1, f"no DNSKEY of {signer} has key tag {sig.key_tag}"))
            continue
        if sig.expiration < now:
            failures.append((4, f"signature expired on {_when(sig.expiration)}"))
            continue
        if sig.inception > now:
            failures.append((3, f"signature not valid before {_when(sig.inception)}"))
            continue
        keyset = dns.rdataset.from_rdata_list(0, candidates)
        try:
            dns.dnssec.validate_rrsig(rrset, sig, {signer: keyset}, now=now)
        except (dns.dnssec.ValidationFailure, dns.dnssec.UnsupportedAlgorithm, dns.exception.DNSException):
            failures.append((2, "signature does not verify (the data or the signature was changed)"))
            continue
        return sig, None
    if not failures:
        return None, f"no signature by {signer}"
    return None, max(failures, key=lambda failure: failure[0])[1]


def supported_ds(ds_rdatas: Iterable[DS]) -> list[DS]:
    """The DS records we can use: supported algorithm, and only the strongest digest type present.

    Using only the strongest digest stops a downgrade to a weaker one (RFC 4509 §3), as unbound does.
    """
    usable = [
        ds for ds in ds_rdatas if int(ds.algorithm) in SUPPORTED_ALGORITHMS and ds.digest_type in SUPPORTED_DIGESTS
    ][:MAX_KEYS]
    if not usable:
        return []
    best = max(ds.digest_type for ds in usable)
    return [ds for ds in usable if ds.digest_type == best]


def keys_matching_ds(zone: dns.name.Name, ds_rdatas: Sequence[DS], keys: Iterable[DNSKEY]) -> list[DNSKEY]:
    """The DNSKEYs that one of the DS records points at (key tag, algorithm and digest all equal)."""
    matched = []
    for key in usable_keys(keys):
        tag = dns.dnssec.key_id(key)
        for ds in ds_rdatas:
            if ds.key_tag != tag or ds.algorithm != key.algorithm:
                continue
            try:
                digest = dns.dnssec.make_ds(zone, key, ds.digest_type, validating=True)
            except (dns.dnssec.UnsupportedAlgorithm, dns.dnssec.DeniedByPolicy, ValueError):
                continue
            if digest.digest == ds.digest:
                matched.append(key)
                break
    return matched


def anchor_keys(zone: dns.name.Name, anchors: Iterable[dns.rrset.RRset], keys: Iterable[DNSKEY]) -> list[DNSKEY]:
    """The zone's DNSKEYs that a trust anchor vouches for, given as DS or as the DNSKEY itself."""
    key_list = usable_keys(keys)
    matched: list[DNSKEY] = []
    for anchor in anchors:
        if anchor.name != zone:
            continue
        if anchor.rdtype == dns.rdatatype.DS:
            matched += keys_matching_ds(zone, supported_ds(anchor), key_list)
        elif anchor.rdtype == dns.rdatatype.DNSKEY:
            matched += [key for key in key_list if key in set(anchor)]
    return list(dict.fromkeys(matched))
