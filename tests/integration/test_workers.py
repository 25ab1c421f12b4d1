"""Scans on real Celery workers: two `observatory worker` processes, the site submitting through the
broker, progress coming back through Redis, on PostgreSQL (and once on SQLite with RabbitMQ); a worker
killed mid-scan gives the scan back and it finishes exactly once; the reaper fails scans no worker
runs any more.

Redis is the tests' own server (tests/testbed/fixtures_redis.py). The RabbitMQ test uses the machine's
broker (``OBSERVATORY_TEST_RABBITMQ_URL``, default guest@127.0.0.1): skipped only when none answers and
the variable is unset; its queue carries a namespace of its own, so nothing else on it is touched.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from observatory.jobs.distributed import send_scans
from observatory.model import ScanRequest
from observatory.orchestrate import ScanOptions
from observatory.storage import open_database
from observatory.storage.queue import submit_scan
from observatory.storage.repository import ENDPOINTS, FINDINGS, SCANS
from observatory.web import SiteSettings, create_app
from scanners.base import ServiceKind
from tests.testbed.dns import DnsTestbed
from tests.testbed.engine import flags_for_testbed, options_for_testbed
from tests.testbed.pki import TestPKI
from tests.testbed.prosody import ProsodyInstance
from tests.unit.storage.support import postgres_reachable, postgres_server_url, throwaway_postgres

pytestmark = pytest.mark.integration

RABBITMQ_ENV = "OBSERVATORY_TEST_RABBITMQ_URL"
OBSERVATORY = Path(sys.executable).parent / "observatory"


def service_url(env: str, default: str, check: object) -> str:
    url = os.environ.get(env, default)
    try:
        check(url)  # type: ignore[operator]
    except Exception as exc:
        if env in os.environ:
            pytest.fail(f"{env}={url} is set but unusable: {exc}")
        pytest.skip(f"nothing at {url} ({exc})")
    return url


@pytest.fixture(scope="module")
def redis_url(redis_server: str) -> str:
    """The tests' own Redis (tests/testbed/fixtures_redis.py), as broker and for events and pacing."""
    return redis_server


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    server, explicit = postgres_server_url()
    problem = postgres_reachable(server)
    if problem is not None:
        if explicit:
            pytest.fail(f"PostgreSQL at {server} is unusable: {problem}")
        pytest.skip(f"no PostgreSQL server at {server} ({problem})")
    with throwaway_postgres(server) as url:
        open_database(url, migrate=True).dispose()
        yield url


def engine_args(dns_testbed: DnsTestbed, pki: TestPKI) -> list[str]:
    # Slow enough to be caught mid-scan, polite as in production.
    return [*flags_for_testbed(dns_testbed, pki), "--connection-gap", "0.15", "--timeout", "120"]


def engine(dns_testbed: DnsTestbed, pki: TestPKI) -> ScanOptions:
    return options_for_testbed(dns_testbed, pki)


class Fleet:
    def __init__(self, processes: list[subprocess.Popen[str]], logs: list[Path]) -> None:
        self.processes = processes
        self.logs = logs

    def children(self) -> list[int]:
        """The pool processes of every worker (where tasks run)."""
        pids = []
        for process in self.processes:
            listed = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False)
            pids += [int(pid) for pid in listed.stdout.split()]
        return pids

    def output(self) -> str:
        return "\n".join(log.read_text(errors="replace") for log in self.logs)


@contextmanager
def workers(
    count: int, broker: str, db_url: str, namespace: str, args: list[str], folder: Path, redis_url: str
) -> Iterator[Fleet]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVATORY_")}
    env["XDG_DATA_HOME"] = str(folder / "xdg")
    processes, logs = [], []
    for index in range(count):
        log = folder / f"worker-{namespace}-{index}.log"
        logs.append(log)
        command = [
            str(OBSERVATORY),
            "worker",
            "--broker",
            broker,
            "--redis",
            redis_url,
            "--namespace",
            namespace,
            "--db",
            db_url,
            "--concurrency",
            "1",
            *args,
        ]
        processes.append(subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True))
    fleet = Fleet(processes, logs)
    try:
        deadline = time.monotonic() + 30
        while not all("ready" in log.read_text(errors="replace") for log in logs):
            assert all(p.poll() is None for p in processes), fleet.output()
            assert time.monotonic() < deadline, fleet.output()
            time.sleep(0.2)
        yield fleet
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def site_for(db_url: str, broker: str, redis_url: str, namespace: str, template: ScanOptions) -> TestClient:
    settings = SiteSettings(
        database_url=db_url, scan=template, broker_url=broker, redis_url=redis_url, namespace=namespace
    )
    return TestClient(create_app(settings))


