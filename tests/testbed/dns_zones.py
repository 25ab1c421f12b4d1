"""DNS zones of the testbed described as data, and the default layout every integration test sees.

A zone is a :class:`ZoneSpec`: its records as zone-file lines plus knobs for how it is signed and
delegated. Later work adds layouts (NSEC3 opt-out, expired signatures, DS mismatch …) by writing new
specs rather than new plumbing; :mod:`tests.testbed.dns` turns specs into signed zone files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tests.testbed.layout import DOMAIN, SCANNER_DOMAIN, Layout, XmppPorts

#: The signed parent of every testbed zone; its DS set is the trust anchor.
PARENT = "test"
#: Every testbed zone lives on loopback, name servers included.
LOOPBACK = ("127.0.0.1", "::1")
DEFAULT_TTL = 300

#: A post-signing edit of a zone, given and returning the zone flattened to one record per line.
Tamper = Callable[[str], str]

#: What the default ``bogus.test`` is changed to after signing, so tests can recognise tampered data.
BOGUS_DOMAIN = "bogus.test"
BOGUS_SRV_PORT = 1
BOGUS_ADDRESS = "127.0.0.66"
UNSIGNED_DOMAIN = "unsigned.test"
WEAK_DOMAIN = f"weak.{DOMAIN}"


def absolute(name: str) -> str:
    return name if name.endswith(".") else f"{name}."


@dataclass(frozen=True)
class Nsec3:
    """NSEC3 parameters for ``dnssec-signzone -3/-H/-A``; ``salt="-"`` means no salt (RFC 9276)."""

    salt: str = "-"
    iterations: int = 0
    opt_out: bool = False


@dataclass(frozen=True)
class ZoneSpec:
    """One zone: the SOA, NS and name-server addresses are added, ``records`` is everything else.

    ``records`` are zone-file lines relative to the zone's origin (absolute names end with a dot).
    ``sign_args`` go to dnssec-signzone as they are, e.g. ``("-s", "20200101000000", "-e", "+3600")``
    for a validity window; a window already over also needs ``-P``, as the post-signing check
    rejects expired signatures. ``delegate`` puts NS, glue and (for signed zones) DS records in the parent;
    ``wrong_ds`` publishes a DS there that matches none of the zone's keys. ``tamper`` edits the
    signed zone afterwards, which leaves signatures that no longer verify.
    """

    name: str
    records: Sequence[str] = ()
    signed: bool = True
    nsec3: Nsec3 | None = None
    sign_args: Sequence[str] = ()
    delegate: bool = True
    wrong_ds: bool = False
    tamper: Tamper | None = None
    ttl: int = DEFAULT_TTL
    #: Extra records for the parent beside the delegation, e.g. a second, stale DS.
    parent_records: Sequence[str] = ()

    @property
    def origin(self) -> str:
        return absolute(self.name)


def render_zone(spec: ZoneSpec, extra: Sequence[str] = ()) -> str:
    """The unsigned zone file: SOA, an in-zone name server on loopback, the records, then ``extra``."""
    lines = [
        f"$ORIGIN {spec.origin}",
        f"$TTL {spec.ttl}",
        # The serial is rewritten by dnssec-signzone (-N unixtime); retry/expire only matter to secondaries.
        "@ SOA ns hostmaster 1 3600 600 86400 60",
        "@ NS ns",
        f"ns A {LOOPBACK[0]}",
        f"ns AAAA {LOOPBACK[1]}",
        *spec.records,
        *extra,
    ]
    return "\n".join(lines) + "\n"


def delegation(child: ZoneSpec, ds_lines: Sequence[str]) -> list[str]:
    """Parent-side records for ``child``: NS, glue for its in-bailiwick name server, and DS lines."""
    origin = child.origin
    return [
        f"{origin} NS ns.{origin}",
        f"ns.{origin} A {LOOPBACK[0]}",
        f"ns.{origin} AAAA {LOOPBACK[1]}",
        *ds_lines,
        *child.parent_records,
    ]


def mismatched_ds(zone: ZoneSpec, real_ds: Sequence[str]) -> list[str]:
    """DS lines that look right (key tag, algorithm) but whose digest fits no key of the zone."""
    if not real_ds:
        # An unsigned zone has no key to point at: invent one, which makes the delegation bogus too.
        digest = hashlib.sha256(zone.origin.encode()).hexdigest().upper()
        return [f"{zone.origin} IN DS 4242 13 2 {digest}"]
    wrong = []
    for line in real_ds:
        *head, digest = line.split()
        flipped = bytes(b ^ 0xFF for b in bytes.fromhex(digest)).hex().upper()
        wrong.append(" ".join([*head, flipped]))
    return wrong


def replace_rdata(zone: str, changes: Mapping[tuple[str, str], str]) -> Tamper:
    """A tamper hook that swaps the data of whole RRsets, keyed by (owner relative to ``zone``, type).

    It works on named-checkzone's flattened output, where every line is
    ``owner ttl class type rdata`` with absolute owners; the RRSIGs are left alone, so they stop
    matching. A key that matches no record is an error, so a typo cannot yield an untampered zone.
    """
    origin = absolute(zone)
    wanted = {
        ((origin if rel == "@" else f"{rel}.{origin}").lower(), rdtype.upper()): rdata
        for (rel, rdtype), rdata in changes.items()
    }

    def tamper(flat: str) -> str:
        seen: set[tuple[str, str]] = set()
        out = []
        for line in flat.splitlines():
            parts = line.split(None, 4)
            key = (parts[0].lower(), parts[3].upper()) if len(parts) == 5 and not line.startswith(";") else None
            if key in wanted:
                if key in seen:
                    continue  # the RRset was already rewritten as a whole
                seen.add(key)
                line = " ".join([*parts[:4], wanted[key]])
            out.append(line)
        missing = set(wanted) - seen
        if missing:
            raise ValueError(f"tamper found no records for {sorted(missing)} in {origin}")
        return "\n".join(out) + "\n"

    return tamper


def xmpp_records(host: str, ports: XmppPorts, *, srv_owner: str = "@") -> list[str]:
    """The four XMPP SRV records (RFC 6120, XEP-0368) at ``srv_owner`` pointing at ``host`` on loopback.

    ``host`` is relative to the zone origin: the SRV targets and the address records share it.
    """
    suffix = "" if srv_owner == "@" else f".{srv_owner}"
    return [
        f"_xmpp-client._tcp{suffix} SRV 0 5 {ports.c2s} {host}",
        f"_xmpps-client._tcp{suffix} SRV 0 5 {ports.c2s_direct} {host}",
        f"_xmpp-server._tcp{suffix} SRV 0 5 {ports.s2s} {host}",
        f"_xmpps-server._tcp{suffix} SRV 0 5 {ports.s2s_direct} {host}",
        f"{host} A {LOOPBACK[0]}",
        f"{host} AAAA {LOOPBACK[1]}",
    ]


def tlsa_records(host: str, ports: Sequence[int], spki_sha256: str) -> list[str]:
    """DANE-EE SPKI SHA-256 (``3 1 1``) records at ``_<port>._tcp.<host>`` (RFC 7673)."""
    return [f"_{port}._tcp.{host} TLSA 3 1 1 {spki_sha256.upper()}" for port in ports]


def _all(ports: XmppPorts) -> list[int]:
    return [ports.c2s, ports.c2s_direct, ports.s2s, ports.s2s_direct]


def default_zones(layout: Layout, tlsa_spki_sha256: str) -> list[ZoneSpec]:
    """The zones every integration test sees (the parent ``test.`` is built from their delegations).

    ``tlsa_spki_sha256`` is the hex SHA-256 of the served certificate's SubjectPublicKeyInfo; it is
    passed in so this module does not depend on the test PKI.
    """
    bytes.fromhex(tlsa_spki_sha256)  # fail early on anything but hex
    # Inverting every bit guarantees the weak server's TLSA can never match the served key.
    wrong_hash = bytes(b ^ 0xFF for b in bytes.fromhex(tlsa_spki_sha256)).hex()
    strong = [*xmpp_records("xmpp", layout.strong), *tlsa_records("xmpp", _all(layout.strong), tlsa_spki_sha256)]
    weak = [
        *xmpp_records("xmppweak", layout.weak, srv_owner="weak"),
        *tlsa_records("xmppweak", [layout.weak.c2s], wrong_hash),
    ]
    bogus_tamper = replace_rdata(
        BOGUS_DOMAIN,
        {
            ("_xmpp-client._tcp", "SRV"): f"0 5 {BOGUS_SRV_PORT} xmpp.{BOGUS_DOMAIN}.",
            ("xmpp", "A"): BOGUS_ADDRESS,
        },
    )
    return [
        # The apex addresses are where HTTPS discovery (host-meta, POSH) fetches from.
        ZoneSpec(DOMAIN, records=[*strong, *weak, f"@ A {LOOPBACK[0]}", f"@ AAAA {LOOPBACK[1]}"]),
        ZoneSpec(BOGUS_DOMAIN, records=strong, tamper=bogus_tamper),
        ZoneSpec(UNSIGNED_DOMAIN, records=strong, signed=False),
        ZoneSpec(SCANNER_DOMAIN, records=[f"@ A {LOOPBACK[0]}", f"@ AAAA {LOOPBACK[1]}"]),
    ]


# --- The cases testbed: one zone (or subdomain) per discovery or DNSSEC situation -----------------

#: NSEC3 (no opt-out): secure answers and NSEC3 denials, a wildcard, and an unsigned child below it.
NSEC3_DOMAIN = "nsec3.test"
NSEC3_ISLAND = f"island.{NSEC3_DOMAIN}"
#: NSEC3 with opt-out, and an unsigned child that only the opt-out span accounts for.
OPTOUT_DOMAIN = "optout.test"
OPTOUT_CHILD = f"plain.{OPTOUT_DOMAIN}"
#: An NSEC zone whose subdomains are discovery layouts (weighted, alias, dot, nosrv, wild).
CASES_DOMAIN = "cases.test"
WEIGHTED_DOMAIN = f"weighted.{CASES_DOMAIN}"
ALIAS_DOMAIN = f"alias.{CASES_DOMAIN}"
DOT_DOMAIN = f"dot.{CASES_DOMAIN}"
NOSRV_DOMAIN = f"nosrv.{CASES_DOMAIN}"
WILD_DOMAIN = f"wild.{CASES_DOMAIN}"
WILD3_DOMAIN = f"wild.{NSEC3_DOMAIN}"
#: Signed zones broken in one way each.
EXPIRED_DOMAIN = "expired.test"
NOT_YET_DOMAIN = "notyet.test"
MISMATCH_DOMAIN = "mismatch.test"
STRIPPED_DOMAIN = "stripped.test"
#: An SRV target written as an address (RFC 2782 wants a host name).
IP_LITERAL_TARGET = "127.0.0.1."


def strip_signatures(zone: str, owner: str, rdtype: str) -> Tamper:
    """A tamper hook that deletes the RRSIGs covering one RRset, leaving the RRset unsigned."""
    wanted = ((owner if owner == "@" else f"{owner}.{absolute(zone)}").lower(), rdtype.upper())

    def tamper(flat: str) -> str:
        kept = [
            line
            for line in flat.splitlines()
            if not (
                len(parts := line.split(None, 5)) == 6
                and (parts[0].lower(), parts[3], parts[4].upper()) == (wanted[0], "RRSIG", wanted[1])
            )
        ]
        if len(kept) == len(flat.splitlines()):
            raise ValueError(f"no RRSIG covering {wanted} in {zone}")
        return "\n".join(kept) + "\n"

    return tamper


def _pair(host: str) -> list[str]:
    return [f"{host} A {LOOPBACK[0]}", f"{host} AAAA {LOOPBACK[1]}"]


def _cases_records(ports: XmppPorts, spki_sha256: str, wrong_hash: str, away_target: str) -> list[str]:
    """Subdomain layouts of ``cases.test``; each SRV owner sits below its layout's name."""
    weighted = [
        # One priority/weight space across STARTTLS and Direct TLS (XEP-0368).
        f"_xmpp-client._tcp.weighted SRV 0 60 {ports.c2s} b.weighted",
        f"_xmpps-client._tcp.weighted SRV 0 10 {ports.c2s_direct} a.weighted",
        f"_xmpps-client._tcp.weighted SRV 5 0 {ports.c2s_direct} noaddr.weighted",
        f"_xmpp-client._tcp.weighted SRV 10 0 {ports.c2s} c.weighted",
        f"_xmpp-client._tcp.weighted SRV 20 0 {ports.c2s} {IP_LITERAL_TARGET}",
        f"_xmpp-server._tcp.weighted SRV 1 30 {ports.s2s} a.weighted",
        f"_xmpp-server._tcp.weighted SRV 1 70 {ports.s2s} b.weighted",
        *_pair("a.weighted"),
        *_pair("b.weighted"),
        f"c.weighted AAAA {LOOPBACK[1]}",
        'noaddr.weighted TXT "no address here"',
        f"_{ports.c2s_direct}._tcp.a.weighted TLSA 3 1 1 {wrong_hash}",
    ]
    alias = [
        f"_xmpp-client._tcp.alias SRV 0 5 {ports.c2s} xmpp.alias",
        "xmpp.alias CNAME real.alias",
        *_pair("real.alias"),
        # An alias into another zone, which is unsigned: the chain is only as strong as that.
        f"_xmpps-client._tcp.alias SRV 0 5 {ports.c2s_direct} away.alias",
        f"away.alias CNAME {away_target}",
        f"_xmpp-server._tcp.alias SRV 0 5 {ports.s2s} xmpp.renamed.alias",
        "renamed.alias DNAME moved",
        *_pair("xmpp.moved"),
    ]
    dot = [
        "_xmpp-client._tcp.dot SRV 0 0 0 .",
        "_xmpps-client._tcp.dot SRV 0 0 0 .",
        f"_xmpp-server._tcp.dot SRV 0 5 {ports.s2s} xmpp.dot",
        "_xmpps-server._tcp.dot SRV 0 0 0 .",
        *_pair("xmpp.dot"),
    ]
    nosrv = [*_pair("nosrv"), f"_{ports.c2s}._tcp.nosrv TLSA 3 1 1 {spki_sha256}"]
    wild = [f"_xmpp-client._tcp.wild SRV 0 5 {ports.c2s} host.dyn", *_pair("*.dyn")]
    return [*weighted, *alias, *dot, *nosrv, *wild]


