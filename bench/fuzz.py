"""The fuzz targets of tests/fuzz at scale: examples run, time and failures found per target.

    .venv/bin/python bench/fuzz.py                      # the fuzz-long profile (3,000 examples a target)
    .venv/bin/python bench/fuzz.py --examples 10000     # N examples a target (DNS targets get half)
    .venv/bin/python bench/fuzz.py --only dns           # targets whose name contains a word

Each target is a hypothesis test (XML stream parser, TLS flight parser, DNS answer handling and
DNSSEC validation); it is run in this process, one after the other, and a failure is printed with
hypothesis' falsifying example and its ``@reproduce_failure`` blob. The suite runs the same targets
with the short ``fuzz-ci`` profile. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MODULES = [
    "tests.fuzz.test_xml_stream",
    "tests.fuzz.test_tls_flight",
    "tests.fuzz.test_dns_validation",
    "tests.fuzz.test_dns_wire",
]


def targets(only: str | None) -> list[tuple[str, Callable[[], None]]]:
    found = []
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if (
                name.startswith("test_")
                and hasattr(value, "hypothesis")
                and (only is None or only in f"{module_name}.{name}")
            ):
                found.append(
                    (f"{module_name.rsplit('.', 1)[1].removeprefix('test_')}::{name.removeprefix('test_')}", value)
                )
    return found


def failures_in(exc: BaseException) -> int:
    return len(exc.exceptions) if isinstance(exc, BaseExceptionGroup) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, help="examples per target (default: the fuzz-long profile)")
    parser.add_argument("--only", help="run only targets whose module::name contains this")
    args = parser.parse_args()
    # The profile is read when the targets are imported: set it first.
    os.environ.setdefault("OBSERVATORY_FUZZ_PROFILE", "fuzz-long")
    if args.examples:
        os.environ["OBSERVATORY_FUZZ_EXAMPLES"] = str(args.examples)
    from tests.fuzz.profiles import EXAMPLES_RUN, examples, profile_name

    chosen = targets(args.only)
    print(f"profile {profile_name()}, {examples()} examples a target (weighted targets fewer), {len(chosen)} targets")
    print(f"{'target':<72} {'examples':>9} {'seconds':>8} {'failures':>8}")
    total_failures, started = 0, time.perf_counter()
    for label, test in chosen:
        begin = time.perf_counter()
        failures = 0
        try:
            test()
        except BaseException as exc:  # a failure is the finding to report, whatever it is
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures = failures_in(exc)
            traceback.print_exception(exc, file=sys.stderr)
        elapsed = time.perf_counter() - begin
        total_failures += failures
        print(f"{label:<72} {EXAMPLES_RUN[test.__name__]:>9} {elapsed:>8.1f} {failures:>8}", flush=True)
    elapsed = time.perf_counter() - started
    print(f"total: {sum(EXAMPLES_RUN.values())} examples in {elapsed:.1f} s, {total_failures} failures")
    return 1 if total_failures else 0


if __name__ == "__main__":
    sys.exit(main())