def wait_status(client: TestClient, scan_id: int, wanted: set[str], seconds: float, fleet: Fleet) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/scans/{scan_id}").json()
        if body["status"] in wanted:
            return body
        time.sleep(0.1)
    raise AssertionError(f"scan #{scan_id} not {wanted} within {seconds} s\n{fleet.output()}")


def counts(db_url: str, scan_id: int) -> tuple[int, int, int]:
    with open_database(db_url) as database, database.session() as session:
        scans = session.execute(select(func.count()).where(SCANS.c.id == scan_id)).scalar_one()
        endpoints = session.execute(select(func.count()).where(ENDPOINTS.c.scan_id == scan_id)).scalar_one()
        findings = session.execute(select(func.count()).where(FINDINGS.c.scan_id == scan_id)).scalar_one()
    return scans, endpoints, findings


@pytest.fixture(scope="module")
def testbed(dns_testbed: DnsTestbed, pki: TestPKI, prosody_strong: ProsodyInstance, prosody_weak: ProsodyInstance):  # type: ignore[no-untyped-def]
    return dns_testbed, pki


def test_two_workers_scan_through_the_broker_and_report_progress(
    testbed: tuple[DnsTestbed, TestPKI], redis_url: str, postgres_url: str, tmp_path: Path
) -> None:
    dns_testbed, pki = testbed
    namespace = f"obs-test-{uuid.uuid4().hex[:8]}"
    args = engine_args(dns_testbed, pki)
    with (
        workers(2, redis_url, postgres_url, namespace, args, tmp_path, redis_url) as fleet,
        site_for(postgres_url, redis_url, redis_url, namespace, engine(dns_testbed, pki)) as client,
    ):
        strong = client.post("/api/v1/scans", json={"domain": "example.test", "kinds": "c2s"}).json()["id"]
        weak = client.post("/api/v1/scans", json={"domain": "weak.example.test", "kinds": "c2s"}).json()["id"]
        with client.stream("GET", f"/api/v1/scans/{weak}/events") as stream:
            events = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
        assert events[-1]["status"] == "done", fleet.output()
        assert "probe-done" in {event["step"] for event in events}  # progress from the worker, through Redis
        done = wait_status(client, strong, {"done", "failed"}, 120, fleet)
        assert done["status"] == "done"
        assert done["grades"]["c2s"]["letter"] == "A+"
        weak_body = client.get(f"/api/v1/scans/{weak}").json()
        assert "tls.protocol.tls10" in {finding["id"] for finding in weak_body["result"]["findings"]}
        # A task delivered again for a finished scan does nothing.
        send_scans(redis_url, [strong], namespace)
        deadline = time.monotonic() + 20
        while fleet.output().count("observatory.scan[") < 6:  # received + succeeded, three times
            assert time.monotonic() < deadline, fleet.output()
            time.sleep(0.2)
        again = client.get(f"/api/v1/scans/{strong}").json()
        assert (again["status"], again["finished_at"]) == ("done", done["finished_at"])
        assert "s: None" in fleet.output()  # the task's result: not run
    # Both workers took part.
    assert all("observatory.scan" in log.read_text() for log in fleet.logs), fleet.output()


def test_a_worker_killed_mid_scan_gives_it_back_and_it_finishes_once(
    testbed: tuple[DnsTestbed, TestPKI], redis_url: str, postgres_url: str, tmp_path: Path
) -> None:
    dns_testbed, pki = testbed
    namespace = f"obs-test-{uuid.uuid4().hex[:8]}"
    args = engine_args(dns_testbed, pki)
    with (
        workers(2, redis_url, postgres_url, namespace, args, tmp_path, redis_url) as fleet,
        site_for(postgres_url, redis_url, redis_url, namespace, engine(dns_testbed, pki)) as client,
    ):
        scan_id = client.post("/api/v1/scans", json={"domain": "weak.example.test"}).json()["id"]
        wait_status(client, scan_id, {"running"}, 30, fleet)
        time.sleep(1.0)  # well inside the scan: discovery done, probes under way
        # Every pool process of both workers: the one running the scan dies with it; Celery replaces them.
        victims = fleet.children()
        assert victims, fleet.output()
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        body = wait_status(client, scan_id, {"done", "failed"}, 180, fleet)
        assert body["status"] == "done", (body.get("error"), fleet.output())
        # The broker gave the task back and a worker started the scan over.
        assert "WorkerLostError" in fleet.output()
        assert f"scan #{scan_id} (redelivered)" in fleet.output()
    scans, endpoints, findings = counts(postgres_url, scan_id)
    result_endpoints = sum(len(body["result"]["services"][k]["endpoints"]) for k in ("c2s", "s2s"))
    assert (scans, endpoints, findings) == (1, result_endpoints, len(body["result"]["findings"]))


