"""DNSSEC trust anchors given with ``--trust-anchor``.

The file holds DS or DNSKEY records in zone-file format, owner names fully qualified, as the
``dsset-<zone>.`` files ``dnssec-signzone`` writes, or a root ``root.key`` in that form.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.name
import dns.rdatatype
import dns.rrset
import dns.zonefile

_MAX_FILE_BYTES = 1 << 20


class TrustAnchorError(ValueError):
    """The trust-anchor file cannot be used; the message says why."""


@dataclass(frozen=True)
class TrustAnchors:
    """DS and DNSKEY RRsets, each the anchor of the zone that owns it."""

    rrsets: tuple[dns.rrset.RRset, ...]
    source: str

    @property
    def zones(self) -> list[dns.name.Name]:
        return sorted({rrset.name for rrset in self.rrsets})

    def covering(self, name: dns.name.Name) -> dns.name.Name | None:
        """The closest anchored zone at or above ``name`` (the root for the IANA anchors), or None."""
        zones = [zone for zone in self.zones if name.is_subdomain(zone)]
        return max(zones, key=len) if zones else None


def parse_trust_anchors(text: str, source: str = "<text>") -> TrustAnchors:
    try:
        rrsets = dns.zonefile.read_rrsets(text, origin=dns.name.root, relativize=False, rdclass=None, default_ttl=0)
    except (dns.exception.DNSException, ValueError) as exc:
        raise TrustAnchorError(f"{source}: not DS/DNSKEY records in zone-file format: {exc}") from None
    for rrset in rrsets:
        if rrset.rdtype not in (dns.rdatatype.DS, dns.rdatatype.DNSKEY):
            kind = dns.rdatatype.to_text(rrset.rdtype)
            raise TrustAnchorError(f"{source}: {rrset.name} has a {kind} record; only DS and DNSKEY are anchors")
    if not rrsets:
        raise TrustAnchorError(f"{source}: no DS or DNSKEY records found")
    return TrustAnchors(rrsets=tuple(rrsets), source=source)


def load_trust_anchors(path: Path) -> TrustAnchors:
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise TrustAnchorError(f"cannot read trust anchors from {path}: {exc.strerror or exc}") from None
    if len(raw) > _MAX_FILE_BYTES:
        raise TrustAnchorError(f"{path}: larger than 1 MiB, this is not a trust-anchor file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TrustAnchorError(f"{path}: not a text file") from None
    return parse_trust_anchors(text, source=str(path))


#: The IANA root zone KSKs as DS records (root-anchors.xml): KSK-2017 (key tag 20326) and KSK-2024
#: (key tag 38696), both algorithm 8 (RSASHA256) with SHA-256 digests. Either one anchors the root.
IANA_ROOT_DS = """\
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
"""


def root_trust_anchors() -> TrustAnchors:
    """The built-in anchors used when no ``--trust-anchor`` file is given."""
    return parse_trust_anchors(IANA_ROOT_DS, source="IANA root KSK-2017 and KSK-2024")
