"""The findings catalogue: what each finding id means, why it matters and how to fix it.

The entries are data (``findings.toml``), validated here; the checks that emit them live in
``observatory.checks`` and the grade limits in ``observatory.grading``.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

from pydantic import BaseModel, ConfigDict, field_validator

from observatory.model import Severity

#: Servers a configuration snippet may be written for.
SERVERS = ("prosody", "ejabberd", "openfire")


class CatalogueEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    severity: Severity
    title: str
    why: str
    fix: str
    references: list[str] = []
    snippets: dict[str, str] = {}

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