def test_the_reaper_fails_scans_no_worker_runs(redis_url: str, postgres_url: str, tmp_path: Path) -> None:
    from observatory.jobs.distributed import REAP_GRACE, hard_limit, reap_stuck

    template = ScanOptions(domain="site.invalid", timeout=30)
    with open_database(postgres_url) as database, database.session() as session:
        request = ScanRequest(domain="stuck.example", kinds=[ServiceKind.C2S])
        stuck = submit_scan(session, request=request).scan_id
        recent = submit_scan(session, request=request.model_copy(update={"domain": "fresh.example"})).scan_id
        long_ago = datetime.now(UTC) - timedelta(seconds=hard_limit(template) + REAP_GRACE + 5)
        session.execute(update(SCANS).where(SCANS.c.id == stuck).values(status="running", started_at=long_ago))
        session.execute(
            update(SCANS).where(SCANS.c.id == recent).values(status="running", started_at=datetime.now(UTC))
        )
        session.commit()
        assert reap_stuck(database, template) == [stuck]
        rows = dict(session.execute(select(SCANS.c.id, SCANS.c.status).where(SCANS.c.id.in_([stuck, recent]))).all())
    assert rows == {stuck: "failed", recent: "running"}


def test_rabbitmq_broker(testbed: tuple[DnsTestbed, TestPKI], redis_url: str, tmp_path: Path) -> None:
    import kombu

    def reachable(url: str) -> None:
        with kombu.Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)

    broker = service_url(RABBITMQ_ENV, "amqp://guest:guest@127.0.0.1:5672//", reachable)
    dns_testbed, pki = testbed
    namespace = f"obs-test-{uuid.uuid4().hex[:8]}"
    db_url = f"sqlite:///{tmp_path / 'site.db'}"
    open_database(db_url, migrate=True).dispose()
    with (
        workers(1, broker, db_url, namespace, engine_args(dns_testbed, pki), tmp_path, redis_url) as fleet,
        site_for(db_url, broker, redis_url, namespace, engine(dns_testbed, pki)) as client,
    ):
        scan_id = client.post("/api/v1/scans", json={"domain": "example.test", "kinds": "c2s"}).json()["id"]
        body = wait_status(client, scan_id, {"done", "failed"}, 120, fleet)
    assert body["status"] == "done"
    assert body["grades"]["c2s"]["letter"] == "A+"


def test_a_broker_that_is_down_fails_the_submission_plainly(tmp_path: Path) -> None:
    from tests.web.conftest import closed_loopback_port, offline_template

    dead = f"redis://127.0.0.1:{closed_loopback_port()}/0"
    db_url = f"sqlite:///{tmp_path / 'site.db'}"
    open_database(db_url, migrate=True).dispose()
    with site_for(db_url, dead, dead, "obs-test-down", offline_template()) as client:
        started = time.monotonic()
        refused = client.post("/api/v1/scans", json={"domain": "down.example"})
        assert time.monotonic() - started < 20
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "60"
        assert "cannot be reached" in refused.json()["detail"]
        # Nothing is left queued with no task behind it: the scan failed, saying why.
        (scan,) = client.get("/api/v1/domains/down.example/history").json()["scans"]
        assert scan["status"] == "failed"
        assert "could not be handed to the workers" in scan["error"]


def test_a_domains_file_through_the_workers(
    testbed: tuple[DnsTestbed, TestPKI], redis_url: str, postgres_url: str, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from cli import EXIT_OK, cli
    from observatory.model import ScanResult

    dns_testbed, pki = testbed
    namespace = f"obs-test-{uuid.uuid4().hex[:8]}"
    listing = tmp_path / "domains.txt"
    listing.write_text("example.test\nweak.example.test\n")
    broker = ["--broker", redis_url, "--redis", redis_url, "--namespace", namespace, "--db", postgres_url]
    with workers(1, redis_url, postgres_url, namespace, engine_args(dns_testbed, pki), tmp_path, redis_url) as fleet:
        result = CliRunner().invoke(
            cli,
            [
                "scan",
                "--from-file",
                str(listing),
                "--kind",
                "c2s",
                "--format",
                "json",
                *broker,
                *flags_for_testbed(dns_testbed, pki),
            ],
            catch_exceptions=False,
        )
    assert result.exit_code == EXIT_OK, (result.output, fleet.output())
    documents = {ScanResult.model_validate_json(line).domain for line in result.stdout.splitlines()}
    assert documents == {"example.test", "weak.example.test"}
    assert "observatory.scan[" in fleet.output()