def case_zones(layout: Layout, tlsa_spki_sha256: str) -> list[ZoneSpec]:
    """The zones of the cases testbed (``dns_cases``): every discovery layout and DNSSEC verdict.

    Unlike :func:`default_zones` nothing here is meant to be connected to by name; SRV records
    still point at the strong server's ports so that an end-to-end test can use them.
    """
    spki = tlsa_spki_sha256.upper()
    wrong_hash = bytes(b ^ 0xFF for b in bytes.fromhex(tlsa_spki_sha256)).hex().upper()
    strong = layout.strong
    plain = xmpp_records("xmpp", strong)
    past = ("-P", "-s", "20200101000000", "-e", "20200201000000")
    future = ("-P", "-s", "+864000", "-e", "+1728000")
    nsec3_records = [
        *plain,
        *tlsa_records("xmpp", [strong.c2s], spki),
        f"_xmpp-client._tcp.wild SRV 0 5 {strong.c2s} host.dyn",
        *_pair("*.dyn"),
    ]
    return [
        ZoneSpec(NSEC3_DOMAIN, records=nsec3_records, nsec3=Nsec3(salt="-", iterations=0)),
        ZoneSpec(NSEC3_ISLAND, records=plain, signed=False),
        ZoneSpec(OPTOUT_DOMAIN, records=plain, nsec3=Nsec3(salt="AB12", iterations=2, opt_out=True)),
        ZoneSpec(OPTOUT_CHILD, records=plain, signed=False),
        ZoneSpec(CASES_DOMAIN, records=_cases_records(strong, spki, wrong_hash, f"xmpp.{OPTOUT_CHILD}.")),
        ZoneSpec(EXPIRED_DOMAIN, records=plain, sign_args=past),
        ZoneSpec(NOT_YET_DOMAIN, records=plain, sign_args=future),
        ZoneSpec(MISMATCH_DOMAIN, records=plain, wrong_ds=True),
        ZoneSpec(STRIPPED_DOMAIN, records=plain, tamper=strip_signatures(STRIPPED_DOMAIN, "_xmpp-client._tcp", "SRV")),
    ]
