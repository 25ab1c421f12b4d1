"""What changed between two results of the same domain: grades, findings, endpoints, TLS versions and
suites, certificates. Pure: it compares documents, whichever database they came from.

``observatory scan --diff`` compares a new scan with the last stored one; ``rescore`` compares a stored
scan's old judgment with its new one (same facts, so only judgments can differ there).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from observatory.model import Endpoint, Finding, Grade, ScanResult, Service
from scanners.base import ServiceKind


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Change(_Model):
    old: str | None
    new: str | None

    def __str__(self) -> str:
        return f"{self.old or '—'} → {self.new or '—'}"


def _change(old: object, new: object) -> Change | None:
    old_text = None if old is None else str(old)
    new_text = None if new is None else str(new)
    return None if old_text == new_text else Change(old=old_text, new=new_text)


class SetChange(_Model):
    added: list[str] = []
    removed: list[str] = []

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)

    def __str__(self) -> str:
        return " ".join([*(f"+{item}" for item in self.added), *(f"−{item}" for item in self.removed)])


def _set_change(old: set[str], new: set[str]) -> SetChange:
    return SetChange(added=sorted(new - old), removed=sorted(old - new))


class EndpointDiff(_Model):
    endpoint: str
    grade: Change | None = None
    versions: SetChange = SetChange()
    #: TLS version → suites accepted now and not before, or before and not now.
    suites: dict[str, SetChange] = {}
    starttls: Change | None = None
    #: SHA-256 (first 16 hex digits) of the certificate the server sent first.
    certificate: Change | None = None
    trusted: Change | None = None
    dane: Change | None = None
    #: Probe errors, as ``phase: reason``.
    errors: SetChange = SetChange()

    @property
    def changed(self) -> bool:
        return any(change for _, change in _endpoint_parts(self))


class ServiceDiff(_Model):
    kind: ServiceKind
    grade: Change | None = None
    score: Change | None = None
    endpoints: SetChange = SetChange()
    #: Endpoints present in both scans that changed.
    changed_endpoints: list[EndpointDiff] = []

    @property
    def changed(self) -> bool:
        return bool(self.grade or self.score or self.endpoints or self.changed_endpoints)


class FindingRef(_Model):
    id: str
    severity: str
    service: ServiceKind | None = None

    def __str__(self) -> str:
        return f"{self.id} ({self.severity}{', ' + self.service.value if self.service else ''})"


class ScanDiff(_Model):
    domain: str
    old_started_at: datetime
    new_started_at: datetime
    rules_version: Change | None = None
    #: Services scanned in only one of the two.
    services: SetChange = SetChange()
    changed_services: list[ServiceDiff] = []
    findings_added: list[FindingRef] = []
    findings_removed: list[FindingRef] = []

    @property
    def changed(self) -> bool:
        """Whether anything a user would care about changed (the rules version alone does not count)."""
        return bool(self.services or self.changed_services or self.findings_added or self.findings_removed)


def _leaf(endpoint: Endpoint) -> str | None:
    chain = endpoint.tls.certificate_chain if endpoint.tls else []
    return hashlib.sha256(chain[0]).hexdigest()[:16] if chain else None


def _letter(grade: Grade | None) -> str | None:
    return grade.letter if grade else None


def _score(grade: Grade | None) -> int | None:
    return grade.score if grade else None


def diff_endpoint(old: Endpoint, new: Endpoint) -> EndpointDiff:
    old_suites = {v.value: set(s) for v, s in old.tls.cipher_suites.items()} if old.tls else {}
    new_suites = {v.value: set(s) for v, s in new.tls.cipher_suites.items()} if new.tls else {}
    suites = {
        version: change
        for version in sorted(old_suites.keys() | new_suites.keys())
        if (change := _set_change(old_suites.get(version, set()), new_suites.get(version, set())))
    }
    return EndpointDiff(
        endpoint=new.id,
        grade=_change(_letter(old.grade), _letter(new.grade)),
        versions=_set_change(
            {v.value for v in old.tls.versions} if old.tls else set(),
            {v.value for v in new.tls.versions} if new.tls else set(),
        ),
        suites=suites,
        starttls=_change(old.stream and old.stream.starttls, new.stream and new.stream.starttls),
        certificate=_change(_leaf(old), _leaf(new)),
        trusted=_change(old.certificate and old.certificate.trusted, new.certificate and new.certificate.trusted),
        dane=_change(old.dane and old.dane.status, new.dane and new.dane.status),
        errors=_set_change(
            {f"{e.phase}: {e.reason.value}" for e in old.errors}, {f"{e.phase}: {e.reason.value}" for e in new.errors}
        ),
    )


def diff_service(old: Service, new: Service) -> ServiceDiff:
    old_endpoints = {endpoint.id: endpoint for endpoint in old.endpoints}
    new_endpoints = {endpoint.id: endpoint for endpoint in new.endpoints}
    changed = [
        diff
        for key in sorted(old_endpoints.keys() & new_endpoints.keys())
        if (diff := diff_endpoint(old_endpoints[key], new_endpoints[key])).changed
    ]
    return ServiceDiff(
        kind=new.kind,
        grade=_change(_letter(old.grade), _letter(new.grade)),
        score=_change(_score(old.grade), _score(new.grade)),
        endpoints=_set_change(set(old_endpoints), set(new_endpoints)),
        changed_endpoints=changed,
    )


def _findings(result: ScanResult) -> dict[tuple[str, str | None], Finding]:
    return {(f.id, f.service.value if f.service else None): f for f in result.findings}


def _refs(findings: dict[tuple[str, str | None], Finding], keys: set[tuple[str, str | None]]) -> list[FindingRef]:
    return [
        FindingRef(id=findings[key].id, severity=findings[key].severity.value, service=findings[key].service)
        for key in sorted(keys, key=lambda key: (key[0], key[1] or ""))
    ]


def diff_results(old: ScanResult, new: ScanResult) -> ScanDiff:
    """What changed from ``old`` to ``new`` (two results of the same domain, in either order of time)."""
    services = []
    present = {}
    for kind in ServiceKind:
        old_service, new_service = getattr(old.services, kind.value), getattr(new.services, kind.value)
        present[kind.value] = (old_service is not None, new_service is not None)
        if old_service is not None and new_service is not None:
            diff = diff_service(old_service, new_service)
            if diff.changed:
                services.append(diff)
    old_findings, new_findings = _findings(old), _findings(new)
    return ScanDiff(
        domain=new.domain,
        old_started_at=old.started_at,
        new_started_at=new.started_at,
        rules_version=_change(old.rules_version, new.rules_version),
        services=_set_change(
            {kind for kind, (was, _) in present.items() if was}, {kind for kind, (_, now) in present.items() if now}
        ),
        changed_services=services,
        findings_added=_refs(new_findings, new_findings.keys() - old_findings.keys()),
        findings_removed=_refs(old_findings, old_findings.keys() - new_findings.keys()),
    )


def describe(diff: ScanDiff) -> list[str]:
    """The diff as lines of text for people, most important first; empty when nothing changed."""
    lines: list[str] = []
    if diff.services:
        lines.append(f"services scanned: {diff.services}")
    for service in diff.changed_services:
        if service.grade:
            lines.append(f"{service.kind.value} grade: {service.grade}")
        elif service.score:
            lines.append(f"{service.kind.value} score: {service.score}")
        if service.endpoints:
            lines.append(f"{service.kind.value} endpoints: {service.endpoints}")
    lines += [f"finding added: {ref}" for ref in diff.findings_added]
    lines += [f"finding removed: {ref}" for ref in diff.findings_removed]
    for service in diff.changed_services:
        for endpoint in service.changed_endpoints:
            parts = [f"{name} {change}" for name, change in _endpoint_parts(endpoint) if change]
            lines.append(f"{endpoint.endpoint}: {'; '.join(parts)}")
    if lines and diff.rules_version:
        lines.append(f"rules: {diff.rules_version}")
    return lines


def _endpoint_parts(endpoint: EndpointDiff) -> list[tuple[str, object]]:
    return [
        ("grade", endpoint.grade),
        ("TLS versions", endpoint.versions),
        *((f"{version} suites", change) for version, change in endpoint.suites.items()),
        ("STARTTLS", endpoint.starttls),
        ("certificate", endpoint.certificate),
        ("trusted", endpoint.trusted),
        ("DANE", endpoint.dane),
        ("errors", endpoint.errors),
    ]
