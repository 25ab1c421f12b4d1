"""Compliance profiles: Mozilla's server-side TLS guidelines, BCP 195, NIST SP 800-52r2, BSI TR-02102-2.

Each profile is a data file in ``data/`` (TOML, validated by ``definition.Profile``); ``evaluate``
judges a scan result against some of them, endpoint by endpoint, listing every violated item and
every item it could not evaluate (and why). Pure: no I/O but reading the bundled files.

    results = evaluate(result, ["mozilla-intermediate"])
    result = with_profiles(result, ["bcp195"])   # the same result with ``profiles`` filled in
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Sequence
from importlib import resources

from observatory.model import ProfileResult, ScanResult
from observatory.profiles.definition import Profile
from observatory.profiles.evaluate import evaluate_profile

__all__ = ["Profile", "UnknownProfile", "available", "evaluate", "profile", "with_profiles"]


class UnknownProfile(ValueError):
    pass


@functools.cache
def available() -> dict[str, Profile]:
    """Every bundled profile by id, in a stable order (file name)."""
    folder = resources.files(__package__).joinpath("data")
    profiles: dict[str, Profile] = {}
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if not item.name.endswith(".toml"):
            continue
        loaded = Profile.model_validate(tomllib.loads(item.read_text(encoding="utf-8")))
        if loaded.id in profiles:
            raise ValueError(f"profile {loaded.id} is defined twice")
        profiles[loaded.id] = loaded
    return profiles


def profile(name: str) -> Profile:
    try:
        return available()[name]
    except KeyError:
        raise UnknownProfile(f"no profile {name!r}; known: {', '.join(available())}") from None


def evaluate(result: ScanResult, names: Sequence[str]) -> list[ProfileResult]:
    """Judge ``result`` (facts and their analyses) against the named profiles, in the order given."""
    return [evaluate_profile(profile(name), result) for name in dict.fromkeys(names)]


def with_profiles(result: ScanResult, names: Sequence[str]) -> ScanResult:
    """``result`` with its ``profiles`` replaced by the named ones (unchanged when none is named)."""
    if not names:
        return result
    return result.model_copy(update={"profiles": evaluate(result, names)})
