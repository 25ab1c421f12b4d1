"""What the validator learns about zones: their trusted keys, and what a parent says about a name."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from dns.rdtypes.ANY.DNSKEY import DNSKEY

from scanners.dns.verdicts import Verdict


@dataclass(frozen=True)
class ZoneKeys:
    """A zone's DNSKEYs, trusted when ``verdict`` is secure (otherwise empty, and the verdict says why)."""

    verdict: Verdict
    keys: tuple[DNSKEY, ...] = ()


class CutKind(Enum):
    #: A delegation with a DS that matches the child's keys.
    SECURE = "secure"
    #: A delegation proven to have no (usable) DS, or one below an unsigned delegation.
    INSECURE = "insecure"
    #: The name is inside its parent's zone: no delegation there.
    NOT_A_CUT = "not-a-cut"
    #: The name does not exist (so nothing below it does either).
    NXDOMAIN = "nxdomain"
    #: Bogus, or the question went unanswered; ``verdict`` says which and why.
    FAILED = "failed"


@dataclass(frozen=True)
class Cut:
    kind: CutKind
    verdict: Verdict
    keys: ZoneKeys | None = None
