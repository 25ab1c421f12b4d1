"""The grading table: base score, caps, A+/A−, T, and the service's worst endpoint."""

from __future__ import annotations

import pytest

from observatory.grading import CAPS, ORDER, Scores, grade_endpoint, grade_service, letter_for_score, score, worst
from observatory.model import Finding, Grade, Severity
from scanners.base import Transport
from scanners.stream.facts import StarttlsPolicy
from scanners.tls.facts import TlsVersion
from tests.unit.judgment.facts import MODERN_12, MODERN_13, strong_tls, tls


def finding(finding_id: str, severity: Severity = Severity.MEDIUM) -> Finding:
    return Finding(id=finding_id, severity=severity)


def grade(
    findings: list[Finding],
    *,
    transport: Transport = Transport.STARTTLS,
    tls_facts=None,  # type: ignore[no-untyped-def]
    starttls: StarttlsPolicy = StarttlsPolicy.REQUIRED,
) -> Grade | None:
    return grade_endpoint(
        tls=tls_facts if tls_facts is not None else strong_tls(),
        transport=transport,
        starttls=starttls,
        certificate=None,
        findings=findings,
    )


@pytest.mark.parametrize(
    ("points", "letter"),
    [(100, "A"), (80, "A"), (79, "B"), (65, "B"), (50, "C"), (35, "D"), (20, "E"), (19, "F"), (0, "F")],
)
def test_score_bands(points: int, letter: str) -> None:
    assert letter_for_score(points) == letter


def test_a_zero_category_zeroes_the_total() -> None:
    assert Scores(protocol=100, key_exchange=0, cipher=100).total == 0
    assert Scores(protocol=100, key_exchange=90, cipher=90).total == 93


def test_protocol_score_is_mean_of_best_and_worst() -> None:
    facts = tls({TlsVersion.TLS10: ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"], TlsVersion.TLS12: MODERN_12})
    scores = score(facts, None)
    assert scores is not None
    assert scores.protocol == 95
    assert scores.cipher == (80 + 100) // 2


def test_strong_endpoint_gets_a_plus() -> None:
    result = grade([])
    assert result is not None
    assert result.letter == "A+"
    assert result.score == 96  # AES-128 among the suites: cipher score (100 + 80) / 2


def test_a_plus_needs_tls13_and_enforced_encryption() -> None:
    no13 = grade([], tls_facts=tls({TlsVersion.TLS12: MODERN_12}))
    assert no13 is not None
    assert no13.letter == "A"
    assert "TLS 1.3" in no13.caps[-1].reason
    direct = grade([], transport=Transport.DIRECTTLS, starttls=StarttlsPolicy.NOT_APPLICABLE)
    assert direct is not None
    assert direct.letter == "A+"


def test_low_findings_make_a_minus() -> None:
    result = grade([finding("tls.protocol.no-tls13", Severity.LOW)], tls_facts=tls({TlsVersion.TLS12: MODERN_12}))
    assert result is not None
    assert result.letter == "A-"


@pytest.mark.parametrize(("finding_id", "letter"), sorted((k, v) for k, v in CAPS.items() if v != "T"))
def test_every_cap_limits_the_grade(finding_id: str, letter: str) -> None:
    result = grade([finding(finding_id)])
    assert result is not None
    assert ORDER.index(result.letter) >= ORDER.index(letter)  # type: ignore[arg-type]
    assert any(cap.finding == finding_id for cap in result.caps)


def test_untrusted_gives_t_with_the_grade_it_would_have() -> None:
    result = grade([finding("cert.untrusted", Severity.HIGH), finding("tls.protocol.tls10")])
    assert result is not None
    assert result.letter == "T"
    assert result.if_trusted == "B"


def test_t_does_not_hide_an_f() -> None:
    result = grade([finding("cert.untrusted", Severity.HIGH), finding("dane.mismatch", Severity.CRITICAL)])
    assert result is not None
    assert result.letter == "F"
    assert result.if_trusted == "F"


def test_no_tls_is_f_and_an_unscanned_endpoint_has_no_grade() -> None:
    empty = tls({})
    absent = grade(
        [finding("xmpp.starttls.absent", Severity.CRITICAL)], tls_facts=empty, starttls=StarttlsPolicy.ABSENT
    )
    assert absent is not None
    assert absent.letter == "F"
    assert grade([], tls_facts=empty) is None


def test_service_grade_is_the_worst_endpoint() -> None:
    graded = [Grade(letter="A+"), Grade(letter="B"), None, Grade(letter="A")]
    service = grade_service(graded)
    assert service is not None
    assert service.letter == "B"
    assert grade_service([None]) is None
    assert worst(["T", "F"]) == "F"
    assert worst(["A", "T"]) == "T"


def test_modern_13_only_suites_are_scored() -> None:
    facts = tls({TlsVersion.TLS13: MODERN_13})
    assert score(facts, None) == Scores(protocol=100, key_exchange=100, cipher=90)
