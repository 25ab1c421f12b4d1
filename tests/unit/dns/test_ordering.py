"""SRV order: one merged priority/weight space for STARTTLS and Direct TLS (XEP-0368, RFC 2782)."""

from __future__ import annotations

import random
from collections import Counter

from scanners.base import Transport
from scanners.dns.facts import SrvRecord
from scanners.dns.ordering import SrvChoice, report_order, rfc2782_order

START, DIRECT = Transport.STARTTLS, Transport.DIRECTTLS


def choice(transport: Transport, priority: int, weight: int, target: str, port: int = 5222) -> SrvChoice:
    return SrvChoice(transport, SrvRecord(priority=priority, weight=weight, port=port, target=target))


def labels(choices: list[SrvChoice]) -> list[str]:
    return [f"{c.transport.value}:{c.record.target}" for c in choices]


MIXED = [
    choice(START, 10, 0, "c"),
    choice(DIRECT, 0, 10, "a"),
    choice(START, 0, 60, "b"),
    choice(DIRECT, 5, 0, "noaddr"),
    choice(START, 0, 10, "a"),
]


def test_report_order_is_priority_then_weight_then_direct_tls_first() -> None:
    assert labels(report_order(MIXED)) == [
        "starttls:b",
        "directtls:a",
        "starttls:a",
        "directtls:noaddr",
        "starttls:c",
    ]


def test_report_order_is_the_same_whatever_the_answer_order() -> None:
    shuffled = list(MIXED)
    random.Random(7).shuffle(shuffled)

    assert report_order(shuffled) == report_order(MIXED)


def test_dot_targets_are_not_endpoints() -> None:
    assert report_order([choice(START, 0, 0, "."), choice(DIRECT, 0, 0, "x")]) == [choice(DIRECT, 0, 0, "x")]
    assert report_order([choice(START, 0, 0, ".")]) == []


def test_rfc2782_order_keeps_priorities_and_every_record() -> None:
    for seed in range(20):
        order = rfc2782_order(MIXED, random.Random(seed))
        assert sorted(labels(order)) == sorted(labels(report_order(MIXED)))
        assert [c.record.priority for c in order] == sorted(c.record.priority for c in order)


def test_rfc2782_order_picks_in_proportion_to_weight() -> None:
    records = [choice(START, 0, 90, "heavy"), choice(START, 0, 10, "light")]
    firsts = Counter(rfc2782_order(records, random.Random(seed))[0].record.target for seed in range(2000))

    assert 1650 < firsts["heavy"] < 1950


def test_rfc2782_order_gives_zero_weight_records_a_chance_only_when_alone() -> None:
    records = [choice(START, 0, 0, "zero"), choice(START, 0, 100, "weighted")]
    firsts = Counter(rfc2782_order(records, random.Random(seed))[0].record.target for seed in range(500))
    only_zero = [choice(START, 0, 0, "x"), choice(START, 0, 0, "y")]

    assert 0 < firsts["zero"] < 25  # picked only when the draw is exactly 0 (RFC 2782)
    assert sorted(labels(rfc2782_order(only_zero, random.Random(1)))) == ["starttls:x", "starttls:y"]


def test_rfc2782_order_is_reproducible_with_the_same_seed() -> None:
    assert rfc2782_order(MIXED, random.Random(42)) == rfc2782_order(MIXED, random.Random(42))
