"""Reading result documents back, including those written by older versions of the scanner.

A document carries ``format_version`` (``MAJOR.MINOR``). Older majors are brought forward by the
upgrade steps in ``_UPGRADES`` before validation; a newer major or minor is refused with a clear
message rather than half-read, because its meaning is unknown to this version.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from observatory.model import FORMAT_VERSION, ScanFacts, ScanResult

Document = dict[str, Any]
M = TypeVar("M", bound=BaseModel)

#: major version → function turning a document of that major into one of the next major.
_UPGRADES: dict[int, Callable[[Document], Document]] = {}


class DocumentError(ValueError):
    """A result document that cannot be read; the message says why in words a user can act on."""


def _parse_version(text: object) -> tuple[int, int]:
    if not isinstance(text, str):
        raise DocumentError("the document has no format_version: it is not a scan result of this tool")
    major, _, minor = text.partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        raise DocumentError(f"format_version {text!r} is not of the form MAJOR.MINOR") from None


def upgrade(document: Document) -> Document:
    """Bring a document of any older format up to the current one (without validating it)."""
    current = _parse_version(FORMAT_VERSION)
    version = _parse_version(document.get("format_version"))
    if version[0] > current[0] or (version[0] == current[0] and version[1] > current[1]):
        raise DocumentError(
            f"the document has format {version[0]}.{version[1]}, newer than this scanner's {FORMAT_VERSION}: "
            "upgrade xmpp-observatory to read it"
        )
    major = version[0]
    while major < current[0]:
        step = _UPGRADES.get(major)
        if step is None:
            raise DocumentError(f"format {major}.x can no longer be read by this version")
        document = step(document)
        major += 1
    return {**document, "format_version": FORMAT_VERSION}


def _load(model: type[M], data: str | bytes | Document) -> M:
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise DocumentError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DocumentError("a scan result is a JSON object")
    try:
        return model.model_validate(upgrade(data))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors()[:5])
        raise DocumentError(f"not a valid scan result: {problems}") from None


def load_result(data: str | bytes | Document) -> ScanResult:
    return _load(ScanResult, data)


def load_facts(data: str | bytes | Document) -> ScanFacts:
    """Read only the facts of a document, ignoring judgments (for re-grading under newer rules)."""
    if isinstance(data, dict) and "rules_version" in data:
        return load_result(data).to_facts()
    if isinstance(data, str | bytes):
        try:
            return load_facts(json.loads(data))
        except json.JSONDecodeError as exc:
            raise DocumentError(f"not JSON: {exc}") from None
    return _load(ScanFacts, data)
