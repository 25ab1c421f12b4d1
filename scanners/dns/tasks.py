"""Work done once per key and shared by every concurrent caller (queries, zone keys, targets)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


async def shared(cache: dict[K, asyncio.Task[V]], key: K, make: Callable[[], Awaitable[V]]) -> V:
    """The result of ``make()`` for ``key``, started on first use and awaited by everyone after.

    The task is shielded: one caller giving up (cancelled) does not cancel the others' result.
    """
    task = cache.get(key)
    if task is None:
        task = asyncio.ensure_future(make())
        cache[key] = task
    return await asyncio.shield(task)
