"""The checks: one small pure function per finding id, registered here by decorator.

An endpoint check sees one endpoint's facts with the analyses judged before findings (certificate,
DANE); a service check sees a whole service. A check returns False when its finding does not apply,
True when it does, or a short string: the finding applies and the string says the detail (e.g.
which suites). Checks never do I/O and never raise for missing facts: no facts, no finding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from observatory.model import CertificateAnalysis, DaneResult, EndpointFacts, ScanFacts, ServiceFacts
from observatory.posh import PoshJudgment

Outcome = bool | str


@dataclass(frozen=True)
class EndpointContext:
    domain: str
    endpoint: EndpointFacts
    certificate: CertificateAnalysis | None = None
    dane: DaneResult | None = None
    posh: PoshJudgment | None = None


@dataclass(frozen=True)
class ServiceContext:
    domain: str
    service: ServiceFacts


@dataclass(frozen=True)
class ScanContext:
    """The whole scan, for judgments about the domain rather than one service (host-meta, TXT)."""

    facts: ScanFacts


EndpointCheck = Callable[[EndpointContext], Outcome]
ServiceCheck = Callable[[ServiceContext], Outcome]
ScanCheck = Callable[[ScanContext], Outcome]
C = TypeVar("C", EndpointCheck, ServiceCheck, ScanCheck)

ENDPOINT_CHECKS: dict[str, EndpointCheck] = {}
SERVICE_CHECKS: dict[str, ServiceCheck] = {}
SCAN_CHECKS: dict[str, ScanCheck] = {}


def _register(registry: dict[str, C], finding_id: str) -> Callable[[C], C]:
    def decorate(function: C) -> C:
        if finding_id in ENDPOINT_CHECKS or finding_id in SERVICE_CHECKS or finding_id in SCAN_CHECKS:
            raise ValueError(f"two checks for {finding_id}")
        registry[finding_id] = function
        return function

    return decorate


def endpoint_check(finding_id: str) -> Callable[[EndpointCheck], EndpointCheck]:
    return _register(ENDPOINT_CHECKS, finding_id)


def service_check(finding_id: str) -> Callable[[ServiceCheck], ServiceCheck]:
    return _register(SERVICE_CHECKS, finding_id)


def scan_check(finding_id: str) -> Callable[[ScanCheck], ScanCheck]:
    return _register(SCAN_CHECKS, finding_id)


def all_check_ids() -> set[str]:
    _load_check_modules()
    return set(ENDPOINT_CHECKS) | set(SERVICE_CHECKS) | set(SCAN_CHECKS)


def _load_check_modules() -> None:
    # Importing the modules runs their decorators; done lazily so importing this package is cheap.
    from observatory.checks import certificate, dns, stream, tls, web  # noqa: F401
