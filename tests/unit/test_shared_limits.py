"""The pure parts of fleet-wide pacing: key names, URL redaction, the polling pause, error classification."""

from __future__ import annotations

import random

import pytest

from scanners.base import ErrorReason
from scanners.connection import Limiter, classify
from scanners.connection.shared_limits import (
    DEFAULT_POLL,
    GAP_JITTER,
    SharedGates,
    SharedGatesUnavailable,
    gate_keys,
    pause,
    redacted,
)


def test_both_keys_of_an_address_share_one_hash_tag() -> None:
    assert gate_keys("observatory:pace:", "2001:db8::1") == (
        "observatory:pace:{2001:db8::1}:leases",
        "observatory:pace:{2001:db8::1}:next",
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:secret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("rediss://scanner:secret@redis.example:6380/2", "rediss://scanner:***@redis.example:6380/2"),
        ("redis://user:secret@[::1]:6379", "redis://user:***@[::1]:6379"),
        ("unix:///run/redis.sock?db=1", "unix:///run/redis.sock?db=1"),
    ],
)
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert redacted(url) == shown
    assert SharedGates(url).url == shown


def test_a_full_gate_polls_at_most_every_poll_interval_with_jitter() -> None:
    rng = random.Random(7)
    pauses = [pause(10.0, True, DEFAULT_POLL, rng) for _ in range(200)]
    assert all(DEFAULT_POLL / 2 <= p <= DEFAULT_POLL for p in pauses)
    assert len(set(pauses)) > 100  # not in step
    # An expiry sooner than the poll interval is waited for, not the whole interval.
    assert pause(0.01, True, DEFAULT_POLL, rng) <= 0.01


def test_a_gap_is_waited_out_exactly_plus_a_little_jitter() -> None:
    rng = random.Random(7)
    assert all(0.3 <= pause(0.3, False, DEFAULT_POLL, rng) <= 0.3 + GAP_JITTER for _ in range(100))


@pytest.mark.parametrize("field", ["lease", "poll", "timeout"])
def test_durations_must_be_positive(field: str) -> None:
    with pytest.raises(ValueError, match="positive"):
        SharedGates("redis://127.0.0.1:6379/0", **{field: 0})


def test_an_unavailable_store_is_an_internal_error_naming_its_url() -> None:
    exc = SharedGatesUnavailable("redis://:***@10.0.0.5:6379/0", ConnectionRefusedError("Connection refused"))
    error = classify(exc, "queue")
    assert error.reason is ErrorReason.INTERNAL
    assert error.message == "the shared pacing store redis://:***@10.0.0.5:6379/0 is unavailable: Connection refused"


def test_a_limiter_without_shared_gates_stays_in_process() -> None:
    assert Limiter().shared is None
    gates = SharedGates("redis://127.0.0.1:6379/0")
    assert Limiter(shared=gates).shared is gates
