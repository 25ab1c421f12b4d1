"""The result model: round trips, the facts/judgments split, and reading older documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from observatory.document import DocumentError, load_facts, load_result
from observatory.model import FORMAT_VERSION, Endpoint, EndpointFacts, ScanFacts, ScanResult
from reports.json import render_json
from tests.factories import make_result

DATA = Path(__file__).parent.parent / "data"


def test_json_round_trip_is_lossless() -> None:
    result = make_result()
    assert load_result(render_json(result)) == result


def test_json_exposes_the_fields_later_issues_name() -> None:
    endpoint = json.loads(render_json(make_result()))["services"]["c2s"]["endpoints"][0]
    assert endpoint["stream"]["starttls"] == "required"
    assert endpoint["tls"]["versions"] == ["TLSv1.2", "TLSv1.3"]
    assert endpoint["tls"]["cipher_suites"]["TLSv1.3"] == ["TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"]
    assert endpoint["tls"]["server_order"] == {"TLSv1.2": True, "TLSv1.3": False}
    assert endpoint["certificate"]["trusted"] is True
    assert endpoint["dane"]["status"] == "valid"
    assert endpoint["stream"]["header"]["from"] == "example.org"
    assert endpoint["id"] == "c2s/starttls/xmpp.example.org/192.0.2.10:5222"


def test_certificate_der_is_base64_without_line_breaks() -> None:
    chain = json.loads(render_json(make_result()))["services"]["c2s"]["endpoints"][0]["tls"]["certificate_chain"]
    assert chain == ["MIIBAGZha2UtZGVy"]


def test_ipv6_endpoint_id_brackets_the_address() -> None:
    ids = [e.id for e in make_result().services.c2s.endpoints]  # type: ignore[union-attr]
    assert "c2s/starttls/xmpp.example.org/[2001:db8::10]:5222" in ids


def test_to_facts_drops_every_judgment_and_keeps_every_fact() -> None:
    result = make_result()
    facts = result.to_facts()
    dumped = facts.model_dump(mode="json")
    assert type(facts) is ScanFacts
    assert "rules_version" not in dumped
    assert "findings" not in dumped
    endpoint = dumped["services"]["c2s"]["endpoints"][0]
    assert {"grade", "certificate", "dane", "posh"}.isdisjoint(endpoint)
    assert "grade" not in dumped["services"]["c2s"]
    assert endpoint["tls"]["versions"] == ["TLSv1.2", "TLSv1.3"]
    assert endpoint["tlsa"]["records"][0]["data"] == "ab" * 32
    failed = dumped["services"]["c2s"]["endpoints"][2]
    assert failed["errors"][0]["reason"] == "timeout"
    # Re-judging starts from facts only: the facts of a result equal the facts read back from storage.
    assert load_facts(render_json(result)) == facts
    assert load_facts(facts.model_dump_json()) == facts


def test_judgment_fields_are_exactly_the_declared_ones() -> None:
    assert set(Endpoint.model_fields) - set(EndpointFacts.model_fields) == {"grade", "certificate", "dane", "posh"}
    assert set(ScanResult.model_fields) - set(ScanFacts.model_fields) == {"rules_version", "findings", "profiles"}


def test_models_are_frozen_and_refuse_unknown_keys() -> None:
    document = json.loads(render_json(make_result()))
    document["services"]["c2s"]["endpoints"][0]["tls"]["versoins"] = []
    with pytest.raises(DocumentError, match="versoins"):
        load_result(document)
    with pytest.raises(ValueError, match="frozen"):
        make_result().domain = "other.org"  # type: ignore[misc]


def test_a_document_of_format_1_0_still_loads() -> None:
    # Given a document written by format 1.0 (kept in the repository, never regenerated)
    stored = (DATA / "result-format-1.0.json").read_text()
    # When it is read by this version
    result = load_result(stored)
    # Then every part is there
    assert result.format_version == FORMAT_VERSION
    assert result.services.c2s is not None
    assert len(result.services.c2s.endpoints) == 3
    assert result.services.c2s.endpoints[0].tls is not None
    assert result.services.c2s.endpoints[0].tls.certificate_chain == [b"\x30\x82\x01\x00fake-der"]


@pytest.mark.parametrize(
    ("version", "message"),
    [("99.0", "newer than this scanner"), ("1.99", "newer than this scanner"), ("x", "MAJOR.MINOR")],
)
def test_unreadable_versions_are_refused_with_a_reason(version: str, message: str) -> None:
    document = json.loads(render_json(make_result()))
    document["format_version"] = version
    with pytest.raises(DocumentError, match=message):
        load_result(document)


@pytest.mark.parametrize(
    ("data", "message"),
    [("{not json", "not JSON"), ("[1, 2]", "JSON object"), ("{}", "no format_version")],
)
def test_garbage_is_a_document_error(data: str, message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        load_result(data)


def test_committed_schema_is_current() -> None:
    from reports.json import render_schema

    committed = (Path(__file__).parents[2] / "docs" / "result-schema.json").read_text()
    assert committed == render_schema(), "regenerate with: observatory schema > docs/result-schema.json"
