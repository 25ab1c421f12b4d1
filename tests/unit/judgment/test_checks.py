"""Each check on facts that have its problem and on facts that do not."""

from __future__ import annotations

import pytest

from observatory.checks import ENDPOINT_CHECKS, EndpointContext, all_check_ids
from scanners.base import ErrorReason, ProbeError, ServiceKind, Transport
from scanners.dns.facts import DnssecState, DnssecStatus, EndpointDnssec
from scanners.stream.facts import InjectionOutcome, StarttlsEnforcement, StarttlsInjection, StarttlsPolicy
from scanners.tls.facts import TlsVersion
from tests.unit.judgment.facts import MODERN_12, MODERN_13, endpoint, tls

all_check_ids()


def hits(ctx_endpoint, **extra) -> dict[str, object]:  # type: ignore[no-untyped-def]
    ctx = EndpointContext(domain="example.org", endpoint=ctx_endpoint, **extra)
    return {finding_id: outcome for finding_id, check in ENDPOINT_CHECKS.items() if (outcome := check(ctx))}


def test_a_strong_endpoint_has_no_finding_but_the_informational() -> None:
    assert hits(endpoint()) == {}


@pytest.mark.parametrize(
    ("version", "finding_id"),
    [
        (TlsVersion.SSL2, "tls.protocol.sslv2"),
        (TlsVersion.SSL3, "tls.protocol.sslv3"),
        (TlsVersion.TLS10, "tls.protocol.tls10"),
        (TlsVersion.TLS11, "tls.protocol.tls11"),
    ],
)
def test_old_versions(version: TlsVersion, finding_id: str) -> None:
    facts = tls(
        {version: ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"], TlsVersion.TLS12: MODERN_12, TlsVersion.TLS13: MODERN_13}
    )
    assert finding_id in hits(endpoint(tls_facts=facts))


def test_missing_versions() -> None:
    only12 = hits(endpoint(tls_facts=tls({TlsVersion.TLS12: MODERN_12})))
    assert "tls.protocol.no-tls13" in only12
    assert "tls.protocol.no-tls12" not in only12
    only13 = hits(endpoint(tls_facts=tls({TlsVersion.TLS13: MODERN_13})))
    assert "tls.protocol.no-tls12" in only13
    assert "tls.protocol.no-tls13" not in only13


@pytest.mark.parametrize(
    ("suite", "finding_id"),
    [
        ("TLS_RSA_WITH_NULL_SHA256", "tls.cipher.null"),
        ("TLS_DH_anon_WITH_AES_128_CBC_SHA", "tls.cipher.anonymous"),
        ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", "tls.cipher.export"),
        ("TLS_RSA_WITH_DES_CBC_SHA", "tls.cipher.export"),
        ("TLS_RSA_WITH_RC4_128_SHA", "tls.cipher.rc4"),
        ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "tls.cipher.3des"),
        ("TLS_RSA_WITH_AES_128_CBC_SHA", "tls.cipher.static-rsa"),
    ],
)
def test_weak_suites_name_the_suite(suite: str, finding_id: str) -> None:
    found = hits(endpoint(tls_facts=tls({TlsVersion.TLS12: [*MODERN_12, suite]})))
    assert found[finding_id] == suite


def test_no_forward_secrecy_and_no_aead() -> None:
    cbc_rsa = hits(endpoint(tls_facts=tls({TlsVersion.TLS12: ["TLS_RSA_WITH_AES_128_CBC_SHA"]})))
    assert {"tls.cipher.no-forward-secrecy", "tls.cipher.no-aead"} <= set(cbc_rsa)
    assert "tls.cipher.no-forward-secrecy" not in hits(endpoint())


def test_client_order_only_where_there_was_a_choice() -> None:
    found = hits(
        endpoint(tls_facts=tls({TlsVersion.TLS12: MODERN_12, TlsVersion.TLS13: MODERN_13}, server_order=False))
    )
    assert found["tls.cipher.client-order"] == "TLSv1.2, TLSv1.3"
    single = tls({TlsVersion.TLS13: ["TLS_AES_128_GCM_SHA256"]}, server_order=False)
    assert "tls.cipher.client-order" not in hits(endpoint(tls_facts=single))


