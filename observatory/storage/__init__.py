"""Storage of scans in SQLite (the per-user default) or PostgreSQL (a site), through SQLAlchemy 2 and
Alembic.

* ``schema``: the tables and ``metadata`` (what the migrations build).
* ``database`` / ``migrate``: opening a database by URL, its schema version, upgrades and downgrades.
* ``repository``: keyword-only functions that save and read scans.
* ``diff``: what changed between two results; ``rescore``: re-grading stored facts.

Every failure the user can meet is a ``StorageError`` whose message says what to do.
"""

from observatory.storage.database import DATABASE_URL_ENV, Database, connect, default_database_path
from observatory.storage.diff import ScanDiff, describe, diff_results
from observatory.storage.errors import (
    CorruptScan,
    DatabaseUnavailable,
    DatabaseUrlError,
    ScanStateError,
    SchemaNotCurrent,
    SchemaTooNew,
    SkippedScan,
    StorageError,
)
from observatory.storage.migrate import downgrade, open_database, schema_state, upgrade
from observatory.storage.records import LatestScan, ScanList, ScanStatus, ScanSummary, StoredScan
from observatory.storage.repository import (
    create_scan,
    fail_scan,
    finish_scan,
    get_scan,
    history,
    latest_for_domain,
    latest_summary,
    recent_scans,
    save_result,
    start_scan,
)
from observatory.storage.rescore import Judge, Rescored, RescoreReport, rescore
from observatory.storage.schema import metadata

__all__ = [
    "DATABASE_URL_ENV",
    "CorruptScan",
    "Database",
    "DatabaseUnavailable",
    "DatabaseUrlError",
    "Judge",
    "LatestScan",
    "RescoreReport",
    "Rescored",
    "ScanDiff",
    "ScanList",
    "ScanStateError",
    "ScanStatus",
    "ScanSummary",
    "SchemaNotCurrent",
    "SchemaTooNew",
    "SkippedScan",
    "StorageError",
    "StoredScan",
    "connect",
    "create_scan",
    "default_database_path",
    "describe",
    "diff_results",
    "downgrade",
    "fail_scan",
    "finish_scan",
    "get_scan",
    "history",
    "latest_for_domain",
    "latest_summary",
    "metadata",
    "open_database",
    "recent_scans",
    "rescore",
    "save_result",
    "schema_state",
    "start_scan",
    "upgrade",
]
