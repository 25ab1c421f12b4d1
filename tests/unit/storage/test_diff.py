"""What changed between two results: pure comparisons, no database."""

from __future__ import annotations

from observatory.storage.diff import describe, diff_results
from scanners.base import ErrorReason, ProbeError, ServiceKind
from tests.factories import make_endpoint, make_result
from tests.unit.storage.support import certificate_der, result_for, weaker

GOOD = "c2s/starttls/xmpp.example.org/192.0.2.10:5222"


def test_the_same_result_has_no_changes() -> None:
    diff = diff_results(make_result(), make_result())
    assert not diff.changed
    assert describe(diff) == []


def test_a_weaker_configuration_shows_grade_findings_versions_and_suites() -> None:
    old = result_for()
    diff = diff_results(old, weaker(old))
    assert diff.changed
    (c2s,) = diff.changed_services
    assert c2s.kind is ServiceKind.C2S
    assert (c2s.grade.old, c2s.grade.new) == ("A", "C")  # type: ignore[union-attr]
    (endpoint,) = c2s.changed_endpoints
    assert endpoint.endpoint == GOOD
    assert endpoint.versions.added == ["TLSv1.0"]
    assert endpoint.versions.removed == ["TLSv1.3"]
    assert endpoint.suites["TLSv1.0"].added == ["TLS_RSA_WITH_AES_128_CBC_SHA"]
    assert endpoint.suites["TLSv1.2"].added == ["TLS_RSA_WITH_AES_128_CBC_SHA"]
    assert endpoint.suites["TLSv1.3"].removed == ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"]
    assert [f.id for f in diff.findings_added] == ["tls.protocol.tls10"]
    assert [f.id for f in diff.findings_removed] == ["tls.example"]
    lines = describe(diff)
    assert lines[0] == "c2s grade: A → C"
    assert "finding added: tls.protocol.tls10 (high, c2s)" in lines
    assert "finding removed: tls.example (low, c2s)" in lines
    assert any(line.startswith(f"{GOOD}: grade A → C; TLS versions +TLSv1.0 −TLSv1.3") for line in lines)
    # The other direction is the mirror image.
    back = diff_results(weaker(old), old)
    assert back.changed_services[0].changed_endpoints[0].versions.added == ["TLSv1.3"]


def test_endpoints_added_and_removed() -> None:
    old = make_result()
    c2s = old.services.c2s
    assert c2s is not None
    extra = make_endpoint(address="192.0.2.99")
    new = old.model_copy(
        update={
            "services": old.services.model_copy(
                update={"c2s": c2s.model_copy(update={"endpoints": [*c2s.endpoints[1:], extra]})}
            )
        }
    )
    (service,) = diff_results(old, new).changed_services
    assert service.endpoints.added == [extra.id]
    assert service.endpoints.removed == [GOOD]
    assert f"c2s endpoints: +{extra.id} −{GOOD}" in describe(diff_results(old, new))


def test_a_new_certificate_and_new_errors_are_changes() -> None:
    old = make_result()
    c2s = old.services.c2s
    assert c2s is not None
    first = c2s.endpoints[0]
    assert first.tls is not None
    changed = first.model_copy(
        update={
            "tls": first.tls.model_copy(update={"certificate_chain": [certificate_der()]}),
            "errors": [ProbeError(phase="tls", reason=ErrorReason.TIMEOUT, message="slow")],
        }
    )
    new = old.model_copy(
        update={
            "services": old.services.model_copy(
                update={"c2s": c2s.model_copy(update={"endpoints": [changed, *c2s.endpoints[1:]]})}
            )
        }
    )
    (endpoint,) = diff_results(old, new).changed_services[0].changed_endpoints
    assert endpoint.certificate is not None
    assert endpoint.certificate.old != endpoint.certificate.new
    assert endpoint.errors.added == ["tls: timeout"]


def test_a_service_scanned_only_once_is_reported_and_not_compared() -> None:
    old = make_result()
    new = old.model_copy(update={"services": old.services.model_copy(update={"s2s": None})})
    diff = diff_results(old, new)
    assert diff.services.removed == ["s2s"]
    assert diff.changed
    assert "services scanned: −s2s" in describe(diff)


def test_a_new_rules_version_alone_is_not_a_change_but_is_noted_with_one() -> None:
    old = make_result()
    diff = diff_results(old, old.model_copy(update={"rules_version": "2027.1"}))
    assert diff.rules_version is not None
    assert not diff.changed
    assert describe(diff) == []
    regraded = weaker(old).model_copy(update={"rules_version": "2027.1"})
    assert describe(diff_results(old, regraded))[-1] == "rules: 2026.1 → 2027.1"


def test_the_diff_is_a_json_document() -> None:
    old = result_for()
    diff = diff_results(old, weaker(old))
    data = diff.model_dump(mode="json")
    assert data["changed_services"][0]["grade"] == {"old": "A", "new": "C"}
    assert type(diff).model_validate(data) == diff
