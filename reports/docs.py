"""Reference documents generated from the code's own tables, so they cannot drift from it:
``docs/grading.md`` from ``observatory.grading`` and ``docs/checks.md`` from the catalogue."""

from __future__ import annotations

from observatory import grading
from observatory.catalogue import SERVER_NAMES, SERVERS, SNIPPET_LANGUAGE, TESTBED_SERVERS, CatalogueEntry, catalogue


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def _bands(bands: tuple[tuple[int, int], ...], unit: str) -> list[list[str]]:
    rows = [[f"< {below} {unit}", str(points)] for below, points in bands]
    rows.append([f"≥ {bands[-1][0]} {unit}", "100"])
    return rows


def grading_markdown() -> str:
    entries = catalogue()
    lines = [
        "# Grading",
        "",
        f"Rules version **{grading.RULES_VERSION}**. Generated from `observatory/grading.py` by "
        "`observatory docs`; do not edit by hand.",
        "",
        "Every endpoint (kind × SRV target × port × address × STARTTLS/Direct TLS) is graded on its own. "
        "A service's grade (c2s, s2s) is its **worst** endpoint's: an attacker can steer peers to the "
        "weakest one, so every endpoint's grade is shown.",
        "",
        "## 1. Base score",
        "",
        f"Score = {grading.WEIGHTS['protocol']} % protocol + {grading.WEIGHTS['key_exchange']} % key exchange + "
        f"{grading.WEIGHTS['cipher']} % cipher strength, each 0–100. A zero in any category makes the score zero.",
        "",
        "**Protocol**: the mean of the best and the worst accepted version.",
        "",
        *_table(["version", "points"], [[v.value, str(p)] for v, p in grading.PROTOCOL_POINTS.items()]),
        "",
        "**Key exchange**: the weakest of the leaf key's size and every DHE group's size (same table as RSA); "
        "then at most "
        f"{grading.EXPORT_KX_POINTS} if an export suite is accepted, {grading.ANONYMOUS_KX_POINTS} if an "
        "anonymous one is.",
        "",
        *_table(["RSA/DSA key", "points"], _bands(grading.RSA_KEY_POINTS, "bits")),
        "",
        *_table(["EC key", "points"], _bands(grading.EC_KEY_POINTS, "bits")),
        "",
        "**Cipher strength**: the mean of the strongest and the weakest accepted suite's symmetric key.",
        "",
        *_table(["symmetric key", "points"], _bands(grading.CIPHER_POINTS, "bits")),
        "",
        "**Score → letter**",
        "",
        *_table(["score at least", "letter"], [[str(floor), letter] for floor, letter in grading.SCORE_BANDS]),
        "",
        "## 2. Caps",
        "",
        "Each finding below limits the endpoint's grade to at most the letter shown; the lowest cap wins. "
        "**T** (not trusted) replaces the letter and the report shows the grade the endpoint would have if "
        "its certificate were trusted; an endpoint that would get F anyway stays F.",
        "",
        *_table(
            ["finding", "title", "at most"],
            [[f"`{fid}`", entries[fid].title, letter] for fid, letter in grading.CAPS.items()],
        ),
        "",
        "## 3. A+ and A−",
        "",
        "* **A+**: an A with TLS 1.3, encryption enforced (STARTTLS `<required/>`, or Direct TLS) and no "
        "finding of severity low or above.",
        "* **A−**: an A with a finding of severity `low` (e.g. no TLS 1.3).",
        "* Direct TLS endpoints are never penalised for STARTTLS.",
        "",
        "## 4. Order of letters",
        "",
        "From best to worst: " + ", ".join(grading.ORDER) + ". An endpoint that could not be scanned has no "
        "grade (and an `endpoint.unreachable` finding); it does not improve the service's grade.",
        "",
    ]
    return "\n".join(lines)


def _proof(entry: CatalogueEntry, server: str) -> str:
    """Whether the snippet above was seen fixing the finding on a real server, and if not, why."""
    test = entry.proven.get(server)
    if test is None:
        return f"*Not proven on the testbed:* {entry.unproven[server]}"
    where = f"*Proven on {TESTBED_SERVERS.get(server, SERVER_NAMES[server])} in the testbed"
    c2s_only = entry.proven_c2s_only.get(server)
    if c2s_only is None:
        return f"{where}, on c2s and s2s* (`{test}`)."
    return f"{where}, on c2s* (`{test}`). *Not run on s2s:* {c2s_only}"


def checks_markdown() -> str:
    lines = [
        "# Checks",
        "",
        "Every finding the scanner can report. Generated from `observatory/catalogue/findings.toml` by "
        "`observatory docs`; do not edit by hand.",
        "",
    ]
    for entry in catalogue().values():
        shown_reasons: dict[str, list[str]] = {}
        cap = grading.CAPS.get(entry.id)
        lines += [
            f"## `{entry.id}`: {entry.title}",
            "",
            f"Severity **{entry.severity.value}**" + (f"; caps the grade at **{cap}**." if cap else "."),
            "",
            entry.why,
            "",
            f"**Fix:** {entry.fix}",
            "",
        ]
        for server in SERVERS:
            snippet, reason = entry.fix_for(server)
            if snippet is not None:
                lines += [f"{SERVER_NAMES[server]}:", "", f"```{SNIPPET_LANGUAGE[server]}", snippet, "```", ""]
                lines += [_proof(entry, server), ""]
            elif reason is not None:
                shown_reasons.setdefault(reason, []).append(server)
        for reason, servers in shown_reasons.items():
            names = "All three servers" if len(servers) == len(SERVERS) else ", ".join(SERVER_NAMES[s] for s in servers)
            lines += [f"*{names}: no configuration snippet.* {reason}", ""]
        if entry.references:
            lines += ["References: " + ", ".join(entry.references), ""]
    return "\n".join(lines)
