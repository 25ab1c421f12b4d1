"""Which denial proof applies: NSEC or NSEC3, NXDOMAIN, NODATA or a wildcard answer (pure)."""

from __future__ import annotations

from collections.abc import Sequence

import dns.name
import dns.rrset

from scanners.dns.denial import (
    Outcome,
    Proof,
    nsec_records,
    prove_nodata_nsec,
    prove_nxdomain_nsec,
    prove_wildcard_answer_nsec,
)
from scanners.dns.nsec3 import nsec3_chain, prove_nodata_nsec3, prove_nxdomain_nsec3, prove_wildcard_answer_nsec3


def check_denial(
    qname: dns.name.Name,
    qtype: int,
    zone: dns.name.Name,
    rrsets: Sequence[dns.rrset.RRset],
    *,
    nxdomain: bool,
    wildcard: dns.name.Name | None = None,
) -> Proof:
    """What ``zone``'s validated NSEC or NSEC3 RRsets prove about ``qname``/``qtype``.

    ``nxdomain`` is the response's claim (NXDOMAIN, else NODATA); ``wildcard`` is the closest
    encloser of a wildcard answer, whose proof is then checked instead. NSEC is used when present.
    """
    nsecs = nsec_records(rrsets, zone)
    if nsecs:
        if wildcard is not None:
            return prove_wildcard_answer_nsec(qname, wildcard, nsecs)
        return prove_nxdomain_nsec(qname, nsecs) if nxdomain else prove_nodata_nsec(qname, qtype, nsecs)
    chain = nsec3_chain(rrsets, zone)
    if chain is None:
        return Proof(Outcome.NOT_PROVEN, f"no valid NSEC or NSEC3 records of {zone}")
    if wildcard is not None:
        return prove_wildcard_answer_nsec3(qname, wildcard, chain)
    return prove_nxdomain_nsec3(qname, chain) if nxdomain else prove_nodata_nsec3(qname, qtype, chain)
