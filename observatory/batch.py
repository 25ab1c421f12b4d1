"""Many domains in one run, for operators (``observatory scan --from-file``): in this process with a few
scans at once sharing one limiter (a hosting provider's address sees one polite scanner, not N), or on
Celery workers through the broker. Results come back one by one, as each scan ends."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from observatory.model import ScanRequest, ScanResult
from observatory.orchestrate import ScanOptions, run_scan
from observatory.storage import Database, get_scan
from observatory.storage.queue import submit_scan
from observatory.storage.records import ScanStatus
from observatory.storage.repository import SCANS
from scanners.base import ServiceKind
from scanners.connection import Limiter
from scanners.dns.names import DomainError, normalize_domain
from scanners.tls.templates import MemoryTemplates

#: A domains file larger than this is refused (a list of domains, not a dump).
MAX_FILE_BYTES = 16 * 1024 * 1024


class DomainListError(ValueError):
    """The domains file cannot be used; the message names the file and lines."""


def read_domains(path: Path) -> list[str]:
    """One domain per line; blank lines and ``#`` comments skipped, duplicates dropped (first kept).
    Every bad line is named at once, before anything is scanned."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise DomainListError(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MiB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DomainListError(f"cannot read {path}: {exc}") from None
    domains: list[str] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            domain = normalize_domain(entry)
        except DomainError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if domain not in domains:
            domains.append(domain)
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise DomainListError(f"{path}: {shown}")
    if not domains:
        raise DomainListError(f"{path} names no domain")
    return domains


@dataclass(frozen=True)
class BatchItem:
    domain: str
    result: ScanResult | None
    #: Why there is no result (a failed scan on a worker).
    error: str | None = None


async def scan_locally(
    domains: Iterable[str],
    template: ScanOptions,
    kinds: tuple[ServiceKind, ...],
    concurrency: int = 2,
    *,
    share_tls: bool = True,
) -> AsyncIterator[BatchItem]:
    """Scan every domain here, ``concurrency`` at a time, one limiter for all; results as they end.

    ``share_tls``: an endpoint hosting several of the domains is enumerated once, and each further
    domain confirms that enumeration with its own hellos (``scanners.tls.shared``).
    """
    limiter = Limiter(template.limiter, template.policy)
    templates = MemoryTemplates() if share_tls else None
    waiting = list(domains)
    running: set[asyncio.Task[BatchItem]] = set()

    async def one(domain: str) -> BatchItem:
        options = dataclasses.replace(template, domain=domain, kinds=kinds)
        return BatchItem(domain, await run_scan(options, limiter=limiter, templates=templates))

    try:
        while waiting or running:
            while waiting and len(running) < concurrency:
                running.add(asyncio.create_task(one(waiting.pop(0))))
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                yield task.result()
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


def submit_all(
    database: Database, domains: Iterable[str], kinds: tuple[ServiceKind, ...], template: ScanOptions
) -> dict[int, str]:
    """Queue a scan per domain in the database (no cooldown: an operator asked); scan id → domain."""
    queued: dict[int, str] = {}
    with database.connection_errors(), database.session() as session:
        for domain in domains:
            request = ScanRequest(
                domain=domain,
                kinds=list(kinds),
                resolver=str(template.resolver) if template.resolver else None,
                trust_anchor=template.trust_anchors.source if template.trust_anchors else None,
                ca_file=template.ca_file,
            )
            submitted = submit_scan(session, request=request, listed=False, cooldown=timedelta(0))
            queued[submitted.scan_id] = domain
    return queued


def wait_all(
    database: Database, queued: dict[int, str], poll: float = 1.0, timeout: float | None = None
) -> Iterator[BatchItem]:
    """Yield a BatchItem per queued scan as it ends (done or failed), polling the database."""
    pending = dict(queued)
    deadline = None if timeout is None else time.monotonic() + timeout
    while pending:
        with database.connection_errors(), database.session() as session:
            # One query for the states of the pending scans; only those that ended are read in full.
            states = dict(
                session.execute(select(SCANS.c.id, SCANS.c.status).where(SCANS.c.id.in_(list(pending)))).all()
            )
            for scan_id in set(pending) - set(states):
                yield BatchItem(pending.pop(scan_id), None, "the scan was deleted")
            ended = [i for i, status in states.items() if status in (ScanStatus.DONE.value, ScanStatus.FAILED.value)]
            for scan_id in list(ended):
                found = get_scan(session, scan_id=scan_id)
                domain = pending.pop(scan_id)
                if found is None:
                    yield BatchItem(domain, None, "the scan was deleted")
                elif found.summary.status is ScanStatus.DONE:
                    yield BatchItem(domain, found.result)
                else:
                    yield BatchItem(domain, None, found.summary.error or "failed")
        if pending:
            if deadline is not None and time.monotonic() > deadline:
                for scan_id, domain in pending.items():
                    yield BatchItem(domain, None, f"scan #{scan_id} did not end in time")
                return
            time.sleep(poll)
