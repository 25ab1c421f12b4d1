"""POSH (RFC 7711, for XMPP RFC 7712): fetch ``/.well-known/posh/<service>.json`` and one reference.

A POSH file either lists certificate fingerprints or points (``url``) at another POSH file, which
must then list them: one reference is followed, never a second. HTTP redirects are recorded and not
followed (delegation is what ``url`` is for), and only HTTPS is used.
"""

from __future__ import annotations

import math

import httpx

from scanners.base import ErrorReason, ProbeError
from scanners.http.facts import PoshDocument, PoshFacts, PoshFingerprint, PoshService
from scanners.http.fetch import Fetcher, Retrieved
from scanners.http.hostmeta_parse import DocumentError, HostileXml, load_json

MAX_FINGERPRINTS = 64
_MAX_VALUE = 512


def posh_path(service: PoshService) -> str:
    return f"/.well-known/posh/{service.value}.json"


def _expires(value: object) -> int:
    # bool is an int in Python, but not a number of seconds in JSON.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DocumentError(f"'expires' is not a number of seconds: {value!r:.80}")
    if value < 0 or value != int(value):
        raise DocumentError(f"'expires' is not a whole, non-negative number of seconds: {value!r:.80}")
    return int(value)


def _fingerprints(value: object) -> list[PoshFingerprint]:
    if not isinstance(value, list):
        raise DocumentError("'fingerprints' is not an array")
    if len(value) > MAX_FINGERPRINTS:
        raise HostileXml(f"more than {MAX_FINGERPRINTS} fingerprint objects")
    found: list[PoshFingerprint] = []
    for entry in value:
        if not isinstance(entry, dict):
            raise DocumentError("a fingerprint is not a JSON object")
        for algorithm, digest in entry.items():
            if isinstance(digest, str) and len(digest) <= _MAX_VALUE and len(algorithm) <= 64:
                found.append(PoshFingerprint(algorithm=algorithm.lower(), value=digest.strip()))
    return found


def parse_posh(data: bytes) -> PoshDocument:
    """A POSH JSON object. ``expires`` is required; so is one of ``fingerprints`` or ``url``."""
    document = load_json(data)
    if not isinstance(document, dict):
        raise DocumentError(f"POSH document is a JSON {type(document).__name__}, not an object")
    if "expires" not in document:
        raise DocumentError("'expires' is missing")
    expires = _expires(document["expires"])
    url = document.get("url")
    if url is not None and (not isinstance(url, str) or len(url) > _MAX_VALUE):
        raise DocumentError("'url' is not a string")
    if "fingerprints" in document:
        return PoshDocument(fingerprints=_fingerprints(document["fingerprints"]), expires=expires, url=url)
    if url is None:
        raise DocumentError("neither 'fingerprints' nor 'url'")
    return PoshDocument(expires=expires, url=url)


def _parse(retrieved: Retrieved) -> tuple[PoshDocument | None, ProbeError | None]:
    if retrieved.body is None:
        return None, None
    try:
        return parse_posh(retrieved.body), None
    except HostileXml as exc:
        return None, ProbeError(phase="parse", reason=ErrorReason.HOSTILE_INPUT, message=str(exc))
    except DocumentError as exc:
        return None, ProbeError(phase="parse", reason=ErrorReason.PROTOCOL, message=str(exc))


def _reference_problem(url: str) -> str | None:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return f"'url' {url!r:.200} is not a URL"
    if parsed.scheme != "https" or not parsed.host:
        return f"'url' {url!r:.200} is not an https URL, not followed"
    return None


async def probe_posh(fetcher: Fetcher, service: PoshService) -> PoshFacts:
    url = fetcher.settings.url("https", fetcher.domain, posh_path(service))
    first = await fetcher.get(url, accept="application/json")
    document, problem = _parse(first)
    facts = PoshFacts(
        service=service,
        url=url,
        fetches=first.fetches,
        document=document,
        errors=[*first.errors, *([problem] if problem else [])],
    )
    if document is None or document.url is None or document.fingerprints:
        return facts
    refused = _reference_problem(document.url)
    if refused is not None:
        return facts.model_copy(
            update={"reference_errors": [ProbeError(phase="reference", reason=ErrorReason.PROTOCOL, message=refused)]}
        )
    second = await fetcher.get(document.url, accept="application/json")
    reference, problem = _parse(second)
    errors = [*second.errors, *([problem] if problem else [])]
    if reference is not None and reference.url is not None and not reference.fingerprints:
        message = f"it points on to {reference.url!r:.200}: a second reference is not followed"
        errors.append(ProbeError(phase="reference", reason=ErrorReason.PROTOCOL, message=message))
    return facts.model_copy(
        update={"reference_fetches": second.fetches, "reference_document": reference, "reference_errors": errors}
    )