def test_starttls_policies() -> None:
    assert "xmpp.starttls.optional" in hits(endpoint(starttls=StarttlsPolicy.OPTIONAL))
    assert "xmpp.starttls.absent" in hits(endpoint(starttls=StarttlsPolicy.ABSENT))
    direct = hits(endpoint(transport=Transport.DIRECTTLS, starttls=StarttlsPolicy.OPTIONAL))
    assert not {"xmpp.starttls.optional", "xmpp.starttls.absent"} & set(direct)


def test_plain_before_tls_is_named_and_other_mechanisms_are_a_lesser_finding() -> None:
    plain = hits(endpoint(starttls=StarttlsPolicy.OPTIONAL, before=["SCRAM-SHA-1", "PLAIN"]))
    assert plain["xmpp.sasl.plain-before-tls"] == "PLAIN"
    assert "xmpp.sasl.mechanisms-before-tls" not in plain
    scram = hits(endpoint(starttls=StarttlsPolicy.OPTIONAL, before=["SCRAM-SHA-1"]))
    assert scram["xmpp.sasl.mechanisms-before-tls"] == "SCRAM-SHA-1"


def test_sasl_after_tls() -> None:
    plain_only = hits(endpoint(after=["PLAIN"]))
    assert {"xmpp.sasl.no-scram", "xmpp.sasl.no-channel-binding"} <= set(plain_only)
    no_plus = hits(endpoint(after=["SCRAM-SHA-1", "PLAIN"]))
    assert "xmpp.sasl.no-scram" not in no_plus
    assert "xmpp.sasl.no-channel-binding" in no_plus
    # s2s streams authenticate with EXTERNAL or dialback: SCRAM is not expected there.
    assert "xmpp.sasl.no-scram" not in hits(endpoint(kind=ServiceKind.S2S, after=["EXTERNAL"]))


def test_enforcement_and_injection() -> None:
    accepted = StarttlsEnforcement(request="sasl:SCRAM-SHA-1", answer="challenge", accepted=True)
    refused = StarttlsEnforcement(request="sasl:SCRAM-SHA-1", answer="failure:encryption-required", accepted=False)
    assert "xmpp.starttls.not-enforced" in hits(endpoint(starttls=StarttlsPolicy.OPTIONAL, enforcement=accepted))
    assert "xmpp.starttls.not-enforced" not in hits(endpoint(starttls=StarttlsPolicy.OPTIONAL, enforcement=refused))
    processed = StarttlsInjection(injected="<iq/>", outcome=InjectionOutcome.ANSWERED_IN_TLS)
    ignored = StarttlsInjection(injected="<iq/>", outcome=InjectionOutcome.IGNORED)
    assert "xmpp.starttls.injection" in hits(endpoint(injection=processed))
    assert "xmpp.starttls.injection" not in hits(endpoint(injection=ignored))


def test_bogus_dnssec_names_the_rrset() -> None:
    bogus = DnssecStatus(state=DnssecState.BOGUS, reason="signature expired")
    facts = endpoint().model_copy(update={"dnssec": EndpointDnssec(srv=bogus)})
    assert hits(facts)["dns.dnssec.bogus"] == "SRV: signature expired"


def test_unreachable_endpoint() -> None:
    error = ProbeError(phase="connect", reason=ErrorReason.REFUSED, message="connection refused")
    facts = endpoint().model_copy(update={"tls": None, "stream": None, "errors": [error]})
    assert hits(facts) == {"endpoint.unreachable": "connect: refused: connection refused"}


def service_hits(service) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from observatory.checks import SERVICE_CHECKS, ServiceContext

    ctx = ServiceContext(domain="example.org", service=service)
    return {finding_id: outcome for finding_id, check in SERVICE_CHECKS.items() if (outcome := check(ctx))}


