"""Progress of stored scans, by scan id: what the website's live view shows.

An executor publishes; the website subscribes. A subscriber that comes late first gets what was
published so far for that scan (bounded), so a page opened mid-scan still lists the endpoints found.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

#: Events kept per scan for late subscribers; a scan publishes about three per endpoint.
HISTORY_PER_SCAN = 400
#: Scans whose events are kept at once (oldest forgotten first).
SCANS_REMEMBERED = 256

Status = Literal["queued", "running", "done", "failed"]


class ProgressEvent(BaseModel):
    """One step of a scan, or its end (``status`` ``done`` or ``failed``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scan_id: int
    status: Status
    #: ``observatory.orchestrate.EventKind`` while running; ``queued``, ``done``, ``failed`` otherwise.
    step: str
    message: str
    endpoint: str | None = None
    #: Probes finished and planned so far.
    done: int = 0
    total: int = 0
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def final(self) -> bool:
        return self.status in ("done", "failed")


class EventBus(Protocol):
    def publish(self, event: ProgressEvent) -> None:
        """Publish from any thread."""

    def subscribe(self, scan_id: int) -> AsyncIterator[ProgressEvent]:
        """The scan's events so far, then new ones until its final event."""

    def history(self, scan_id: int) -> list[ProgressEvent]:
        """The scan's events so far."""


class LocalEventBus:
    """Events of the scans run in this process, fanned out to subscribers in this process."""

    def __init__(self) -> None:
        self._history: OrderedDict[int, list[ProgressEvent]] = OrderedDict()
        self._subscribers: dict[int, set[asyncio.Queue[ProgressEvent]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop subscribers live on; ``publish`` from other threads hands events over to it."""
        self._loop = loop

    def publish(self, event: ProgressEvent) -> None:
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and running is not loop:
            loop.call_soon_threadsafe(self._deliver, event)
        else:
            self._deliver(event)

    def _deliver(self, event: ProgressEvent) -> None:
        kept = self._history.setdefault(event.scan_id, [])
        self._history.move_to_end(event.scan_id)
        if len(kept) >= HISTORY_PER_SCAN:
            del kept[1 : len(kept) - HISTORY_PER_SCAN // 2]  # keep the first event and the newest half
        kept.append(event)
        while len(self._history) > SCANS_REMEMBERED:
            self._history.popitem(last=False)
        for queue in self._subscribers.get(event.scan_id, ()):
            queue.put_nowait(event)

    def history(self, scan_id: int) -> list[ProgressEvent]:
        return list(self._history.get(scan_id, ()))

    async def subscribe(self, scan_id: int) -> AsyncIterator[ProgressEvent]:
        queue: asyncio.Queue[ProgressEvent] = asyncio.Queue()
        self._subscribers.setdefault(scan_id, set()).add(queue)
        try:
            for event in self.history(scan_id):
                yield event
                if event.final:
                    return
            while True:
                event = await queue.get()
                yield event
                if event.final:
                    return
        finally:
            subscribers = self._subscribers.get(scan_id)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[scan_id]
