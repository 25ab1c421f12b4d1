"""Every finding says how to fix it on Prosody, ejabberd and Openfire, or why configuration cannot."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from observatory.catalogue import ALL_SERVERS, SERVERS, CatalogueEntry, catalogue


def snippets(server: str) -> list[tuple[str, str]]:
    return [(entry.id, entry.snippets[server]) for entry in catalogue().values() if server in entry.snippets]


def test_every_entry_has_a_snippet_or_a_reason_for_every_server() -> None:
    missing = [
        f"{entry.id}: {server}"
        for entry in catalogue().values()
        for server in SERVERS
        if entry.fix_for(server) == (None, None)
    ]
    assert missing == [], "add a snippet or a not_applicable reason"


def test_reasons_are_sentences() -> None:
    for entry in catalogue().values():
        for server, reason in entry.not_applicable.items():
            assert server in (*SERVERS, ALL_SERVERS)
            assert reason[0].isupper(), (entry.id, server)
            assert reason.endswith("."), (entry.id, server)


def test_fix_for_prefers_the_servers_own_snippet_then_its_reason_then_all() -> None:
    entry = CatalogueEntry(
        id="x.y",
        severity="low",
        title="T",
        why="w",
        fix="f",
        snippets={"prosody": "a = 1"},
        not_applicable={"ejabberd": "E.", "all": "All."},
        unproven={"prosody": "Not run."},
    )
    assert entry.fix_for("prosody") == ("a = 1", None)
    assert entry.fix_for("ejabberd") == (None, "E.")
    assert entry.fix_for("openfire") == (None, "All.")


def test_a_snippet_and_a_reason_for_one_server_is_refused() -> None:
    both = {"snippets": {"openfire": "a = b"}, "not_applicable": {"openfire": "O."}}
    with pytest.raises(ValueError, match="both a snippet and a not_applicable reason"):
        CatalogueEntry.model_validate({"id": "x.y", "severity": "low", "title": "T", "why": "w", "fix": "f", **both})


@pytest.mark.skipif(shutil.which("luac") is None, reason="luac (installed with Prosody) is not available")
def test_prosody_snippets_are_valid_lua(tmp_path: Path) -> None:
    # Prosody's configuration file is Lua: every snippet must at least parse.
    for finding_id, snippet in snippets("prosody"):
        source = tmp_path / "snippet.lua"
        source.write_text(snippet + "\n")
        checked = subprocess.run(["luac", "-p", str(source)], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, (finding_id, checked.stderr)


def test_ejabberd_snippets_are_yaml_mappings_without_tabs() -> None:
    top_level = re.compile(r"[a-z_0-9]+:( .+)?")
    for finding_id, snippet in snippets("ejabberd"):
        assert "\t" not in snippet, finding_id
        lines = [line for line in snippet.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        assert lines, finding_id
        for line in lines:
            if not line.startswith(" "):
                assert top_level.fullmatch(line), (finding_id, line)
            else:
                assert re.fullmatch(r"( {2})+(- )?[a-z_0-9\"/].*", line), (finding_id, line)


def test_openfire_snippets_set_system_properties() -> None:
    for finding_id, snippet in snippets("openfire"):
        for line in snippet.splitlines():
            if line.strip() and not line.startswith("#"):
                assert re.fullmatch(r"(xmpp|sasl|user)\.[A-Za-z0-9_.-]+ = \S+", line), (finding_id, line)
