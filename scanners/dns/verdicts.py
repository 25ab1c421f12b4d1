"""A DNSSEC verdict for one RRset (or one denial), and how verdicts combine along a chain."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scanners.dns.facts import DnssecState, DnssecStatus

# Worst first when combining: one bogus link makes a chain bogus; an unanswered one leaves it open.
_RANK = {DnssecState.SECURE: 0, DnssecState.INSECURE: 1, DnssecState.INDETERMINATE: 2, DnssecState.BOGUS: 3}


@dataclass(frozen=True)
class Verdict:
    state: DnssecState
    reason: str | None = None

    @property
    def secure(self) -> bool:
        return self.state is DnssecState.SECURE

    def status(self) -> DnssecStatus:
        return DnssecStatus(state=self.state, reason=self.reason)


SECURE = Verdict(DnssecState.SECURE)


def insecure(reason: str) -> Verdict:
    return Verdict(DnssecState.INSECURE, reason)


def bogus(reason: str) -> Verdict:
    return Verdict(DnssecState.BOGUS, reason)


def indeterminate(reason: str) -> Verdict:
    return Verdict(DnssecState.INDETERMINATE, reason)


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The verdict of a chain (aliases, then the final RRset): its weakest link, first one on ties."""
    result = SECURE
    for verdict in verdicts:
        if _RANK[verdict.state] > _RANK[result.state]:
            result = verdict
    return result
