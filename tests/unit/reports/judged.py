"""The judged result the report tests render: ``tests.factories.make_result()`` judged again, with two profiles."""

from __future__ import annotations

import functools

from observatory.judge import judge
from observatory.model import Finding, ScanResult, Severity
from scanners.base import ServiceKind
from tests.factories import make_result

PROFILES = ("mozilla-intermediate", "bcp195")
#: What a hostile server might put into a detail: markup, control characters, a mention.
HOSTILE = "<img src=x onerror=alert(1)> | **bold** `tick` \x00\x1b[31m @admin & [link](http://x)\nsecond line"


@functools.cache
def judged() -> ScanResult:
    # Versions pinned so the golden files change only when the report or the catalogue does.
    result = judge(make_result().to_facts(), profiles=PROFILES)
    return result.model_copy(update={"scanner_version": "0.0.0-test", "rules_version": "test"})


def with_hostile_detail() -> ScanResult:
    result = judged()
    endpoint = result.services.c2s.endpoints[0].id  # type: ignore[union-attr]
    hostile = Finding(
        id="xmpp.starttls.not-enforced", severity=Severity.HIGH, service=ServiceKind.C2S, endpoints=[endpoint],
        details=[HOSTILE],
    )  # fmt: skip
    return result.model_copy(update={"findings": [*result.findings, hostile]})
