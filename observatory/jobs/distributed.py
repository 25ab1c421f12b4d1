"""Scans on Celery workers: the task, the worker's context, and the executor the website submits to.

A task carries only the scan id: the worker reads the request from the database, runs the scan and
stores the result there (``runner.run_stored_scan``, the same path as in-process scans). Tasks are
acknowledged late and rejected when their worker is lost, so a worker killed mid-scan gives the task
back to the broker and another worker starts the scan over (``take_over``); a redelivered task for a
finished scan does nothing. Progress goes through Redis (``RedisEventBus``); so does the per-address
pacing, which then holds for the whole fleet rather than per process.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import Celery, signals
from kombu import Queue

from observatory.jobs.events import ProgressEvent
from observatory.jobs.executor import INTERRUPTED, SubmitError
from observatory.jobs.redis_events import RedisEventBus
from observatory.jobs.runner import run_stored_scan
from observatory.model import ScanRequest
from observatory.orchestrate import ScanOptions
from observatory.storage import Database, fail_scan, open_database
from observatory.storage.blocklist import blocking
from observatory.storage.queue import fail_interrupted, submit_scan
from observatory.storage.schedule import due_for_rescan, snapshot_stats
from scanners.connection import Limiter
from scanners.connection.shared_limits import SharedGates
from scanners.tls.templates import RedisTemplates

log = logging.getLogger(__name__)

SCAN_TASK = "observatory.scan"
REAP_TASK = "observatory.reap"
RESCAN_TASK = "observatory.rescan"
SNAPSHOT_TASK = "observatory.snapshot"
#: Separates sites sharing one broker and Redis: the queue, event keys and pacing keys carry it.
DEFAULT_NAMESPACE = "observatory"
#: Beyond the scan's own time limit: the soft limit lets the scan store what it has, the hard one ends
#: the process running it.
SOFT_MARGIN = 30.0
HARD_MARGIN = 60.0
#: A scan still ``running`` this long after its hard limit has no live worker: the reaper fails it.
REAP_GRACE = 60.0


def hard_limit(template: ScanOptions) -> float:
    return template.timeout + HARD_MARGIN


def redis_url_for(broker_url: str, redis_url: str | None) -> str:
    """Where progress events and fleet-wide pacing live: ``redis_url``, else a Redis broker itself."""
    if redis_url:
        return redis_url
    if broker_url.startswith(("redis://", "rediss://")):
        return broker_url
    raise ValueError("with a broker that is not Redis, give --redis URL for progress events and pacing")


def queue_name(namespace: str) -> str:
    return f"{namespace}.scans"


def make_celery(
    broker_url: str, *, namespace: str = DEFAULT_NAMESPACE, visibility_timeout: float | None = None
) -> Celery:
    """The Celery app, as the website (to send) and a worker (to run) both configure it."""
    app = Celery("observatory", broker=broker_url)
    app.conf.update(
        task_default_queue=queue_name(namespace),
        task_queues=[Queue(queue_name(namespace))],
        task_serializer="json",
        accept_content=["json"],
        # At-least-once: acknowledged when done, given back when the worker dies; one task at a time
        # per process so a crash loses (and redelivers) only the scan it was running.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # Redis redelivers an unacknowledged task after this long even if its worker lives: longer than
        # any scan may take, so only lost tasks come back.
        broker_transport_options={"visibility_timeout": int(visibility_timeout or 3600)},
    )
    return app


@dataclass
class WorkerContext:
    """What a worker process needs to run scans; built by ``observatory worker`` before it forks."""

    database_url: str | None
    template: ScanOptions
    redis_url: str
    namespace: str = DEFAULT_NAMESPACE
    #: Listed domains are scanned again when their newest scan is this old, at most ``rescan_batch`` per run.
    rescan_after: timedelta = timedelta(days=7)
    rescan_batch: int = 50
    #: Domains hosted on one endpoint share its TLS enumeration (kept in Redis for the whole fleet),
    #: each confirming it with its own hellos first.
    share_tls: bool = True
    database: Database | None = field(default=None, repr=False)
    events: RedisEventBus | None = field(default=None, repr=False)

    def open(self) -> None:
        """Per process (after fork): database engines and sockets must not be shared with the parent."""
        self.database = open_database(self.database_url)
        self.events = RedisEventBus(self.redis_url, prefix=f"{self.namespace}:scan-events")


_context: WorkerContext | None = None


@signals.worker_process_init.connect
def _open_in_child(**_kwargs: Any) -> None:
    if _context is not None:
        _context.open()


def configure_worker(app: Celery, context: WorkerContext) -> None:
    """Register the tasks with the time limits of this worker's scans."""
    global _context
    _context = context
    limit = hard_limit(context.template)
    app.conf.broker_transport_options = {"visibility_timeout": int(limit * 2)}

    @app.task(name=SCAN_TASK, bind=True, soft_time_limit=context.template.timeout + SOFT_MARGIN, time_limit=limit)
    def scan(task: Any, scan_id: int) -> str | None:
        return run_task(scan_id, redelivered=bool(task.request.delivery_info.get("redelivered")))

    @app.task(name=REAP_TASK)
    def reap() -> list[int]:
        return reap_stuck(_require().database, context.template)  # type: ignore[arg-type]

    @app.task(name=RESCAN_TASK)
    def rescan() -> list[int]:
        database = _require().database
        assert database is not None
        queued = queue_rescans(database, context, now=datetime.now(UTC))
        for scan_id in queued:
            app.send_task(SCAN_TASK, args=[scan_id], queue=queue_name(context.namespace))
        return queued

    @app.task(name=SNAPSHOT_TASK)
    def snapshot() -> str:
        database = _require().database
        assert database is not None
        with database.connection_errors(), database.session() as session:
            return snapshot_stats(session).generated_at.isoformat()

    del scan, reap, rescan, snapshot


