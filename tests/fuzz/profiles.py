"""How hard the fuzz targets try: ``fuzz-ci`` (a few seconds for the whole directory, part of the
normal suite) or ``fuzz-long`` (thousands of examples per target, for ``bench/fuzz.py``).

``OBSERVATORY_FUZZ_PROFILE`` picks the profile, ``OBSERVATORY_FUZZ_EXAMPLES`` overrides the number of
examples. The settings are applied per target (``@fuzz``), never loaded globally, so the other
hypothesis tests of the suite keep their own.
"""

from __future__ import annotations

import functools
import os
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from hypothesis import HealthCheck, settings

P = ParamSpec("P")
R = TypeVar("R")

PROFILE_VARIABLE = "OBSERVATORY_FUZZ_PROFILE"
EXAMPLES_VARIABLE = "OBSERVATORY_FUZZ_EXAMPLES"

#: Examples per target; ``weight`` scales them for targets whose examples are costly (DNS signing).
PROFILES = {"fuzz-ci": 60, "fuzz-long": 3000}

#: Examples each target has run in this process (the shrinking phase included): bench/fuzz.py reports it.
EXAMPLES_RUN: Counter[str] = Counter()


def profile_name() -> str:
    name = os.environ.get(PROFILE_VARIABLE, "fuzz-ci")
    if name not in PROFILES:
        raise ValueError(f"{PROFILE_VARIABLE}={name!r}: expected one of {', '.join(PROFILES)}")
    return name


def examples(weight: float = 1.0) -> int:
    override = os.environ.get(EXAMPLES_VARIABLE)
    base = int(override) if override else PROFILES[profile_name()]
    return max(1, round(base * weight))


def fuzz(weight: float = 1.0) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The profile's settings for one target (put it above ``@given``), counting the examples it runs.

    No per-example deadline: two shared cores make timings noisy; ``time_bound`` catches real hangs.
    """
    chosen = settings(
        max_examples=examples(weight),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        print_blob=True,
    )

    def wrap(test: Callable[P, R]) -> Callable[P, R]:
        inner = test.hypothesis.inner_test

        @functools.wraps(inner)
        def counted(*args: P.args, **kwargs: P.kwargs) -> R:
            EXAMPLES_RUN[test.__name__] += 1
            return inner(*args, **kwargs)

        test.hypothesis.inner_test = counted
        return chosen(test)

    return wrap


class Hung(Exception):
    """A target took longer than its bound on one input: a hang, for fuzzing purposes."""


@contextmanager
def time_bound(seconds: float) -> Iterator[None]:
    """Raise ``Hung`` in the main thread if the block runs longer than ``seconds`` (SIGALRM)."""

    def alarm(signum: int, frame: object) -> None:
        raise Hung(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
