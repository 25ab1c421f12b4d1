"""Work done once per key and shared by every concurrent caller (queries, zone keys, targets)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: Which shared task each task is waiting for; walked before every wait to find a cycle.
_waiting: weakref.WeakKeyDictionary[asyncio.Task[object], asyncio.Task[object]] = weakref.WeakKeyDictionary()


class WaitCycle(RuntimeError):
    """Waiting for this result would wait for ourselves: hostile data made the work depend on itself."""


def _would_wait_for_itself(current: asyncio.Task[object], task: asyncio.Task[object]) -> bool:
    seen: set[int] = set()
    step: asyncio.Task[object] | None = task
    while step is not None and id(step) not in seen:
        if step is current:
            return True
        seen.add(id(step))
        step = _waiting.get(step)
    return False


async def shared(cache: dict[K, asyncio.Task[V]], key: K, make: Callable[[], Awaitable[V]]) -> V:
    """The result of ``make()`` for ``key``, started on first use and awaited by everyone after.

    The task is shielded: one caller giving up (cancelled) does not cancel the others' result.
    A wait that would close a cycle (a task waiting, directly or through others, for itself) raises
    ``WaitCycle`` instead of hanging until a timeout; a shield hides such a cycle from asyncio.
    """
    task = cache.get(key)
    if task is None:
        task = asyncio.ensure_future(make())
        cache[key] = task
    current = asyncio.current_task()
    if current is None or task.done():
        return await asyncio.shield(task)
    if _would_wait_for_itself(current, task):  # type: ignore[arg-type]
        raise WaitCycle(f"the work for {key} depends on itself")
    _waiting[current] = task  # type: ignore[assignment]
    try:
        return await asyncio.shield(task)
    finally:
        _waiting.pop(current, None)  # type: ignore[arg-type]
