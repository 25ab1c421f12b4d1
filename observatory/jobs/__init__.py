"""Running stored scans: the executor interface the website submits to, progress events, and the one
function every executor uses to run a scan by id.

* ``events``: progress events by scan id (publish, subscribe, replay for late subscribers).
* ``executor``: the interface (submit a scan id; its events) and ``LocalExecutor``, asyncio tasks in
  the website's own process.
* ``runner``: load a queued scan's request, run it, store the result or the failure.
"""

from observatory.jobs.events import EventBus, LocalEventBus, ProgressEvent
from observatory.jobs.executor import Executor, LocalExecutor, SubmitError
from observatory.jobs.runner import options_for, run_stored_scan

__all__ = [
    "EventBus",
    "Executor",
    "LocalEventBus",
    "LocalExecutor",
    "ProgressEvent",
    "SubmitError",
    "options_for",
    "run_stored_scan",
]
