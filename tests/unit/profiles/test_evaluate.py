"""The profile evaluator: each profile against fact sets built to pass or fail it, and the edge cases."""

from __future__ import annotations

import pytest

from observatory.model import ComplianceStatus, ProfileResult
from observatory.profiles import UnknownProfile, available, evaluate, profile
from scanners.base import ErrorReason, ProbeError, Transport
from scanners.stream.facts import StarttlsEnforcement, StarttlsPolicy
from scanners.tls.facts import TlsVersion
from tests.unit.judgment.facts import endpoint, tls
from tests.unit.profiles.factsets import (
    AES_13,
    ECDSA_12,
    judged,
    leaf,
    modern_endpoint,
    old_endpoint,
    strong_endpoint,
    weak_endpoint,
    with_chain,
)

PASS, FAIL = ComplianceStatus.PASS, ComplianceStatus.FAIL
NOT_EVALUATED, NOT_APPLICABLE = ComplianceStatus.NOT_EVALUATED, ComplianceStatus.NOT_APPLICABLE

FACT_SETS = {"modern": modern_endpoint, "strong": strong_endpoint, "old": old_endpoint, "weak": weak_endpoint}


def one(profile_id: str, fact_set: str) -> ProfileResult:
    result = judged([FACT_SETS[fact_set]()], [profile_id])
    (judged_profile,) = result.profiles
    return judged_profile


def failed(result: ProfileResult) -> dict[str, list[str]]:
    (endpoint_result,) = result.endpoints
    return {o.item: o.details for o in endpoint_result.outcomes if o.status is FAIL}


# profile → (fact set it passes, fact set it fails, the items that must be among the failures)
EXPECTED = {
    "mozilla-modern": (
        "modern",
        "strong",
        {"versions": ["accepts TLSv1.2"]},
    ),
    "mozilla-intermediate": (
        "strong",
        "old",
        {
            "versions": ["accepts TLSv1.0"],
            "suites.tls12": ["TLSv1.2: TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_AES_128_CBC_SHA"],
        },
    ),
    "mozilla-old": (
        "old",
        "strong",
        {
            "server-order": ["follows the client's order with TLSv1.2, TLSv1.3"],
            "certificate.key": ["EC key of 256 bits on secp256r1; allowed: RSA"],
        },
    ),
    "bcp195": (
        "strong",
        "weak",
        {
            "versions": ["accepts TLSv1.0"],
            "suites.forbidden": ["rc4: TLS_RSA_WITH_RC4_128_SHA"],
            "forward-secrecy": ["no accepted suite has forward secrecy"],
            "certificate.key": ["RSA key of 1024 bits (at least 2048 wanted)"],
            "certificate.signature": ["CN=example.org: sha1WithRSAEncryption"],
            "strict-tls": ["STARTTLS is optional"],
        },
    ),
    "nist-800-52r2": (
        "strong",
        "weak",
        {
            "versions": ["accepts TLSv1.0"],
            "suites.tls10-12": ["TLSv1.2: TLS_RSA_WITH_RC4_128_SHA, TLS_RSA_WITH_3DES_EDE_CBC_SHA"],
        },
    ),
    "bsi-tr-02102-2": (
        "strong",
        "old",
        {"certificate.key": ["RSA key of 2048 bits (at least 3000 wanted)"], "versions": ["accepts TLSv1.0"]},
    ),
}


def test_every_profile_has_expectations() -> None:
    assert set(EXPECTED) == set(available())


@pytest.mark.parametrize("profile_id", sorted(EXPECTED))
def test_profile_passes_its_strong_fact_set(profile_id: str) -> None:
    # Given facts that meet the profile, when judged, then it passes and no item fails at all
    result = one(profile_id, EXPECTED[profile_id][0])
    assert result.status is PASS, failed(result)
    assert failed(result) == {}
    assert result.edition == profile(profile_id).edition


@pytest.mark.parametrize("profile_id", sorted(EXPECTED))
def test_profile_fails_its_weak_fact_set_naming_every_violation(profile_id: str) -> None:
    _, weak, expected = EXPECTED[profile_id]
    result = one(profile_id, weak)
    assert result.status is FAIL
    assert result.endpoints[0].status is FAIL
    violations = failed(result)
    for item, details in expected.items():
        assert violations.get(item) == details, (item, violations)


def test_weak_set_fails_every_profile_on_every_certificate_and_version_item() -> None:
    result = judged([weak_endpoint()], list(available()))
    for judged_profile in result.profiles:
        violations = failed(judged_profile)
        assert {"certificate.key", "certificate.signature", "certificate.trusted"} <= set(violations), judged_profile.id
        assert "versions" in violations or "suites.tls10-12" in violations, judged_profile.id


