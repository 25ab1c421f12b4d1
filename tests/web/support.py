"""Stored scans for the site's tests: real rows through the repository, as a finished scan leaves them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from observatory.model import Finding, ScanResult, Severity
from observatory.storage import open_database, save_result
from observatory.storage.repository import SCANS
from scanners.base import ServiceKind
from scanners.stream.facts import StreamError
from tests.unit.storage.support import result_for

#: What a hostile server may put in a certificate subject, a stream error or a finding detail.
HOSTILE = '<script>alert("owned")</script><img src=x onerror=alert(1)>'


def store(url: str, result: ScanResult, *, listed: bool = True) -> int:
    with open_database(url, migrate=True) as database, database.session() as session:
        scan_id = save_result(session, result=result)
        if not listed:
            session.execute(update(SCANS).where(SCANS.c.id == scan_id).values(listed=False))
            session.commit()
    return scan_id


def graded(domain: str = "example.org", *, minutes: int = 0) -> ScanResult:
    """A done scan with a real catalogue finding (TLS 1.0 accepted) and rules of today."""
    result = result_for(domain, minutes=minutes)
    finding = Finding(
        id="tls.protocol.tls10",
        severity=Severity.HIGH,
        service=ServiceKind.C2S,
        endpoints=[result.services.c2s.endpoints[0].id],  # type: ignore[union-attr]
        details=["TLS 1.0 accepted with 3 suites"],
    )
    return result.model_copy(update={"findings": [finding], "finished_at": datetime.now(UTC)})


def hostile(domain: str = "evil.example") -> ScanResult:
    """A result whose remote-controlled strings carry markup: a stream error text and a finding detail."""
    result = graded(domain)
    c2s = result.services.c2s
    assert c2s is not None
    first = c2s.endpoints[0]
    assert first.stream is not None
    stream = first.stream.model_copy(
        update={"stream_error": StreamError(condition="policy-violation", text=HOSTILE, phase="features")}
    )
    endpoint = first.model_copy(update={"stream": stream})
    service = c2s.model_copy(update={"endpoints": [endpoint, *c2s.endpoints[1:]]})
    finding = result.findings[0].model_copy(update={"details": [HOSTILE]})
    return result.model_copy(
        update={"services": result.services.model_copy(update={"c2s": service}), "findings": [finding]}
    )
