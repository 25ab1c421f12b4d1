"""Start and stop the testbed's server processes, and wait until they are ready.

Servers run in the foreground as our own children (never daemonised), so they can be reaped with
``wait()`` and nothing outlives the test run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Generic, Self, TypeVar


class TestbedError(RuntimeError):
    """A testbed server could not be set up or did not become ready; carries its log tail."""


def tcp_ready(host: str, port: int) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            return False

    return probe


def run_tool(argv: Sequence[str], *, cwd: Path | None = None, timeout: float = 60) -> str:
    """Run a set-up tool (dnssec-signzone, openssl, prosodyctl …); raise with its output on failure."""
    proc = subprocess.run(
        list(argv), cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0:
        raise TestbedError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


class ManagedProcess:
    """One foreground server process with its output in a log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.cwd = cwd
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, ready: Callable[[], bool], timeout: float = 15.0) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise TestbedError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            if ready():
                return
            time.sleep(0.02)
        self.stop()
        raise TestbedError(f"{self.name} was not ready within {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 5.0) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        # The whole process group: some servers fork helpers.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class StartsAndStops:
    """``with server:`` for anything with ``start()``/``stop()``: stopped whatever the block raises."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


Server = TypeVar("Server", bound=StartsAndStops)


class ServerFactory(Generic[Server]):
    """Remembers every server a test started, so ``stop_all()`` reaps each one, started or not."""

    def __init__(self) -> None:
        self.started: list[Server] = []

    def launch(self, server: Server) -> Server:
        # Recorded before start(): a server that fails half-way still holds processes to stop.
        self.started.append(server)
        server.start()
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


class PortInUse(TestbedError):
    """A server found one of its planned ports taken: retrying on fresh ports usually helps."""


def start_on_fresh_ports(make: Callable[[int], Server], attempts: int = 2) -> Server:
    """Start ``make(attempt)`` (which takes fresh ports), again if a port was taken in the meantime.

    Parallel test runs share the port range, so a port found free may be taken before the server
    binds it. Every attempt that fails is stopped before the next one.
    """
    for attempt in range(attempts):
        server = make(attempt)
        try:
            server.start()
        except PortInUse:
            server.stop()
            if attempt + 1 == attempts:
                raise
            continue
        except BaseException:
            server.stop()
            raise
        return server
    raise AssertionError("unreachable")
