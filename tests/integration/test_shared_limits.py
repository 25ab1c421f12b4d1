"""Fleet-wide pacing through Redis: separate worker processes, one loopback server that counts.

Redis is the tests' own server (tests/testbed/fixtures_redis.py; ``OBSERVATORY_TEST_REDIS_URL`` names
another). Every test uses its own key prefix and deletes its keys afterwards.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from scanners.base import ErrorReason, ServiceKind, Transport
from scanners.connection import Deadline, Endpoint, Limiter, LimiterSettings, ProbeFailure, open_prelude
from scanners.connection.shared_limits import SharedGates, gate_keys
from tests.testbed.ports import PortAllocator

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
#: The fleet's rules in the two-worker test, and how long the server keeps each connection: longer
#: than the gap times max_in_flight, so the gap alone would let a third connection in.
SETTINGS = LimiterSettings(max_in_flight=2, min_gap=0.05)
HOLD = 0.15
PER_WORKER = 12
#: Loopback scheduling jitter between the Redis clock's grant and the server's accept.
JITTER = 0.01


@pytest.fixture(scope="module")
def redis_url(redis_server: str) -> str:
    """The tests' own Redis (tests/testbed/fixtures_redis.py)."""
    return redis_server


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"observatory-test:pace:{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@dataclass
class CountingServer:
    """For every accepted connection: when (monotonic) and how many were open then, itself included.

    Each connection is kept ``hold`` seconds; then the client says ``bye`` and waits for ``ok``. The
    count drops before ``ok`` is sent, so it never includes a connection its client has let go of.
    """

    hold: float
    active: int = 0
    accepts: list[tuple[float, int]] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.active += 1
        self.accepts.append((time.monotonic(), self.active))
        try:
            try:
                await asyncio.sleep(self.hold)
                await reader.readuntil(b"bye")
            finally:
                self.active -= 1
            writer.write(b"ok")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def most_at_once(self) -> int:
        return max(count for _, count in self.accepts)

    def gaps(self) -> list[float]:
        times = [at for at, _ in self.accepts]
        return [later - earlier for earlier, later in itertools.pairwise(times)]


@pytest.fixture
async def counting_server() -> AsyncIterator[tuple[CountingServer, int]]:
    counter = CountingServer(hold=HOLD)
    server = await asyncio.start_server(counter.handle, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield counter, port


# --- what runs in the worker processes ----------------------------------------------------------------


async def _scan(port: int, domain: str, url: str, prefix: str) -> None:
    gates = SharedGates(url, prefix=prefix) if url != "-" else None
    limiter = Limiter(SETTINGS, shared=gates)

    async def one() -> None:
        target = Endpoint(ServiceKind.C2S, domain, HOST, port, Transport.DIRECTTLS)
        async with open_prelude(target, limiter, Deadline.after(60)) as (reader, writer, _):
            writer.write(b"bye")
            await writer.drain()
            assert await asyncio.wait_for(reader.readexactly(2), 30) == b"ok"

    try:
        await asyncio.gather(*(one() for _ in range(PER_WORKER)))
    finally:
        if gates is not None:
            await gates.aclose()


async def _hold_forever(url: str, prefix: str, lease: float) -> None:
    limiter = Limiter(LimiterSettings(max_in_flight=1, min_gap=0), shared=SharedGates(url, prefix=prefix, lease=lease))
    async with limiter.slot(HOST):
        sys.stdout.write("held\n")
        sys.stdout.flush()
        await asyncio.sleep(3600)


def worker_main(argv: list[str]) -> None:
    """``scan PORT DOMAIN URL|- PREFIX`` (after a ``go`` line on stdin) or ``hold URL PREFIX LEASE``."""
    if argv[0] == "scan":
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        sys.stdin.readline()
        asyncio.run(_scan(int(argv[1]), argv[2], argv[3], argv[4]))
    else:
        asyncio.run(_hold_forever(argv[1], argv[2], float(argv[3])))


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    code = "import sys; from tests.integration.test_shared_limits import worker_main; worker_main(sys.argv[1:])"
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        *args,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _expect_line(process: asyncio.subprocess.Process, line: bytes) -> None:
    assert process.stdout is not None
    got = await asyncio.wait_for(process.stdout.readline(), 30)
    if got.strip() != line:
        process.kill()
        _, err = await process.communicate()
        pytest.fail(f"the worker said {got!r}, not {line!r}; stderr:\n{err.decode(errors='replace')}")


async def _two_workers(port: int, url: str, prefix: str) -> None:
    """Two worker processes scan two domains on one address at the same moment."""
    workers = [await _spawn("scan", str(port), domain, url, prefix) for domain in ("one.example", "two.example")]
    try:
        for worker in workers:
            await _expect_line(worker, b"ready")
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write(b"go\n")
            await worker.stdin.drain()
        for worker in workers:
            _, err = await asyncio.wait_for(worker.communicate(), 60)
            assert worker.returncode == 0, err.decode(errors="replace")
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()


# --- tests ----------------------------------------------------------------------------------------------


async def test_two_workers_share_the_limits_of_one_address(
    redis_url: str, prefix: str, counting_server: tuple[CountingServer, int]
) -> None:
    server, port = counting_server
    await _two_workers(port, redis_url, prefix)

    assert len(server.accepts) == 2 * PER_WORKER
    assert server.most_at_once == SETTINGS.max_in_flight  # reached, never exceeded, by the fleet
    assert min(server.gaps()) >= SETTINGS.min_gap - JITTER
    leases, _ = gate_keys(prefix, HOST)
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.zcard(leases) == 0  # every lease released
    finally:
        client.close()


async def test_without_shared_gates_two_workers_exceed_the_limits(
    counting_server: tuple[CountingServer, int],
) -> None:
    """The contrast: the same run with a limiter per process lets both processes' slots in at once."""
    server, port = counting_server
    await _two_workers(port, "-", "-")

    assert len(server.accepts) == 2 * PER_WORKER
    assert server.most_at_once > SETTINGS.max_in_flight
    assert min(server.gaps()) < SETTINGS.min_gap - JITTER


async def test_a_killed_holders_slot_frees_after_its_lease(redis_url: str, prefix: str) -> None:
    lease = 1.0
    holder = await _spawn("hold", redis_url, prefix, str(lease))
    gates = SharedGates(redis_url, prefix=prefix, lease=lease)
    limiter = Limiter(LimiterSettings(max_in_flight=1, min_gap=0), shared=gates)
    try:
        await _expect_line(holder, b"held")
        # Renewed while its holder lives: still taken after more than one lease.
        await asyncio.sleep(1.5 * lease)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3), limiter.slot(HOST):
                pass
        holder.kill()  # SIGKILL: no release, no more renewals
        await holder.wait()
        killed = time.monotonic()
        async with asyncio.timeout(5 * lease), limiter.slot(HOST):
            freed = time.monotonic() - killed
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await gates.aclose()
    # The last renewal was at most lease/3 before the kill; the poll adds at most 50 ms.
    assert 2 / 3 * lease - 0.1 <= freed <= lease + 0.2