def test_service_checks_of_discovery() -> None:
    from observatory.model import ServiceFacts
    from scanners.dns.facts import ServiceStatus, SrvLookup, TargetFacts, TargetFlag

    insecure = DnssecStatus(state=DnssecState.INSECURE, reason="NSEC proves no DS")
    srv = SrvLookup(
        name="_xmpp-client._tcp.example.org",
        transport=Transport.STARTTLS,
        dnssec=insecure,
        records=[
            {"priority": 0, "weight": 0, "port": 5222, "target": "alias.example.org"},
            {"priority": 1, "weight": 0, "port": 5222, "target": "gone.example.org"},
        ],
    )  # type: ignore[list-item]
    service = ServiceFacts(
        kind=ServiceKind.C2S,
        status=ServiceStatus.SRV,
        srv=[srv],
        targets=[
            TargetFacts(name="alias.example.org", flags=[TargetFlag.CNAME]),
            TargetFacts(name="gone.example.org", flags=[TargetFlag.NO_ADDRESS]),
        ],
        endpoints=[endpoint()],
    )
    found = service_hits(service)
    assert found == {
        "dns.srv.target-cname": "alias.example.org",
        "dns.srv.target-no-address": "gone.example.org",
        "dns.directtls.absent": True,
        "dns.dnssec.insecure": "_xmpp-client._tcp.example.org",
    }
    fallback = service_hits(ServiceFacts(kind=ServiceKind.C2S, status=ServiceStatus.FALLBACK, endpoints=[endpoint()]))
    assert fallback == {"dns.srv.missing": True}


def test_the_fallback_host_is_no_srv_target() -> None:
    from observatory.model import ServiceFacts
    from scanners.dns.facts import ServiceStatus, SrvLookup, TargetFacts, TargetFlag

    no_srv = [
        SrvLookup(name=f"_{label}-client._tcp.example.org", transport=transport, rcode="NXDOMAIN")
        for label, transport in (("xmpp", Transport.STARTTLS), ("xmpps", Transport.DIRECTTLS))
    ]
    bare = TargetFacts(name="example.org", flags=[TargetFlag.NO_ADDRESS])
    nothing = ServiceFacts(kind=ServiceKind.C2S, status=ServiceStatus.NONE, srv=no_srv, targets=[bare])
    # RFC 6120 §3.2.2's fallback host is the domain itself: its own finding, never an SRV target's.
    assert service_hits(nothing) == {"dns.fallback.no-address": "example.org"}

    # Lookups that failed (the SRV question, or the address question) prove nothing.
    unanswered = [lookup.model_copy(update={"rcode": None, "error": "no answer"}) for lookup in no_srv]
    assert service_hits(nothing.model_copy(update={"srv": unanswered})) == {}
    failed = bare.model_copy(update={"flags": [TargetFlag.NO_ADDRESS, TargetFlag.LOOKUP_FAILED]})
    assert service_hits(nothing.model_copy(update={"targets": [failed]})) == {}

    # --connect to a name without address says nothing about what the domain publishes.
    named = TargetFacts(name="xmpp.example.net", flags=[TargetFlag.NO_ADDRESS, TargetFlag.CNAME])
    assert service_hits(ServiceFacts(kind=ServiceKind.C2S, status=ServiceStatus.CONNECT, targets=[named])) == {}


