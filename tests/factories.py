"""Builders of result documents for tests of the pure parts (no network)."""

from __future__ import annotations

from datetime import UTC, datetime

from observatory.model import (
    CertificateAnalysis,
    DaneResult,
    DaneStatus,
    Endpoint,
    Finding,
    Grade,
    GradeCap,
    ScanRequest,
    ScanResult,
    Service,
    Services,
    Severity,
    endpoint_id,
)
from scanners.base import ErrorReason, ProbeError, ServiceKind, Transport
from scanners.dns.facts import (
    DnssecState,
    DnssecStatus,
    EndpointDnssec,
    ServiceStatus,
    SrvLookup,
    SrvRecord,
    TlsaLookup,
    TlsaRecord,
)
from scanners.stream.facts import StarttlsPolicy, StreamFacts, StreamFeatures, StreamHeader
from scanners.tls.facts import TlsFacts, TlsVersion

SECURE = DnssecStatus(state=DnssecState.SECURE)


def make_endpoint(
    kind: ServiceKind = ServiceKind.C2S,
    transport: Transport = Transport.STARTTLS,
    address: str = "192.0.2.10",
    port: int = 5222,
) -> Endpoint:
    target = "xmpp.example.org"
    return Endpoint(
        id=endpoint_id(kind, transport, target, port, address),
        kind=kind,
        target=target,
        port=port,
        address=address,
        transport=transport,
        priority=0,
        weight=5,
        stream=StreamFacts(
            header=StreamHeader(id="abc123", from_="example.org", version="1.0", lang="en"),
            starttls=StarttlsPolicy.REQUIRED if transport is Transport.STARTTLS else StarttlsPolicy.NOT_APPLICABLE,
            features_before_tls=StreamFeatures(raw="<stream:features/>"),
            features_after_tls=StreamFeatures(sasl_mechanisms=["SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"]),
        ),
        tls=TlsFacts(
            versions=[TlsVersion.TLS12, TlsVersion.TLS13],
            cipher_suites={
                TlsVersion.TLS12: ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"],
                TlsVersion.TLS13: ["TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"],
            },
            server_order={TlsVersion.TLS12: True, TlsVersion.TLS13: False},
            certificate_chain=[b"\x30\x82\x01\x00fake-der"],
            connections=12,
            duration_seconds=0.8,
        ),
        dnssec=EndpointDnssec(srv=SECURE, address=SECURE, tlsa=SECURE),
        tlsa=TlsaLookup(
            name=f"_{port}._tcp.{target}",
            records=[TlsaRecord(usage=3, selector=1, matching_type=1, data="ab" * 32)],
            dnssec=SECURE,
        ),
        grade=Grade(letter="A", score=90, caps=[GradeCap(grade="A", reason="no TLS 1.3 in server order")]),
        certificate=CertificateAnalysis(trusted=True, identity_matches=True, matched_identity="DNS-ID:example.org"),
        dane=DaneResult(status=DaneStatus.VALID),
    )


def make_result() -> ScanResult:
    c2s = make_endpoint()
    direct = make_endpoint(transport=Transport.DIRECTTLS, port=5223)
    failed = make_endpoint(address="2001:db8::10").model_copy(
        update={
            "stream": None,
            "tls": None,
            "grade": None,
            "certificate": None,
            "dane": None,
            "errors": [ProbeError(phase="connect", reason=ErrorReason.TIMEOUT, message="no answer within 10 s")],
        }
    )
    s2s = make_endpoint(kind=ServiceKind.S2S, port=5269)
    return ScanResult(
        domain="example.org",
        started_at=datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC),
        finished_at=datetime(2026, 11, 25, 12, 0, 9, tzinfo=UTC),
        request=ScanRequest(domain="example.org", kinds=[ServiceKind.C2S, ServiceKind.S2S]),
        rules_version="2026.1",
        services=Services(
            c2s=Service(
                kind=ServiceKind.C2S,
                status=ServiceStatus.SRV,
                srv=[
                    SrvLookup(
                        name="_xmpp-client._tcp.example.org",
                        transport=Transport.STARTTLS,
                        rcode="NOERROR",
                        records=[SrvRecord(priority=0, weight=5, port=5222, target="xmpp.example.org")],
                        dnssec=SECURE,
                    )
                ],
                endpoints=[c2s, direct, failed],
                grade=Grade(letter="A"),
            ),
            s2s=Service(kind=ServiceKind.S2S, endpoints=[s2s], grade=Grade(letter="A")),
        ),
        findings=[
            Finding(id="tls.example", severity=Severity.LOW, service=ServiceKind.C2S, endpoints=[c2s.id]),
        ],
    )
