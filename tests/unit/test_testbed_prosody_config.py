"""The testbed's Prosody config applies a snippet the way an admin edits the file.

Prosody 0.12.3 refuses a config that sets one global option twice, so an option the snippet sets
must replace the template's line for it, not follow it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.testbed.layout import XmppPorts
from tests.testbed.pki import Leaf
from tests.testbed.prosody import ProsodyConfig, render_config

SNIPPET = """-- a comment
tls_profile = "intermediate"
ssl = { protocol = "tlsv1_2+" }"""


def config(**knobs: object) -> ProsodyConfig:
    # render_config reads only the leaf's paths.
    leaf = Leaf("good", None, b"", Path("/c.pem"), Path("/k.pem"), Path("/chain.pem"), "", "", ())  # type: ignore[arg-type]
    return ProsodyConfig(name="t", ports=XmppPorts(1, 2, 3, 4), leaf=leaf, dns_resolver_port=5, **knobs)  # type: ignore[arg-type]


def global_section(text: str) -> str:
    return text.partition("VirtualHost")[0]


def test_a_snippet_replaces_the_lines_of_the_options_it_sets(tmp_path: Path) -> None:
    text = render_config(config(tls_profile="legacy", global_lua=(SNIPPET,)), tmp_path)
    section = global_section(text)
    assert SNIPPET in section
    assert re.findall(r"^(tls_profile|ssl) =.*$", section, re.MULTILINE) == ["tls_profile", "ssl"]
    assert 'tls_profile = "legacy"' not in text
    assert "c2s_require_encryption = true" in section  # options the snippet does not set stay


def test_without_a_snippet_the_knobs_are_rendered(tmp_path: Path) -> None:
    text = render_config(config(), tmp_path)
    assert 'certificate = "/chain.pem"' in text
    assert 'protocol = "tlsv1_2+"' in text
    bare = render_config(config(certificate_in_ssl=False, protocol=None), tmp_path)
    assert "ssl = {  }" in bare


def test_a_snippet_cannot_replace_a_multi_line_option(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="multi-line option 'unbound'"):
        render_config(config(global_lua=("unbound = {}",)), tmp_path)


@pytest.mark.skipif(shutil.which("luac") is None, reason="luac (installed with Prosody) is not available")
def test_the_rendered_config_is_lua(tmp_path: Path) -> None:
    path = tmp_path / "prosody.cfg.lua"
    path.write_text(render_config(config(global_lua=(SNIPPET,)), tmp_path))
    checked = subprocess.run(["luac", "-p", str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
