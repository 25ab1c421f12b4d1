"""Signed DNS data built in-process for the validator's unit tests: keys, RRsets, RRSIGs, NSEC/NSEC3.

Everything is made with dnspython's own primitives (``make_dnskey``, ``sign``, ``nsec3_hash``),
so the validator is checked against independently produced signatures, not against itself.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import dns.dnssec
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.NSEC3
import dns.rrset
from cryptography.hazmat.primitives.asymmetric import ec

from scanners.dns.client import Reply

NOW = 1_800_000_000  # 2027-01-15: a fixed clock for every signature and check
DAY = 86_400
ECDSA = dns.dnssec.Algorithm.ECDSAP256SHA256


def name(text: str) -> dns.name.Name:
    return dns.name.from_text(text)


def rrset(owner: str, rdtype: str, *rdatas: str, ttl: int = 300) -> dns.rrset.RRset:
    return dns.rrset.from_text(owner, ttl, "IN", rdtype, *rdatas)


@dataclass
class Zone:
    """A zone with a KSK and a ZSK; ``sign`` makes RRSIGs valid around :data:`NOW` unless told otherwise."""

    origin: dns.name.Name
    ksk: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    zsk: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def named(cls, text: str) -> Zone:
        return cls(name(text))

    @property
    def ksk_dnskey(self) -> dns.rdata.Rdata:
        return dns.dnssec.make_dnskey(self.ksk.public_key(), ECDSA, flags=257)

    @property
    def zsk_dnskey(self) -> dns.rdata.Rdata:
        return dns.dnssec.make_dnskey(self.zsk.public_key(), ECDSA, flags=256)

    def dnskey_rrset(self) -> dns.rrset.RRset:
        keys = dns.rrset.RRset(self.origin, dns.rdataclass.IN, dns.rdatatype.DNSKEY)
        keys.update_ttl(300)
        keys.add(self.ksk_dnskey)
        keys.add(self.zsk_dnskey)
        return keys

    def ds_rrset(self, digest: str = "SHA256") -> dns.rrset.RRset:
        ds = dns.rrset.RRset(self.origin, dns.rdataclass.IN, dns.rdatatype.DS)
        ds.update_ttl(300)
        # Any digest, SHA-1 included: tests need records a signer following RFC 8624 would not make.
        ds.add(dns.dnssec.make_ds(self.origin, self.ksk_dnskey, digest, policy=dns.dnssec.allow_all_policy))
        return ds

    def sign(
        self,
        data: dns.rrset.RRset,
        *,
        inception: int = NOW - DAY,
        expiration: int = NOW + 30 * DAY,
        with_ksk: bool | None = None,
        signer: dns.name.Name | None = None,
    ) -> dns.rrset.RRset:
        use_ksk = data.rdtype == dns.rdatatype.DNSKEY if with_ksk is None else with_ksk
        key, dnskey = (self.ksk, self.ksk_dnskey) if use_ksk else (self.zsk, self.zsk_dnskey)
        sig = dns.dnssec.sign(
            data, key, signer or self.origin, dnskey, inception=inception, expiration=expiration, origin=self.origin
        )
        sigs = dns.rrset.RRset(data.name, dns.rdataclass.IN, dns.rdatatype.RRSIG, data.rdtype)
        sigs.update_ttl(data.ttl)
        sigs.add(sig)
        return sigs

    def signed(self, data: dns.rrset.RRset, **knobs: object) -> list[dns.rrset.RRset]:
        return [data, self.sign(data, **knobs)]  # type: ignore[arg-type]

    def nsec(self, owner: str, next_name: str, *types: str) -> list[dns.rrset.RRset]:
        record = rrset(owner, "NSEC", " ".join([next_name, *types, "RRSIG", "NSEC"]))
        return self.signed(record)


def nsec3_owner(text: str, zone: str, salt: str = "", iterations: int = 0) -> str:
    digest = dns.dnssec.nsec3_hash(text, salt or None, iterations, 1)
    return f"{digest.lower()}.{zone}"


def nsec3_chain(
    zone: str,
    names: dict[str, Sequence[str]],
    *,
    salt: str = "",
    iterations: int = 0,
    opt_out: bool = False,
    flags: int | None = None,
) -> dict[str, dns.rrset.RRset]:
    """A complete NSEC3 chain for ``names`` (name → its types), keyed by the name each record matches."""
    hashed = sorted(
        (base64.b32hexdecode(dns.dnssec.nsec3_hash(owner, salt or None, iterations, 1)), owner) for owner in names
    )
    records = {}
    for index, (digest, owner) in enumerate(hashed):
        following = hashed[(index + 1) % len(hashed)][0]
        bitmap = dns.rdtypes.ANY.NSEC3.Bitmap.from_rdtypes([dns.rdatatype.from_text(t) for t in names[owner]])
        rdata = dns.rdtypes.ANY.NSEC3.NSEC3(
            dns.rdataclass.IN,
            dns.rdatatype.NSEC3,
            1,
            flags if flags is not None else (1 if opt_out else 0),
            iterations,
            bytes.fromhex(salt),
            following,
            bitmap,
        )
        owner_name = name(f"{base64.b32hexencode(digest).decode().lower()}.{zone}")
        records[owner] = dns.rrset.from_rdata(owner_name, 300, rdata)
    return records


def message(
    qname: str,
    qtype: str,
    *,
    answer: Iterable[dns.rrset.RRset] = (),
    authority: Iterable[dns.rrset.RRset] = (),
    rcode: int = dns.rcode.NOERROR,
) -> dns.message.Message:
    query = dns.message.make_query(qname, qtype, want_dnssec=True)
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    response.answer.extend(answer)
    response.authority.extend(authority)
    return response


class ScriptedResolver:
    """Answers the validator's questions from a table; an unknown question is a failed query."""

    def __init__(self) -> None:
        self.answers: dict[tuple[dns.name.Name, int], Reply] = {}
        self.asked: list[tuple[str, str]] = []

    def add(self, qname: str, qtype: str, **sections: object) -> None:
        reply = Reply(message=message(qname, qtype, **sections))  # type: ignore[arg-type]
        self.answers[(name(qname), dns.rdatatype.from_text(qtype))] = reply

    def fail(self, qname: str, qtype: str, error: str) -> None:
        self.answers[(name(qname), dns.rdatatype.from_text(qtype))] = Reply(error=error)

    async def query(self, qname: dns.name.Name, rdtype: int) -> Reply:
        self.asked.append((qname.to_text(), dns.rdatatype.to_text(rdtype)))
        return self.answers.get((qname, rdtype), Reply(error="not in the script"))