def test_unobserved_facts_are_not_evaluated_with_a_reason_never_passed() -> None:
    result = one("bcp195", "strong")
    outcomes = {o.item: o for o in result.endpoints[0].outcomes}
    # ECDHE and TLS 1.3 are accepted, but the groups were not recorded (nor the extension answers).
    assert outcomes["groups"].status is NOT_EVALUATED
    assert outcomes["groups"].details == ["the key exchange groups were not observed"]
    assert outcomes["extensions"].status is NOT_EVALUATED
    assert outcomes["extensions"].details == ["the TLS 1.2 extension answers were not observed"]
    assert outcomes["ocsp-stapling"].status is NOT_EVALUATED
    # No DHE and no CBC suite: those items have nothing to judge.
    assert outcomes["dh-size"].status is NOT_APPLICABLE
    assert outcomes["cbc-etm"].status is NOT_APPLICABLE
    # The endpoint still passes: only failed MUST items fail it.
    assert result.endpoints[0].status is PASS


def test_dh_size_is_not_evaluated_when_dhe_is_accepted() -> None:
    suites = {TlsVersion.TLS12: ["TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"], TlsVersion.TLS13: AES_13}
    facts = endpoint(tls_facts=with_chain(tls(suites), leaf("rsa2048")))
    (result,) = judged([facts], ["mozilla-old"]).profiles
    outcomes = {o.item: o for o in result.endpoints[0].outcomes}
    assert outcomes["dh-size"].status is NOT_EVALUATED
    assert "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" in outcomes["dh-size"].details[0]


def test_should_items_are_reported_without_failing() -> None:
    # TLS 1.2 only: BCP 195 wants TLS 1.3 (SHOULD) and nothing else is wrong.
    facts = endpoint(tls_facts=with_chain(tls({TlsVersion.TLS12: ECDSA_12}), leaf()))
    (result,) = judged([facts], ["bcp195"]).profiles
    assert failed(result) == {"tls13": ["does not accept TLSv1.3"]}
    assert result.status is PASS
    assert {item.id: item.level.value for item in result.items}["tls13"] == "should"


def test_endpoint_without_tls_fails_and_unscanned_endpoint_is_not_evaluated() -> None:
    plain = endpoint(tls_facts=tls({}), starttls=StarttlsPolicy.ABSENT)
    unscanned = endpoint(transport=Transport.DIRECTTLS).model_copy(
        update={
            "id": "c2s/directtls/xmpp.example.org/192.0.2.9:5223",
            "tls": None,
            "stream": None,
            "errors": [ProbeError(phase="connect", reason=ErrorReason.TIMEOUT, message="no answer within 10 s")],
        }
    )
    (result,) = judged([plain, unscanned], ["mozilla-intermediate"]).profiles
    first, second = result.endpoints
    assert first.status is FAIL
    assert failed(result.model_copy(update={"endpoints": [first]}))["versions"] == ["no TLS version was accepted"]
    assert second.status is NOT_EVALUATED
    assert second.outcomes == []
    assert second.notes == ["the endpoint was not scanned: no answer within 10 s"]
    assert result.status is FAIL


def test_a_profile_with_an_unscanned_endpoint_and_no_failure_is_not_evaluated() -> None:
    unscanned = modern_endpoint().model_copy(update={"id": "c2s/directtls/x/192.0.2.9:1", "tls": None})
    (result,) = judged([modern_endpoint(), unscanned], ["mozilla-modern"]).profiles
    assert [e.status for e in result.endpoints] == [PASS, NOT_EVALUATED]
    assert result.status is NOT_EVALUATED


def test_optional_starttls_that_the_server_does_not_enforce_says_so() -> None:
    enforcement = StarttlsEnforcement(request="sasl:SCRAM-SHA-1", answer="challenge", accepted=True)
    facts = strong_endpoint().model_copy(
        update={
            "stream": strong_endpoint().stream.model_copy(  # type: ignore[union-attr]
                update={"starttls": StarttlsPolicy.OPTIONAL, "enforcement": enforcement}
            )
        }
    )
    (result,) = judged([facts], ["mozilla-intermediate"]).profiles
    assert failed(result) == {"encryption-required": ["STARTTLS is optional and the server went on without TLS"]}


