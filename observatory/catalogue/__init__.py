"""The findings catalogue: what each finding id means, why it matters and how to fix it.

The entries are data (``findings.toml``), validated here; the checks that emit them live in
``observatory.checks`` and the grade limits in ``observatory.grading``.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from observatory.model import Severity

#: Servers a configuration snippet may be written for.
SERVERS = ("prosody", "ejabberd", "openfire")
#: A ``not_applicable`` key that speaks for every server at once (e.g. a DNS change).
ALL_SERVERS = "all"
#: The language of each server's configuration, for code blocks.
SNIPPET_LANGUAGE = {"prosody": "lua", "ejabberd": "yaml", "openfire": "properties"}
#: How reports name each server.
SERVER_NAMES = {"prosody": "Prosody", "ejabberd": "ejabberd", "openfire": "Openfire"}
#: The servers of the testbed that proofs ran on, as a proof names them.
TESTBED_SERVERS = {"prosody": "Prosody 0.12", "ejabberd": "ejabberd 23.01"}


class CatalogueEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    severity: Severity
    title: str
    why: str
    fix: str
    references: list[str] = []
    #: Server → configuration that fixes the finding on that server.
    snippets: dict[str, str] = {}
    #: Server → why no configuration snippet can fix it there (a DNS change, an upgrade, a new
    #: certificate …); ``all`` speaks for every server without its own snippet or reason. Every
    #: server has a snippet or a reason; a test keeps it so.
    not_applicable: dict[str, str] = {}
    #: Server → the test (a pytest node id) that starts a real server showing the finding, applies
    #: this server's snippet as printed, restarts and sees the finding gone;
    #: tests/unit/judgment/test_snippet_proofs.py checks that each names a test that exists.
    proven: dict[str, str] = {}
    #: Server → why its snippet is not proven that way (the testbed's TLS library cannot show the
    #: finding, the fix is a DNS change or a new file, the server is not in the testbed …).
    unproven: dict[str, str] = {}
    #: Server (of ``proven``) → why its proof scanned client streams only (the finding is about client
    #: logins, the test does not scan s2s …). A proof without one was also seen on the s2s STARTTLS
    #: endpoint; tests/unit/judgment/test_snippet_proofs.py checks which is which.
    proven_c2s_only: dict[str, str] = {}

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        parts = value.split(".")
        if len(parts) < 2 or not all(part and part.replace("-", "").isalnum() and part.islower() for part in parts):
            raise ValueError(f"finding ids are dotted lower-case words, not {value!r}")
        return value

    @field_validator("snippets")
    @classmethod
    def _known_servers(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - set(SERVERS)
        if unknown:
            raise ValueError(f"snippets for unknown servers: {sorted(unknown)}")
        return value

    @field_validator("not_applicable")
    @classmethod
    def _known_reasons(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - {*SERVERS, ALL_SERVERS}
        if unknown:
            raise ValueError(f"not_applicable for unknown servers: {sorted(unknown)}")
        return value

    @model_validator(mode="after")
    def _snippet_or_reason(self) -> CatalogueEntry:
        both = set(self.snippets) & set(self.not_applicable)
        if both:
            raise ValueError(f"{self.id}: both a snippet and a not_applicable reason for {sorted(both)}")
        return self

    @model_validator(mode="after")
    def _every_snippet_proven_or_why_not(self) -> CatalogueEntry:
        without = (set(self.proven) | set(self.unproven)) - set(self.snippets)
        if without:
            raise ValueError(f"{self.id}: proven/unproven for servers without a snippet: {sorted(without)}")
        both = set(self.proven) & set(self.unproven)
        if both:
            raise ValueError(f"{self.id}: both proven and unproven for {sorted(both)}")
        unmarked = set(self.snippets) - set(self.proven) - set(self.unproven)
        if unmarked:
            raise ValueError(f"{self.id}: snippets neither proven nor unproven with a reason: {sorted(unmarked)}")
        for server, test in self.proven.items():
            if not test.startswith("tests/") or "::" not in test:
                raise ValueError(f"{self.id}: proven for {server} must name a test (path::name), not {test!r}")
        empty = [server for server, reason in self.unproven.items() if not reason.strip()]
        if empty:
            raise ValueError(f"{self.id}: unproven without a reason for {sorted(empty)}")
        not_proven = set(self.proven_c2s_only) - set(self.proven)
        if not_proven:
            raise ValueError(f"{self.id}: proven_c2s_only for servers that are not proven: {sorted(not_proven)}")
        empty = [server for server, reason in self.proven_c2s_only.items() if not reason.strip()]
        if empty:
            raise ValueError(f"{self.id}: proven_c2s_only without a reason for {sorted(empty)}")
        return self

    def fix_for(self, server: str) -> tuple[str | None, str | None]:
        """(snippet, reason there is none) for ``server``; both None when the catalogue says nothing."""
        if server in self.snippets:
            return self.snippets[server], None
        return None, self.not_applicable.get(server, self.not_applicable.get(ALL_SERVERS))


@functools.cache
def catalogue() -> dict[str, CatalogueEntry]:
    """Every entry by id, in file order."""
    raw = tomllib.loads(resources.files(__package__).joinpath("findings.toml").read_text(encoding="utf-8"))
    entries: dict[str, CatalogueEntry] = {}
    for item in raw["finding"]:
        entry = CatalogueEntry.model_validate(item)
        if entry.id in entries:
            raise ValueError(f"finding {entry.id} is in the catalogue twice")
        entries[entry.id] = entry
    return entries
