"""A Redis of the tests' own (loaded as a pytest plugin by tests/conftest.py): ``redis-server`` from
Debian's package on a free loopback port, keeping nothing on disk, stopped at the end of the run. So
the worker and pacing tests share nothing with whatever else uses the machine's Redis.

``OBSERVATORY_TEST_REDIS_URL`` names another Redis to use instead (then it must answer).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.testbed.ports import PortAllocator
from tests.testbed.process import ManagedProcess

REDIS_ENV = "OBSERVATORY_TEST_REDIS_URL"


def redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_server(ports: PortAllocator, testbed_root: Path) -> Iterator[str]:
    """The URL of a running Redis (database 0 of the tests' own server)."""
    configured = os.environ.get(REDIS_ENV)
    if configured:
        if not redis_answers(configured):
            pytest.fail(f"{REDIS_ENV}={configured} is set but that Redis does not answer")
        yield configured
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: scripts/test installs Debian's redis-server")
    port = ports.take()
    folder = testbed_root / "redis"
    folder.mkdir(exist_ok=True)
    url = f"redis://127.0.0.1:{port}/0"
    argv = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
            "--dir", str(folder), "--protected-mode", "yes"]  # fmt: skip
    server = ManagedProcess("redis-server", argv, log_path=folder / "redis.log")
    server.start(lambda: redis_answers(url))
    try:
        yield url
    finally:
        server.stop()
