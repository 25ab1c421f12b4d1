"""Submitting a scan, for the form and the API alike: validate the domain, then share a running or
recent scan of it or queue a new one and hand its id to the executor.

Abuse controls for a public site (address policy, per-client limits, block list) slot in as
``Admission`` checks, run before anything is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request

from observatory.jobs import SubmitError
from observatory.model import ScanRequest
from observatory.storage.blocklist import blocking
from observatory.storage.queue import LimitReached, Submitted, submit_scan
from observatory.web.errors import SiteError
from scanners.base import ServiceKind
from scanners.dns.names import DomainError, normalize_domain

KINDS = {"c2s": (ServiceKind.C2S,), "s2s": (ServiceKind.S2S,), "both": (ServiceKind.C2S, ServiceKind.S2S)}
#: A domain name is at most 253 characters; IDNs may be longer before conversion, but not this long.
MAX_DOMAIN_INPUT = 1024

#: A check run before a submission is stored; it raises SiteError (e.g. 429) to refuse it.
Admission = Callable[[Request, str], None]


@dataclass(frozen=True)
class Submission:
    domain: str
    kinds: tuple[ServiceKind, ...]
    listed: bool


def parse_submission(domain: str, kinds: str, listed: bool) -> Submission:
    """Raises SiteError 422 with the reason when the domain or kinds cannot be scanned."""
    if len(domain) > MAX_DOMAIN_INPUT:
        raise SiteError(422, "The domain is too long.")
    try:
        normalized = normalize_domain(domain)
    except DomainError as exc:
        raise SiteError(422, str(exc)) from None
    if "." not in normalized:
        raise SiteError(422, f"{normalized!r} is not a full domain name (e.g. example.org).")
    if kinds not in KINDS:
        raise SiteError(422, f"Unknown service {kinds!r}: choose c2s, s2s or both.")
    return Submission(normalized, KINDS[kinds], listed)


def client_address(request: Request) -> str | None:
    """The visitor's address (the proxy headers were already weighed by ``ProxyHeaders``)."""
    return request.client.host if request.client else None


def refuse_blocked(request: Request, domain: str) -> None:
    site = request.app.state.site
    with site.database.connection_errors(), site.database.session() as session:
        entry = blocking(session, domain=domain)
    if entry is not None:
        because = f" ({entry.reason})" if entry.reason else ""
        raise SiteError(403, f"{domain} is not scanned here: its owner asked us not to{because}.")


def submit(request: Request, submission: Submission) -> Submitted:
    site = request.app.state.site
    for admission in site.admissions:
        admission(request, submission.domain)
    scan_request = ScanRequest(
        domain=submission.domain,
        kinds=list(submission.kinds),
        resolver=str(site.settings.scan.resolver) if site.settings.scan.resolver else None,
        trust_anchor=site.settings.scan.trust_anchors.source if site.settings.scan.trust_anchors else None,
        ca_file=site.settings.scan.ca_file,
    )
    try:
        with site.database.connection_errors(), site.database.session() as session:
            submitted = submit_scan(
                session,
                request=scan_request,
                listed=submission.listed,
                cooldown=timedelta(seconds=site.settings.cooldown_seconds),
                client=client_address(request),
                limits=site.settings.limits,
            )
    except LimitReached as exc:
        status = 429 if exc.scope == "client" else 503
        raise SiteError(status, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    if submitted.created:
        try:
            site.executor.submit(submitted.scan_id)
        except SubmitError as exc:
            raise SiteError(503, str(exc), headers={"Retry-After": "60"}) from None
    return submitted
