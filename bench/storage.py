"""Storage timings on SQLite and PostgreSQL: save and read per scan, listings over many rows, re-grading.

    .venv/bin/python -m bench.storage                 # 5,000 scans over 500 domains, both backends
    .venv/bin/python -m bench.storage --rows 20000 --backend sqlite

PostgreSQL is the server named by OBSERVATORY_TEST_POSTGRES_URL (else postgres@127.0.0.1:5432); a
throwaway database is created there and dropped afterwards. The scans are tests.factories' result
(4 endpoints, 1 finding) with other domains and times.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select

from observatory.storage.database import connect
from observatory.storage.derive import document
from observatory.storage.migrate import open_database, upgrade
from observatory.storage.repository import get_scan, history, latest_for_domain, recent_scans, save_result
from observatory.storage.rescore import rescore
from observatory.storage.schema import ScanRow
from tests.unit.storage.support import postgres_server_url, result_for, stricter_judge, throwaway_postgres


def _ms(samples: list[float]) -> str:
    p95 = sorted(samples)[int(len(samples) * 0.95)]
    return f"median {statistics.median(samples) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def _time(function: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return samples


@contextmanager
def _database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
    else:
        with throwaway_postgres(postgres_server_url()[0]) as url:
            yield url


def run(backend: str, rows: int, domains: int) -> None:
    with _database(backend) as url:
        with connect(url) as database:
            upgrade(database)
        with open_database(url) as database, database.session() as session:
            sample = result_for()
            size = len(json.dumps(document(sample))) + len(json.dumps(document(sample.to_facts())))
            print(f"[{backend}] documents per scan: {size / 1024:.1f} KiB of JSON (facts + judged result)")
            results = [result_for(f"d{i % domains}.example", minutes=i) for i in range(rows)]
            start = time.perf_counter()
            saves = []
            for result in results:
                begin = time.perf_counter()
                save_result(session, result=result)
                saves.append(time.perf_counter() - begin)
            print(
                f"[{backend}] save_result × {rows}: {_ms(saves)} ({rows / (time.perf_counter() - start):.0f} scans/s)"
            )
            ids = session.scalars(select(ScanRow.id).order_by(func.random()).limit(200)).all()
            reads = [t for scan_id in ids for t in _time(lambda s=scan_id: get_scan(session, scan_id=s), 1)]
            print(f"[{backend}] get_scan (document parsed and validated): {_ms(reads)}")
            per_domain = rows // domains
            hist = _time(lambda: history(session, domain="d7.example"), 200)
            print(f"[{backend}] history of one domain ({per_domain} of {rows} rows): {_ms(hist)}")
            latest = _time(lambda: latest_for_domain(session, domain="d7.example"), 200)
            print(f"[{backend}] latest_for_domain: {_ms(latest)}")
            recent = _time(lambda: recent_scans(session, limit=50), 200)
            print(f"[{backend}] recent_scans(50) over {rows} rows: {_ms(recent)}")
            start = time.perf_counter()
            report = rescore(session, judge=stricter_judge)
            elapsed = time.perf_counter() - start
            count = len(report.rescored)
            print(f"[{backend}] rescore of {count} scans: {elapsed:.1f} s ({count / elapsed:.0f} scans/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--domains", type=int, default=500)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.rows, args.domains)


if __name__ == "__main__":
    main()
