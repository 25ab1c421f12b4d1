"""The order of SRV records: STARTTLS and Direct TLS merged into one priority/weight space (XEP-0368).

Two orders exist. :func:`report_order` is deterministic, so a report lists endpoints the same way
every time: priority ascending, then the likelier pick first (higher weight), then Direct TLS before
STARTTLS (BCP 195 prefers implicit TLS; XEP-0368 lets clients prefer either), then target and port.
:func:`rfc2782_order` is the randomised order a client would try them in (RFC 2782's weighted
selection within each priority), for probing like a client does.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby

from scanners.base import Transport
from scanners.dns.facts import SrvRecord

#: The target of an SRV record that says "no service here" (RFC 2782).
NO_SERVICE = "."


@dataclass(frozen=True)
class SrvChoice:
    """One SRV record together with the transport its service name implies."""

    transport: Transport
    record: SrvRecord


def _stable_key(choice: SrvChoice) -> tuple[int, int, int, str, int]:
    direct_first = 0 if choice.transport is Transport.DIRECTTLS else 1
    record = choice.record
    return (record.priority, -record.weight, direct_first, record.target, record.port)


def report_order(choices: Iterable[SrvChoice]) -> list[SrvChoice]:
    """The deterministic order used in results; ``.`` targets are left out."""
    return sorted((choice for choice in choices if choice.record.target != NO_SERVICE), key=_stable_key)


def rfc2782_order(choices: Iterable[SrvChoice], rng: random.Random) -> list[SrvChoice]:
    """A client's connection order: by priority, and within one, weighted random selection (RFC 2782)."""
    ordered: list[SrvChoice] = []
    by_priority = sorted(report_order(choices), key=lambda choice: choice.record.priority)
    for _, group in groupby(by_priority, key=lambda choice: choice.record.priority):
        # Zero-weight records go first in the list to choose from, so they keep a small chance.
        pool = sorted(group, key=lambda choice: (choice.record.weight != 0, _stable_key(choice)))
        while pool:
            total = sum(choice.record.weight for choice in pool)
            pick = rng.randint(0, total)
            running = 0
            for index, choice in enumerate(pool):
                running += choice.record.weight
                if running >= pick:
                    ordered.append(pool.pop(index))
                    break
    return ordered
