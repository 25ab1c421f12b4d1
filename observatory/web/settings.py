"""The website's settings: built by the ``observatory serve`` command (options and ``OBSERVATORY_*``
variables) or by a test, then handed to ``create_app``. Nothing is read at import time."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field

from observatory.orchestrate import ScanOptions
from observatory.storage.queue import SubmissionLimits
from scanners.policy import IPNetwork

DEFAULT_CONCURRENCY = 2
#: A domain scanned (or being scanned) this recently is not scanned again: the scan is shared.
DEFAULT_COOLDOWN_SECONDS = 600.0
#: Per-client and queue limits of a public site (a private one has none unless set).
PUBLIC_LIMITS = SubmissionLimits(per_client_active=2, per_client_hour=20, queue=100)
#: Requests larger than this are refused (the form and the API take a domain and two choices).
DEFAULT_MAX_BODY_BYTES = 16 * 1024
LOOPBACK_PROXIES: tuple[IPNetwork, ...] = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))


@dataclass(frozen=True)
class SiteSettings:
    #: SQLAlchemy URL; None: ``OBSERVATORY_DATABASE_URL``, else the per-user SQLite file (as the CLI).
    database_url: str | None = None
    #: Scans run at once by the in-process executor.
    concurrency: int = DEFAULT_CONCURRENCY
    cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS
    #: The scan engine's settings (resolver, trust anchors, extra roots, pacing, time limits); the domain
    #: and kinds of each scan come from its request.
    scan: ScanOptions = field(default_factory=lambda: ScanOptions(domain="site.invalid"))
    #: Signs the anti-CSRF tokens of the forms. A random one per process unless set (then a restart
    #: only costs a visitor one re-submitted form).
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    #: Upgrade a database named by URL on start-up (the per-user SQLite file always is).
    migrate: bool = False
    site_name: str = "XMPP Observatory"
    #: Scans listed on the front page and /recent.
    recent_limit: int = 25
    #: Public mode: the scan engine refuses non-global addresses (``scan.policy``), and these limits hold.
    public: bool = False
    limits: SubmissionLimits = field(default_factory=SubmissionLimits)
    #: Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed; any other peer's are ignored.
    trusted_proxies: tuple[IPNetwork, ...] = LOOPBACK_PROXIES
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: Celery broker (``redis://…`` or ``amqp://…``): scans go to ``observatory worker`` processes instead
    #: of running here. ``redis_url`` carries their progress events (default: a Redis broker itself).
    broker_url: str | None = None
    redis_url: str | None = None
    #: Separates sites sharing a broker and Redis; workers must use the same.
    namespace: str = "observatory"