def test_server_order_not_determined_is_not_evaluated() -> None:
    suites = tls({TlsVersion.TLS12: ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA"]})
    facts = endpoint(tls_facts=with_chain(suites.model_copy(update={"server_order": {}}), leaf("rsa2048")))
    (result,) = judged([facts], ["mozilla-old"]).profiles
    outcome = next(o for o in result.endpoints[0].outcomes if o.item == "server-order")
    assert outcome.status is NOT_EVALUATED
    assert outcome.details == ["the order was not determined for TLSv1.2"]


def test_lifespan_boundary_is_inclusive() -> None:
    just = endpoint(tls_facts=with_chain(tls({TlsVersion.TLS13: AES_13}), leaf(days=90)))
    over = endpoint(tls_facts=with_chain(tls({TlsVersion.TLS13: AES_13}), leaf(days=91)))
    (at_limit,) = judged([just], ["mozilla-modern"]).profiles
    (beyond,) = judged([over], ["mozilla-modern"]).profiles
    assert "certificate.lifespan" not in failed(at_limit)
    assert failed(beyond)["certificate.lifespan"] == ["valid for 91 days (at most 90)"]


def test_missing_certificate_is_not_evaluated() -> None:
    facts = endpoint(tls_facts=tls({TlsVersion.TLS13: AES_13}))
    (result,) = judged([facts], ["mozilla-modern"]).profiles
    outcomes = {o.item: o.status for o in result.endpoints[0].outcomes}
    assert outcomes["certificate.key"] is NOT_EVALUATED
    assert outcomes["certificate.trusted"] is NOT_EVALUATED


def test_unknown_suites_are_noted_and_fail_allow_lists() -> None:
    facts = endpoint(tls_facts=with_chain(tls({TlsVersion.TLS13: ["UNKNOWN_0x13FF", *AES_13]}), leaf()))
    (result,) = judged([facts], ["mozilla-modern"]).profiles
    assert failed(result)["suites.tls13"] == ["TLSv1.3: UNKNOWN_0x13FF"]
    assert result.endpoints[0].notes == ["suites the registry does not know were not classified: UNKNOWN_0x13FF"]


def test_evaluate_keeps_the_order_asked_and_refuses_unknown_names() -> None:
    result = judged([strong_endpoint()], [])
    assert result.profiles == []
    assert [p.id for p in evaluate(result, ["bcp195", "mozilla-old", "bcp195"])] == ["bcp195", "mozilla-old"]
    with pytest.raises(UnknownProfile, match="no profile 'pci'"):
        evaluate(result, ["pci"])


def test_key_exchange_groups_are_judged_against_the_allow_list() -> None:
    def groups_outcome(profile_id: str, groups: dict[TlsVersion, list[str]]) -> tuple[ComplianceStatus, list[str]]:
        suites = {TlsVersion.TLS12: ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"],
                  TlsVersion.TLS13: AES_13}  # fmt: skip
        facts = with_chain(tls(suites).model_copy(update={"groups": groups}), leaf("rsa2048"))
        (result,) = judged([endpoint(tls_facts=facts)], [profile_id]).profiles
        outcome = next(o for o in result.endpoints[0].outcomes if o.item == "groups")
        return outcome.status, outcome.details

    modern = {TlsVersion.TLS13: ["X25519MLKEM768", "x25519", "secp256r1"], TlsVersion.TLS12: ["x25519", "secp256r1"]}
    assert groups_outcome("mozilla-intermediate", modern) == (PASS, [])
    # A hybrid counts as its classical half: BCP 195 names x25519, not the hybrid.
    assert groups_outcome("bcp195", modern) == (PASS, [])
    # NIST lists no X25519 (SP 800-52r2 predates its approval).
    assert groups_outcome("nist-800-52r2", modern) == (FAIL, ["accepts X25519MLKEM768, x25519"])
    old_curves = {TlsVersion.TLS12: ["secp256r1", "secp224r1", "sect163k1"]}
    assert groups_outcome("bcp195", old_curves) == (FAIL, ["accepts secp224r1, sect163k1"])
    # FFDHE groups are judged where the profile lists one (BSI), left to the DH size rule elsewhere.
    ffdhe = {TlsVersion.TLS12: ["secp256r1", "ffdhe2048"]}
    assert groups_outcome("mozilla-intermediate", ffdhe) == (PASS, [])
    assert groups_outcome("bsi-tr-02102-2", ffdhe) == (FAIL, ["accepts ffdhe2048"])


def test_legacy_extensions() -> None:
    from scanners.tls.facts import TlsExtensionFacts

    good = TlsExtensionFacts(version=TlsVersion.TLS12, cipher_suite="TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                             secure_renegotiation=True, extended_master_secret=True, session_ticket=False,
                             status_request=False, heartbeat=False, truncated_hmac=False)  # fmt: skip

    def outcomes(profile_id: str, **changes: object) -> dict[str, tuple[ComplianceStatus, list[str]]]:
        facts = tls({TlsVersion.TLS12: ECDSA_12}).model_copy(update={"extensions": good.model_copy(update=changes)})
        (result,) = judged([endpoint(tls_facts=with_chain(facts, leaf()))], [profile_id]).profiles
        return {o.item: (o.status, o.details) for o in result.endpoints[0].outcomes}

    assert outcomes("bcp195")["extensions"] == (PASS, [])
    assert outcomes("bcp195")["compression"] == (PASS, [])
    assert outcomes("bcp195", extended_master_secret=False)["extensions"] == (
        FAIL,
        ["extended_master_secret is not supported"],
    )
    assert outcomes("bcp195", compression="DEFLATE")["compression"] == (FAIL, ["TLS compression (DEFLATE) is chosen"])
    bsi = outcomes("bsi-tr-02102-2", heartbeat=True, truncated_hmac=True, secure_renegotiation=False)["extensions"]
    assert bsi == (FAIL, ["renegotiation_info is not supported", "heartbeat is answered", "truncated_hmac is answered"])
    # A document from before truncated_hmac was asked: the rest holds, but the rule cannot be passed.
    assert outcomes("nist-800-52r2", truncated_hmac=None)["extensions"][0] is NOT_EVALUATED
    assert outcomes("nist-800-52r2")["extensions"] == (PASS, [])