def beat_schedule() -> dict[str, dict[str, Any]]:
    """The fleet's schedule (one worker runs it with ``--beat``): reap stuck scans every minute, look for
    domains due for a rescan every hour, snapshot the statistics every day."""
    return {
        "reap": {"task": REAP_TASK, "schedule": 60.0},
        "rescan": {"task": RESCAN_TASK, "schedule": 3600.0},
        "snapshot": {"task": SNAPSHOT_TASK, "schedule": 24 * 3600.0},
    }


def queue_rescans(database: Database, context: WorkerContext, *, now: datetime) -> list[int]:
    """Queue a new listed scan of each domain due (oldest first, bounded; blocked ones skipped)."""
    queued: list[int] = []
    with database.connection_errors(), database.session() as session:
        for due in due_for_rescan(session, older_than=now - context.rescan_after, limit=context.rescan_batch):
            if blocking(session, domain=due.domain) is not None:
                continue
            request = ScanRequest(domain=due.domain, kinds=list(due.kinds))
            submitted = submit_scan(session, request=request, listed=True, now=now)
            if submitted.created:
                queued.append(submitted.scan_id)
    return queued


def _require() -> WorkerContext:
    if _context is None:
        raise RuntimeError("this process is not an observatory worker")
    if _context.database is None:
        _context.open()
    return _context


def run_task(scan_id: int, *, redelivered: bool = False) -> str | None:
    """The scan task's body: run ``scan_id`` to its end in this process (with the fleet's pacing)."""
    context = _require()
    database, events = context.database, context.events
    assert database is not None
    assert events is not None

    async def run() -> str | None:
        shared = SharedGates(context.redis_url, prefix=f"{context.namespace}:pace:")
        limiter = Limiter(context.template.limiter, context.template.policy, shared=shared)
        templates = RedisTemplates.from_url(context.redis_url, prefix=f"{context.namespace}:tls:")
        try:
            # Late acknowledgement redelivers only tasks whose worker was lost: a scan found running is
            # that worker's, and starts over here.
            return await run_stored_scan(
                database,
                scan_id,
                context.template,
                events.publish,
                limiter,
                take_over=True,
                templates=templates if context.share_tls else None,
            )
        finally:
            await shared.aclose()
            await templates.aclose()

    log.info("scan #%d%s", scan_id, " (redelivered)" if redelivered else "")
    return asyncio.run(run())


def reap_stuck(database: Database, template: ScanOptions, now: datetime | None = None) -> list[int]:
    """Fail scans still running long after their hard limit: no worker is behind them any more."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=hard_limit(template) + REAP_GRACE)
    with database.connection_errors(), database.session() as session:
        return fail_interrupted(session, reason=INTERRUPTED, started_before=cutoff, now=now)


class CeleryExecutor:
    """The website's side: queued scans go to the broker; events come back through Redis."""

    def __init__(
        self,
        database: Database,
        template: ScanOptions,
        broker_url: str,
        redis_url: str,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> None:
        self.database = database
        self.template = template
        self.queue = queue_name(namespace)
        self.app = make_celery(broker_url, namespace=namespace, visibility_timeout=hard_limit(template) * 2)
        self.events = RedisEventBus(redis_url, prefix=f"{namespace}:scan-events")

    async def start(self) -> None:
        failed = await asyncio.to_thread(reap_stuck, self.database, self.template)
        for scan_id in failed:
            log.warning("scan #%d was running past its hard limit with no worker: failed", scan_id)

    async def stop(self) -> None:
        await asyncio.to_thread(self.events.close)

    def submit(self, scan_id: int) -> None:
        try:
            self.app.send_task(
                SCAN_TASK, args=[scan_id], queue=self.queue, retry_policy={"max_retries": 2, "interval_start": 0.2}
            )
            self.events.publish(ProgressEvent(scan_id=scan_id, status="queued", step="queued", message="waiting"))
        except Exception as exc:  # broker or Redis down: the scan must not sit queued with no task behind it
            reason = f"the scan could not be handed to the workers ({type(exc).__name__}: {exc})"
            log.error("scan #%d: %s", scan_id, reason)
            with self.database.connection_errors(), self.database.session() as session:
                fail_scan(session, scan_id=scan_id, error=reason)
            raise SubmitError("The scanners cannot be reached right now; try again in a minute.") from exc


def send_scans(broker_url: str, scan_ids: list[int], namespace: str = DEFAULT_NAMESPACE) -> None:
    """Hand queued scans to the fleet (``observatory scan --from-file --broker``)."""
    app = make_celery(broker_url, namespace=namespace)
    with app.connection_for_write() as connection:
        for scan_id in scan_ids:
            app.send_task(SCAN_TASK, args=[scan_id], queue=queue_name(namespace), connection=connection)


def worker_argv(
    concurrency: int, *, namespace: str = DEFAULT_NAMESPACE, beat: bool = False, log_level: str = "info"
) -> list[str]:
    argv = ["worker", "--concurrency", str(concurrency), "--loglevel", log_level.upper(), "-Q", queue_name(namespace)]
    argv += ["--hostname", f"observatory-{os.getpid()}@%h"]
    if beat:
        argv.append("--beat")
    return argv