async def test_a_lease_is_released_on_cancellation_inside_the_slot(redis_url: str, prefix: str) -> None:
    async with SharedGates(redis_url, prefix=prefix) as gates:
        limiter = Limiter(LimiterSettings(max_in_flight=1, min_gap=0), shared=gates)
        entered = asyncio.Event()

        async def holder() -> None:
            async with limiter.slot(HOST):
                entered.set()
                await asyncio.sleep(3600)

        task = asyncio.create_task(holder())
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with asyncio.timeout(1), limiter.slot(HOST) as waited:
            assert waited < 0.5
        leases, _ = gate_keys(prefix, HOST)
        assert await gates._bind().client.zcard(leases) == 0


async def test_one_process_two_limiters_keep_the_gap(redis_url: str, prefix: str) -> None:
    """Two scans in one process (two limiters) on one address: the second waits out the gap."""
    settings = LimiterSettings(max_in_flight=4, min_gap=0.3)
    async with SharedGates(redis_url, prefix=prefix) as gates:
        first, second = Limiter(settings, shared=gates), Limiter(settings, shared=gates)
        async with first.slot(HOST) as waited_first, second.slot(HOST) as waited_second:
            assert waited_first < 0.1
            assert settings.min_gap - JITTER <= waited_second < settings.min_gap + 0.1


async def _failing_probe(url: str, port: int, socket_timeout: float = 3.0) -> tuple[ProbeFailure, float]:
    gates = SharedGates(url, timeout=socket_timeout)
    target = Endpoint(ServiceKind.C2S, "example.org", HOST, port, Transport.DIRECTTLS)
    started = time.monotonic()
    try:
        with pytest.raises(ProbeFailure) as failure:
            async with open_prelude(target, Limiter(shared=gates), Deadline.after(30)):
                pass
    finally:
        await gates.aclose()
    return failure.value, time.monotonic() - started


async def test_an_unreachable_redis_is_an_internal_error_naming_it(ports: PortAllocator) -> None:
    closed = ports.take()
    failure, took = await _failing_probe(f"redis://:secret@127.0.0.1:{closed}/15", ports.take())
    assert took < 5
    assert failure.error.reason is ErrorReason.INTERNAL
    assert failure.error.phase == "queue"
    assert f"redis://:***@127.0.0.1:{closed}/15" in failure.error.message
    assert "secret" not in failure.error.message


async def test_a_silent_redis_is_an_internal_error_not_a_hang(ports: PortAllocator) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(silent, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        failure, took = await _failing_probe(f"redis://127.0.0.1:{port}/15", ports.take(), socket_timeout=0.5)
    assert took < 5
    assert failure.error.reason is ErrorReason.INTERNAL
    assert f"redis://127.0.0.1:{port}/15" in failure.error.message
