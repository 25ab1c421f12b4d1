"""Shared work: one task per key, and a wait that would close a cycle fails instead of hanging."""

from __future__ import annotations

import asyncio

import pytest

from scanners.dns.tasks import WaitCycle, shared


async def test_concurrent_callers_share_one_run() -> None:
    cache: dict[str, asyncio.Task[int]] = {}
    runs = []

    async def make() -> int:
        runs.append(1)
        await asyncio.sleep(0)
        return 7

    assert await asyncio.gather(*(shared(cache, "k", make) for _ in range(5))) == [7] * 5
    assert runs == [1]


async def test_work_that_waits_for_itself_raises_instead_of_hanging() -> None:
    cache: dict[str, asyncio.Task[int]] = {}

    async def make() -> int:
        return await shared(cache, "k", make)

    with pytest.raises(WaitCycle):
        await asyncio.wait_for(shared(cache, "k", make), 5)


async def test_a_cycle_through_two_keys_raises_instead_of_hanging() -> None:
    cache: dict[str, asyncio.Task[int]] = {}

    async def a() -> int:
        await asyncio.sleep(0)
        return await shared(cache, "b", b)

    async def b() -> int:
        await asyncio.sleep(0)
        return await shared(cache, "a", a)

    with pytest.raises(WaitCycle):
        await asyncio.wait_for(shared(cache, "a", a), 5)
