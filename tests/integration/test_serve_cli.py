"""`observatory serve` as a user runs it: a real process on a loopback port, its options and variables,
clear errors (never a traceback) for a bad database or a port in use, and a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from cli import cli
from tests.testbed.ports import PortAllocator
from tests.web.conftest import closed_loopback_port

pytestmark = pytest.mark.integration

OBSERVATORY = Path(sys.executable).parent / "observatory"


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVATORY_")}
    env.update({"XDG_DATA_HOME": str(tmp_path / "xdg"), **extra})
    return env


@contextmanager
def serving(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [str(OBSERVATORY), "serve", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for(url: str, process: subprocess.Popen[str], seconds: float = 20) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def test_serve_takes_engine_settings_from_variables_and_stops_cleanly(tmp_path: Path, ports: PortAllocator) -> None:
    port = ports.take()
    env = environment(
        tmp_path,
        OBSERVATORY_PORT=str(port),
        OBSERVATORY_RESOLVER=f"127.0.0.1:{closed_loopback_port()}",
        OBSERVATORY_DNS_TIMEOUT="0.2",
        OBSERVATORY_NO_HTTP="1",
        OBSERVATORY_CONCURRENCY="1",
    )
    with serving(["--db", f"sqlite:///{tmp_path / 'site.db'}", "--migrate"], env) as process:
        home = wait_for(f"http://127.0.0.1:{port}/", process)
        assert home.status_code == 200
        created = httpx.post(f"http://127.0.0.1:{port}/api/v1/scans", json={"domain": "serve.example"})
        assert created.status_code == 202
        scan_id = created.json()["id"]
        deadline = time.monotonic() + 20
        while (body := httpx.get(f"http://127.0.0.1:{port}/api/v1/scans/{scan_id}").json())["status"] != "done":
            assert time.monotonic() < deadline, body
            time.sleep(0.1)
        # The resolver came from OBSERVATORY_RESOLVER: the stored request says so.
        assert body["result"]["request"]["resolver"].startswith("127.0.0.1:")
        # SIGTERM: a graceful stop, then the process ends by that signal (uvicorn re-raises it).
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == -signal.SIGTERM
        output = process.stdout.read() if process.stdout else ""
        assert "Finished server process" in output
        assert "Traceback" not in output


def test_a_port_in_use_is_exit_1_with_a_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["--port", str(port), "--db", f"sqlite:///{tmp_path / 'site.db'}", "--migrate"]
        with serving(args, environment(tmp_path)) as process:
            assert process.wait(20) == 1
            output = process.stdout.read() if process.stdout else ""
    assert "address already in use" in output.lower()
    assert "Traceback" not in output


def test_database_problems_are_usage_or_unavailable_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(cli, ["serve", "--db", "mysql://x@y/z"], env={"XDG_DATA_HOME": str(tmp_path)})
    assert bad.exit_code == 2
    assert "unsupported database" in bad.output
    missing = runner.invoke(cli, ["serve", "--db", f"sqlite:///{tmp_path / 'nowhere' / 'x.db'}"])
    assert missing.exit_code == 3
    assert "does not exist" in missing.output
    unmigrated = runner.invoke(cli, ["serve", "--db", f"sqlite:///{tmp_path / 'empty.db'}"])
    assert unmigrated.exit_code == 3
    assert "observatory db upgrade" in unmigrated.output


def test_serve_help_names_the_options_and_variables() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    for text in (
        "--resolver",
        "OBSERVATORY_RESOLVER",
        "--trust-anchor",
        "--ca-file",
        "--connection-gap",
        "--concurrency",
        "--cooldown",
        "OBSERVATORY_SECRET_KEY",
        "--trusted-proxy",
    ):
        assert text in result.output, text
