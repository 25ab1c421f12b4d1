"""The executor interface the website talks to, and the in-process one.

The website only ever calls ``submit(scan_id)`` and reads ``events``; where scans run (here, or on
Celery workers) stays behind this interface.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from observatory.jobs.events import EventBus, LocalEventBus, ProgressEvent
from observatory.jobs.runner import run_stored_scan
from observatory.orchestrate import ScanOptions
from observatory.storage import Database
from observatory.storage.queue import fail_interrupted, queued_scans
from scanners.connection import Limiter

log = logging.getLogger(__name__)

#: What a scan left running by a process that is gone is failed with.
INTERRUPTED = "interrupted: the process running this scan stopped before it finished; submit it again"


class SubmitError(Exception):
    """The scan could not be handed to whatever runs scans (e.g. the broker is down); it was failed with
    the reason, and the message says what the visitor can do."""


class Executor(Protocol):
    events: EventBus

    async def start(self) -> None:
        """Recover what a previous process left behind, then accept work."""

    async def stop(self) -> None:
        """Stop; scans cut short are failed with the reason."""

    def submit(self, scan_id: int) -> None:
        """Run queued scan ``scan_id`` (already stored as queued); SubmitError when it cannot."""


class LocalExecutor:
    """At most ``concurrency`` scans at once as asyncio tasks in this process, in submission order."""

    def __init__(self, database: Database, template: ScanOptions, concurrency: int = 2) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.database = database
        self.template = template
        self.concurrency = concurrency
        self.events = LocalEventBus()
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        #: One for all the scans of this process: per-address pacing and the address policy hold across them.
        self.limiter = Limiter(template.limiter, template.policy)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.events.bind(self._loop)
        with self.database.session() as session:
            failed = await asyncio.to_thread(fail_interrupted, session, reason=INTERRUPTED)
            waiting = await asyncio.to_thread(queued_scans, session)
        for scan_id in failed:
            log.warning("scan #%d was left running by a stopped process: failed", scan_id)
        for scan_id in waiting:
            self.submit(scan_id)
        self._workers = [asyncio.create_task(self._work(), name=f"scan-worker-{i}") for i in range(self.concurrency)]

    async def stop(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    def submit(self, scan_id: int) -> None:
        """Thread-safe: the website's routes call it from their thread pool."""
        self.events.publish(ProgressEvent(scan_id=scan_id, status="queued", step="queued", message="waiting"))
        if self._loop is None:  # not started yet: start() picks it up (and finds it queued in the database too)
            self._queue.put_nowait(scan_id)
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._queue.put_nowait(scan_id)
        else:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, scan_id)

    async def _work(self) -> None:
        while True:
            scan_id = await self._queue.get()
            try:
                await run_stored_scan(self.database, scan_id, self.template, self.events.publish, self.limiter)
            except asyncio.CancelledError:
                raise
            except Exception:  # never lose the worker to one scan
                log.exception("scan #%d: the runner failed", scan_id)
