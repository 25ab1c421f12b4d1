"""Render times of every report format, and the cost of judging the compliance profiles.

    .venv/bin/python bench/reports.py                    # 4 and 64 endpoints, 50 rounds
    .venv/bin/python bench/reports.py --endpoints 256 --rounds 20

The results are judged from facts with real certificates (tests/unit/profiles/factsets.py): half the
endpoints strong, half weak (TLS 1.0, RC4, 3DES, a SHA-1 RSA 1024 leaf, optional STARTTLS), so there
are findings and profile violations to render. Every profile is judged.

Figures (2 vCPU, 2026-11-25; medians of 50 rounds):

| endpoints | judge | 6 profiles | text | json | sarif | junit | markdown |
|---:|---:|---:|---:|---:|---:|---:|---:|
| 4 | 1.4 ms | 1.7 ms | 23 ms | 0.6 ms (121 KiB) | 12 ms (308 KiB) | 6 ms (116 KiB) | 2.4 ms (29 KiB) |
| 64 | 31 ms | 43 ms | 75 ms | 18 ms (1.6 MiB) | 164 ms (2.4 MiB) | 95 ms (1.8 MiB) | 15 ms (159 KiB) |
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

from http_discovery import report, timed  # the bench scripts' shared timing helpers (this folder)

from observatory.judge import judge
from observatory.model import EndpointFacts, ScanResult
from observatory.profiles import available, evaluate
from reports.json import render_json
from reports.junit import render_junit
from reports.markdown import render_markdown
from reports.sarif import render_sarif
from reports.text import render_text
from tests.unit.profiles.factsets import judged, strong_endpoint, weak_endpoint

RENDERERS: dict[str, Callable[[ScanResult], str]] = {
    "text": render_text,
    "json": render_json,
    "sarif": render_sarif,
    "junit": render_junit,
    "markdown": render_markdown,
}


def endpoints(count: int) -> list[EndpointFacts]:
    made = []
    for n in range(count):
        facts = strong_endpoint() if n % 2 == 0 else weak_endpoint()
        made.append(facts.model_copy(update={"id": f"c2s/starttls/xmpp.example.org/192.0.2.{n % 250}:{5222 + n}"}))
    return made


async def run(count: int, rounds: int) -> None:
    profiles = list(available())
    facts = endpoints(count)
    started = time.perf_counter()
    result = judged(facts, profiles)
    print(f"\n{count} endpoints: {len(result.findings)} findings, {len(profiles)} profiles "
          f"(first judgment with profiles {1000 * (time.perf_counter() - started):.0f} ms)")  # fmt: skip

    async def judge_only() -> None:
        judge(result.to_facts())

    async def profiles_only() -> None:
        evaluate(result, profiles)

    report("judge (facts → findings, grades; no profiles)", await timed(rounds, judge_only))
    report(f"evaluate all {len(profiles)} profiles on the judged result", await timed(rounds, profiles_only))
    for name, render in RENDERERS.items():

        async def work(render: Callable[[ScanResult], str] = render) -> None:
            render(result)

        size = len(render(result).encode())
        report(f"render {name} ({size / 1024:.0f} KiB)", await timed(rounds, work))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoints", type=int, nargs="*", default=[4, 64])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    for count in args.endpoints:
        asyncio.run(run(count, args.rounds))


if __name__ == "__main__":
    main()
