"""From facts to a judged result: certificate and DANE analysis, findings, grades.

Pure: the same facts give the same result under one ``RULES_VERSION``. The orchestrator calls this
after a scan, and ``rescore`` calls it again on stored facts when the rules change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from cryptography import x509

from observatory.catalogue import catalogue
from observatory.certificates import analyse_chain, match_dane
from observatory.checks import (
    ENDPOINT_CHECKS,
    SCAN_CHECKS,
    SERVICE_CHECKS,
    EndpointContext,
    ScanContext,
    ServiceContext,
    all_check_ids,
)
from observatory.grading import RULES_VERSION, grade_endpoint, grade_service
from observatory.model import (
    Endpoint,
    EndpointFacts,
    Finding,
    ScanFacts,
    ScanResult,
    Service,
    ServiceFacts,
    Services,
)
from observatory.posh import PoshJudgment, judge_posh
from observatory.profiles import with_profiles
from scanners.base import ServiceKind
from scanners.http.facts import PoshService


def _endpoint_findings(ctx: EndpointContext) -> list[tuple[str, str | None]]:
    hits: list[tuple[str, str | None]] = []
    for finding_id, check in ENDPOINT_CHECKS.items():
        outcome = check(ctx)
        if outcome:
            hits.append((finding_id, outcome if isinstance(outcome, str) else None))
    return hits


_POSH_SERVICE = {ServiceKind.C2S: PoshService.CLIENT, ServiceKind.S2S: PoshService.SERVER}


def _posh(facts: ScanFacts, endpoint: EndpointFacts) -> PoshJudgment | None:
    chain = endpoint.tls.certificate_chain if endpoint.tls else []
    if facts.http is None or not chain:
        return None
    published = next((p for p in facts.http.posh if p.service is _POSH_SERVICE[endpoint.kind]), None)
    if published is None:
        return None
    return judge_posh(published, chain, at=facts.started_at)


def _judge_endpoint(
    facts: ScanFacts, endpoint: EndpointFacts, roots: Sequence[x509.Certificate]
) -> tuple[Endpoint, list[tuple[str, str | None]]]:
    chain = endpoint.tls.certificate_chain if endpoint.tls else []
    certificate = None
    dane = None
    if chain:
        certificate = analyse_chain(
            chain,
            domain=facts.domain,
            kind=endpoint.kind,
            at=facts.started_at,
            extra_roots=roots,
            srv_target=endpoint.target,
            staple_observed=bool(endpoint.tls and endpoint.tls.ocsp_staple_requested),
            ocsp_staple=endpoint.tls.ocsp_staple if endpoint.tls else None,
        )
        dnssec = endpoint.dnssec
        dane = match_dane(
            chain,
            endpoint.tlsa,
            dnssec.srv if dnssec else None,
            certificate=certificate,
            address_dnssec=dnssec.address if dnssec else None,
        )
    posh = _posh(facts, endpoint)
    ctx = EndpointContext(domain=facts.domain, endpoint=endpoint, certificate=certificate, dane=dane, posh=posh)
    hits = _endpoint_findings(ctx)
    entries = catalogue()
    own = [Finding(id=i, severity=entries[i].severity, service=endpoint.kind, endpoints=[endpoint.id]) for i, _ in hits]
    grade = grade_endpoint(
        tls=endpoint.tls,
        transport=endpoint.transport,
        starttls=endpoint.stream.starttls if endpoint.stream else None,
        certificate=certificate,
        findings=own,
    )
    judged = Endpoint(**dict(endpoint), grade=grade, certificate=certificate, dane=dane, posh=posh)
    return judged, hits


def _judge_service(
    facts: ScanFacts, service: ServiceFacts, roots: Sequence[x509.Certificate]
) -> tuple[Service, list[Finding]]:
    entries = catalogue()
    endpoints: list[Endpoint] = []
    # finding id → endpoint ids and details, in endpoint order
    where: dict[str, list[str]] = defaultdict(list)
    details: dict[str, list[str]] = defaultdict(list)
    for endpoint_facts in service.endpoints:
        endpoint, hits = _judge_endpoint(facts, endpoint_facts, roots)
        endpoints.append(endpoint)
        for finding_id, detail in hits:
            where[finding_id].append(endpoint.id)
            if detail and detail not in details[finding_id]:
                details[finding_id].append(detail)
    ctx = ServiceContext(domain=facts.domain, service=service)
    for finding_id, check in SERVICE_CHECKS.items():
        outcome = check(ctx)
        if outcome:
            where.setdefault(finding_id, [])
            if isinstance(outcome, str):
                details[finding_id].append(outcome)
    findings = [
        Finding(
            id=finding_id,
            severity=entries[finding_id].severity,
            service=service.kind,
            endpoints=endpoint_ids,
            details=details.get(finding_id, []),
        )
        for finding_id, endpoint_ids in where.items()
    ]
    judged = Service(
        **{name: getattr(service, name) for name in ServiceFacts.model_fields if name != "endpoints"},
        endpoints=endpoints,
        grade=grade_service(endpoint.grade for endpoint in endpoints),
    )
    return judged, findings


_SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


def judge(
    facts: ScanFacts, *, extra_roots: Sequence[x509.Certificate] = (), profiles: Sequence[str] = ()
) -> ScanResult:
    """Judge ``facts``; ``extra_roots`` are trusted besides Mozilla's (``--ca-file``); ``profiles`` names the
    compliance profiles to judge too (``observatory.profiles``), none by default."""
    all_check_ids()  # registers every check
    roots = list(extra_roots) or [x509.load_der_x509_certificate(der) for der in facts.request.extra_roots]
    services: dict[str, Service | None] = {}
    findings: list[Finding] = []
    for kind in ("c2s", "s2s"):
        service_facts = getattr(facts.services, kind)
        if service_facts is None:
            services[kind] = None
            continue
        services[kind], service_findings = _judge_service(facts, service_facts, roots)
        findings.extend(service_findings)
    entries = catalogue()
    context = ScanContext(facts=facts)
    for finding_id, check in SCAN_CHECKS.items():
        outcome = check(context)
        if outcome:
            detail = [outcome] if isinstance(outcome, str) else []
            findings.append(Finding(id=finding_id, severity=entries[finding_id].severity, details=detail))
    findings.sort(key=lambda f: (_SEVERITY_ORDER.index(f.severity.value), f.id, f.service or ""))
    result = ScanResult(
        **{name: value for name, value in facts if name != "services"},
        services=Services(c2s=services["c2s"], s2s=services["s2s"]),
        rules_version=RULES_VERSION,
        findings=findings,
    )
    return with_profiles(result, profiles)
