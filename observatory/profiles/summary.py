"""Profile results in words: a few lines for the text report and the command line."""

from __future__ import annotations

from collections.abc import Sequence

from observatory.model import ComplianceLevel, ComplianceStatus, ProfileResult
from observatory.profiles.definition import Profile

#: Failed items shown per endpoint before "… and N more".
MAX_ITEMS = 4


def _verdict(result: ProfileResult) -> str:
    judged = [e for e in result.endpoints if e.status is not ComplianceStatus.NOT_EVALUATED]
    failing = [e for e in result.endpoints if e.status is ComplianceStatus.FAIL]
    if result.status is ComplianceStatus.FAIL:
        return f"FAIL on {len(failing)} of {len(result.endpoints)} endpoints"
    if result.status is ComplianceStatus.PASS:
        return f"pass on all {len(judged)} endpoints"
    return f"not evaluated on {len(result.endpoints) - len(judged)} of {len(result.endpoints)} endpoints"


def describe(results: Sequence[ProfileResult]) -> list[str]:
    """A line per profile, then each failing endpoint with its failed MUST items."""
    lines = []
    for result in results:
        lines.append(f"{result.name} ({result.edition}): {_verdict(result)}")
        must = {item.id for item in result.items if item.level is ComplianceLevel.MUST}
        for endpoint in result.endpoints:
            failed = [o for o in endpoint.outcomes if o.status is ComplianceStatus.FAIL and o.item in must]
            if not failed:
                continue
            shown = [f"{o.item} ({'; '.join(o.details)})" if o.details else o.item for o in failed[:MAX_ITEMS]]
            more = f", and {len(failed) - MAX_ITEMS} more" if len(failed) > MAX_ITEMS else ""
            lines.append(f"  {endpoint.endpoint}: {', '.join(shown)}{more}")
        unevaluated = sorted(
            {o.item for e in result.endpoints for o in e.outcomes if o.status is ComplianceStatus.NOT_EVALUATED}
        )
        if unevaluated:
            lines.append(f"  not evaluated: {', '.join(unevaluated)}")
    return lines


def describe_profile(profile: Profile) -> list[str]:
    """What a profile checks: its source, then one line per item."""
    lines = [
        f"{profile.id}: {profile.name}, {profile.edition}",
        f"  source: {profile.source}",
        f"  {profile.summary}",
        f"  provenance: {profile.provenance}",
    ]
    for rule in profile.rules:
        reference = f"  [{rule.reference}]" if rule.reference else ""
        lines.append(f"  {rule.level.value.upper():6} {rule.id}: {rule.title}{reference}")
    return lines
