"""The catalogue's ``proven`` marks are honest: each names a test that exists and that tests it.

The tests are found by importing their modules (nothing is started): a ``proven`` mark is
``path::function`` or ``path::function[id]``, where ``id`` is one of the function's parametrize ids.
A proof covers s2s exactly when its case scans s2s for the finding; every other one is
``proven_c2s_only``, with why.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

import pytest

from observatory.catalogue import CatalogueEntry, catalogue
from tests.integration import test_fix_snippets_testbed as snippet_tests

ENTRY = {"id": "x.y", "severity": "low", "title": "T", "why": "w", "fix": "f"}


def _test_function(node: str) -> tuple[Callable[..., Any], str | None]:
    path, _, name = node.partition("::")
    function_name, _, param = name.partition("[")
    module = importlib.import_module(".".join(PurePosixPath(path).with_suffix("").parts))
    function = getattr(module, function_name, None)
    assert callable(function), f"{node}: no test function {function_name} in {path}"
    return function, param.removesuffix("]") or None


def _parametrize_ids(function: Callable[..., Any]) -> set[str] | None:
    marks = [mark for mark in getattr(function, "pytestmark", []) if mark.name == "parametrize"]
    if not marks:
        return None
    assert len(marks) == 1, f"{function.__name__}: ids of stacked parametrize marks are not checked here"
    ids = marks[0].kwargs.get("ids")
    return set(ids) if ids is not None else {value for value in marks[0].args[1] if isinstance(value, str)}


def proven_marks() -> list[tuple[str, str, str]]:
    return [(entry.id, server, node) for entry in catalogue().values() for server, node in entry.proven.items()]


@pytest.mark.parametrize(("finding", "server", "node"), proven_marks())
def test_every_proven_mark_names_a_test_that_exists(finding: str, server: str, node: str) -> None:
    function, param = _test_function(node)
    ids = _parametrize_ids(function)
    if ids is None:
        assert param is None, f"{finding} ({server}): {node} is not parametrized"
    else:
        assert param in ids, f"{finding} ({server}): {node} has no case {param!r} (cases: {sorted(ids)})"


TABLES = [
    ("prosody", snippet_tests.CASES, snippet_tests.TEST_NODE, snippet_tests.test_prosody_snippet_fixes),
    (
        "ejabberd",
        snippet_tests.EJABBERD_CASES,
        snippet_tests.EJABBERD_TEST_NODE,
        snippet_tests.test_ejabberd_snippet_fixes,
    ),
]


@pytest.mark.parametrize(("server", "cases", "node", "test"), TABLES, ids=[table[0] for table in TABLES])
def test_every_snippet_case_is_marked_proven(
    server: str, cases: tuple[snippet_tests.WeakServer, ...], node: str, test: Callable[..., Any]
) -> None:
    function, _ = _test_function(node)
    assert function is test
    seen: dict[str, str] = {}
    for case in cases:
        for finding in case.findings:
            assert finding not in seen, f"{finding} is in the cases {seen[finding]} and {case.id}"
            seen[finding] = case.id
            entry = catalogue()[finding]
            assert server in entry.snippets, f"{finding} has no {server} snippet to prove"
            assert entry.proven.get(server) == f"{node}[{case.id}]", finding
        assert set(case.s2s) <= set(case.findings), f"{case.id}: s2s findings that are not the case's"


def s2s_proofs() -> set[tuple[str, str]]:
    """(finding, server) of every proof whose test also scans the s2s endpoint before and after."""
    return {(finding, server) for server, cases, _node, _test in TABLES for case in cases for finding in case.s2s}


@pytest.mark.parametrize(("finding", "server", "node"), proven_marks())
def test_a_proof_is_c2s_only_exactly_when_its_case_does_not_scan_s2s(finding: str, server: str, node: str) -> None:
    c2s_only = catalogue()[finding].proven_c2s_only.get(server)
    if (finding, server) in s2s_proofs():
        assert c2s_only is None, f"{finding} ({server}) is proven on s2s too, yet marked c2s only"
    else:
        assert c2s_only is not None, f"{finding} ({server}): {node} does not scan s2s; say why in proven_c2s_only"


def test_ejabberd_snippets_of_the_cases_map_onto_the_testbed() -> None:
    # Parsed as the integration test applies them: listeners by module and TLS mode, the rest top-level.
    for case in snippet_tests.EJABBERD_CASES:
        for finding in case.findings:
            options, listeners = snippet_tests.ejabberd_snippet(finding)
            assert "listen" not in options
            assert options or listeners, finding


def test_unproven_reasons_are_sentences() -> None:
    for entry in catalogue().values():
        for server, reason in [*entry.unproven.items(), *entry.proven_c2s_only.items()]:
            assert reason[0].isupper(), (entry.id, server)
            assert reason.endswith("."), (entry.id, server)


@pytest.mark.parametrize(
    ("marks", "message"),
    [
        ({"proven": {"ejabberd": "tests/a.py::t"}}, "without a snippet"),
        ({"unproven": {"openfire": "Not here."}}, "without a snippet"),
        ({"snippets": {"prosody": "a = 1"}}, "neither proven nor unproven"),
        ({"snippets": {"prosody": "a = 1"}, "proven": {"prosody": "it works"}}, "must name a test"),
        ({"snippets": {"prosody": "a = 1"}, "unproven": {"prosody": " "}}, "without a reason"),
        (
            {"snippets": {"prosody": "a = 1"}, "proven": {"prosody": "tests/a.py::t"}, "unproven": {"prosody": "X."}},
            "both proven and unproven",
        ),
        (
            {"snippets": {"prosody": "a = 1"}, "unproven": {"prosody": "X."}, "proven_c2s_only": {"prosody": "Y."}},
            "not proven",
        ),
        (
            {
                "snippets": {"prosody": "a = 1"},
                "proven": {"prosody": "tests/a.py::t"},
                "proven_c2s_only": {"prosody": ""},
            },
            "proven_c2s_only without a reason",
        ),
    ],
)
def test_marks_are_validated(marks: dict[str, dict[str, str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CatalogueEntry.model_validate({**ENTRY, **marks})


def test_a_snippet_with_a_proof_or_a_reason_is_accepted() -> None:
    entry = CatalogueEntry.model_validate(
        {
            **ENTRY,
            "snippets": {"prosody": "a = 1", "ejabberd": "a: 1"},
            "proven": {"prosody": "tests/a.py::t[x]"},
            "proven_c2s_only": {"prosody": "The test scans c2s only."},
            "unproven": {"ejabberd": "Not yet run on the testbed."},
        }
    )
    assert entry.proven == {"prosody": "tests/a.py::t[x]"}
    assert entry.proven_c2s_only == {"prosody": "The test scans c2s only."}