def test_key_exchange_parameters_and_extension_behaviour() -> None:
    from scanners.tls.facts import DhParameters, SessionTicketFacts, TlsExtensionFacts

    def dh(bits: int, **extra) -> DhParameters:  # type: ignore[no-untyped-def]
        return DhParameters(
            family="DHE_RSA",
            version=TlsVersion.TLS12,
            cipher_suite="TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
            prime_bits=bits,
            generator=2,
            generator_bits=2,
            public_key_bits=bits,
            prime=b"\x01",
            **extra,
        )

    extensions = TlsExtensionFacts(
        version=TlsVersion.TLS12,
        cipher_suite=MODERN_12[0],
        compression="DEFLATE",
        secure_renegotiation=False,
        extended_master_secret=False,
        session_ticket=True,
        status_request=False,
        heartbeat=True,
        heartbleed=True,
        heartbleed_overread=3,
    )
    weak = tls({TlsVersion.TLS12: MODERN_12}).model_copy(
        update={
            "dh_parameters": [dh(1024, common="nginx"), dh(512, composite=True)],
            "extensions": extensions,
            "fallback_scsv": False,
            "session_ticket": SessionTicketFacts(
                version=TlsVersion.TLS12, issued=True, lifetime_hint_seconds=30 * 86400
            ),
            "ocsp_staple_requested": True,
        }
    )
    found = hits(endpoint(tls_facts=weak))
    assert found["tls.dh.under-2048"] == "DHE_RSA 1024 bits"
    assert found["tls.dh.under-1024"] == "DHE_RSA 512 bits"
    assert found["tls.dh.common-prime"] == "nginx"
    assert {
        "tls.dh.composite",
        "tls.renegotiation.insecure",
        "tls.ems.absent",
        "tls.fallback-scsv.ignored",
        "tls.ocsp.no-staple",
    } <= set(found)
    assert found["tls.compression"] == "DEFLATE"
    assert found["tls.heartbleed"] == "the server echoed 3 bytes it was never sent"
    assert found["tls.session-ticket.long-lifetime"] == "lifetime hint 720 hours"
    # A server that behaves has none of them.
    good = tls({TlsVersion.TLS12: MODERN_12}).model_copy(
        update={
            "dh_parameters": [dh(2048, well_known="ffdhe2048")],
            "extensions": extensions.model_copy(
                update={
                    "compression": None,
                    "secure_renegotiation": True,
                    "extended_master_secret": True,
                    "heartbleed": False,
                }
            ),
            "fallback_scsv": True,
        }
    )
    assert not {
        fid
        for fid in hits(endpoint(tls_facts=good))
        if fid.startswith(("tls.dh", "tls.ren", "tls.ems", "tls.heart", "tls.comp"))
    }


def test_attack_findings() -> None:
    from scanners.tls.facts import RobotFacts, TlsExtensionFacts

    answers = {"valid": "alert 20", "wrong-first-bytes": "alert 51", "zero-in-wrong-place": "alert 47",
               "no-zero-separator": "alert 47", "wrong-version": "alert 20"}  # fmt: skip
    extensions = TlsExtensionFacts(
        version=TlsVersion.TLS12,
        cipher_suite=MODERN_12[0],
        secure_renegotiation=True,
        extended_master_secret=True,
        session_ticket=False,
        status_request=False,
        heartbeat=False,
        ccs_injection=True,
    )
    bad = tls({TlsVersion.TLS12: MODERN_12, TlsVersion.TLS13: MODERN_13}).model_copy(
        update={
            "extensions": extensions,
            "robot": RobotFacts(version=TlsVersion.TLS12, vulnerable=True, oracle="strong", answers=answers),
            "client_renegotiation": True,
            "downgrade_sentinel": False,
        }
    )
    found = hits(endpoint(tls_facts=bad))
    assert (
        found["tls.ccs-injection"]
        == "a ChangeCipherSpec before the key exchange was taken (the next record failed its MAC)"
    )
    assert found["tls.robot"].startswith("strong oracle over TLSv1.2 (valid: alert 20, wrong-first-bytes: alert 51")
    assert found["tls.renegotiation.client-initiated"] is True
    assert found["tls.downgrade-sentinel.absent"] is True
    # Refused, all alike, not accepted, present; or not observed at all: no finding.
    for update in (
        {"extensions": extensions.model_copy(update={"ccs_injection": False}),
         "robot": RobotFacts(version=TlsVersion.TLS12, vulnerable=False, answers=dict.fromkeys(answers, "alert 20")),
         "client_renegotiation": False, "downgrade_sentinel": True},
        {"extensions": extensions.model_copy(update={"ccs_injection": None}),
         "robot": RobotFacts(version=TlsVersion.TLS12, vulnerable=None, answers=answers),
         "client_renegotiation": None, "downgrade_sentinel": None},
    ):  # fmt: skip
        good = hits(endpoint(tls_facts=bad.model_copy(update=update)))
        assert not {"tls.ccs-injection", "tls.robot", "tls.renegotiation.client-initiated",
                    "tls.downgrade-sentinel.absent"} & set(good)  # fmt: skip
