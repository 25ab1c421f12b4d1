"""The bundled profile files: they load, say what they encode, and name only real suites and versions."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import ValidationError

from observatory.profiles import available
from observatory.profiles.definition import Profile, SuiteClass
from observatory.profiles.evaluate import SUITE_CLASSES
from scanners.tls.registry import by_name

EXPECTED_EDITIONS = {
    "mozilla-modern": "6.0",
    "mozilla-intermediate": "6.0",
    "mozilla-old": "5.7",
    "bcp195": "RFC 9325 (November 2022), with RFC 10015 (July 2026)",
    "nist-800-52r2": "Revision 2 (August 2019)",
    "bsi-tr-02102-2": "2026-01",
}


def test_every_profile_of_the_issue_is_bundled_with_its_edition() -> None:
    assert {pid: p.edition for pid, p in available().items()} == EXPECTED_EDITIONS


@pytest.mark.parametrize("profile_id", sorted(EXPECTED_EDITIONS))
def test_profiles_explain_themselves(profile_id: str) -> None:
    loaded = available()[profile_id]
    assert loaded.summary
    assert loaded.provenance
    assert loaded.source
    # Every profile fixes the protocol versions and judges the certificate.
    kinds = {rule.kind for rule in loaded.rules}
    assert {"versions-allowed", "certificate-key", "certificate-trusted"} <= kinds
    for rule in loaded.rules:
        assert rule.title
        assert rule.reference


def test_mozilla_lists_match_the_published_guidelines() -> None:
    intermediate = {r.id: r for r in available()["mozilla-intermediate"].rules}
    old = {r.id: r for r in available()["mozilla-old"].rules}
    assert len(intermediate["suites.tls12"].suites) == 6  # type: ignore[union-attr]
    assert not any(s.startswith("TLS_DHE_") for s in intermediate["suites.tls12"].suites)  # type: ignore[union-attr]
    assert len(old["suites.tls10-12"].suites) == 26  # type: ignore[union-attr]
    assert old["dh-size"].bits == 1024  # type: ignore[union-attr]


def test_every_suite_class_a_rule_may_name_has_a_definition() -> None:
    assert set(SUITE_CLASSES) == set(get_args(SuiteClass))


def test_suite_names_are_registry_names() -> None:
    for loaded in available().values():
        for rule in loaded.rules:
            for name in getattr(rule, "suites", []):
                assert by_name(name) is not None, (loaded.id, name)


def test_a_profile_with_a_typo_is_refused() -> None:
    base = {
        "id": "x",
        "name": "x",
        "edition": "1",
        "source": "s",
        "summary": "s",
        "provenance": "p",
    }
    with pytest.raises(ValidationError, match="registry does not know"):
        Profile.model_validate(
            {
                **base,
                "rules": [
                    {
                        "id": "s",
                        "kind": "suites-allowed",
                        "title": "t",
                        "versions": ["TLSv1.2"],
                        "suites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265"],
                    }
                ],
            }
        )
    rule = {"id": "v", "kind": "versions-allowed", "title": "t", "versions": ["TLSv1.3"]}
    with pytest.raises(ValidationError, match="used twice"):
        Profile.model_validate({**base, "rules": [rule, rule]})
    with pytest.raises(ValidationError):
        Profile.model_validate({**base, "rules": [{"id": "v", "kind": "no-such-kind", "title": "t"}]})
