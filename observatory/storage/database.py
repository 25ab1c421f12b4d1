"""Opening the database: which URL, engine settings per backend, and a clear error when it cannot be used.

SQLite is the embedded default, one file per user; PostgreSQL serves a site. Either is selected by a
SQLAlchemy URL (``--db`` / ``OBSERVATORY_DATABASE_URL``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from observatory.storage.errors import DatabaseUnavailable, DatabaseUrlError, StorageError
from observatory.storage.types import tolerant_json_loads

DATABASE_URL_ENV = "OBSERVATORY_DATABASE_URL"

#: How long a SQLite writer waits for another's lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: How long to wait for a PostgreSQL server to accept the connection.
POSTGRES_CONNECT_TIMEOUT_S = 10

#: Execution option: begin this SQLite transaction as a writer (``BEGIN IMMEDIATE``).
WRITE = "observatory_write"


def default_database_path() -> Path:
    """The per-user database file: ``$XDG_DATA_HOME/xmpp-observatory/observatory.db``."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "xmpp-observatory" / "observatory.db"


def resolve_url(url: str | None = None) -> tuple[URL, bool]:
    """The URL to use (given, else ``OBSERVATORY_DATABASE_URL``, else the per-user SQLite file), parsed
    and with our driver; and whether it is the per-user default."""
    text = url or os.environ.get(DATABASE_URL_ENV) or ""
    if not text:
        return make_url(f"sqlite:///{default_database_path()}"), True
    try:
        parsed = make_url(text)
    except ArgumentError:
        raise DatabaseUrlError(
            f"{text!r} is not a database URL: use sqlite:///PATH or postgresql://USER@HOST[:PORT]/DBNAME"
        ) from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend in {"postgres", "postgresql"}:
        if driver not in {"", "psycopg"}:
            raise DatabaseUrlError(f"PostgreSQL driver {driver!r} is not supported: use postgresql://… (psycopg 3)")
        return parsed.set(drivername="postgresql+psycopg"), False
    if backend == "sqlite" and driver in {"", "pysqlite"}:
        return parsed, False
    raise DatabaseUrlError(f"unsupported database {parsed.drivername!r}: use sqlite:///PATH or postgresql://…")


def describe(url: URL) -> str:
    """The URL as it may be shown to a user: never the password, nor the driver we chose."""
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We emit BEGIN ourselves (below): the sqlite3 module's own would start too late for reads
        # and could not say IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in {None, "", ":memory:"}:
            # WAL: readers never block the writer and the writer never blocks readers.
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer takes the lock when it begins, waiting up to the busy timeout. A deferred transaction
        # that reads and then writes can fail at once with "database is locked" when another writer
        # committed in between: SQLite cannot wait there.
        write = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: URL) -> Engine:
    """An engine for a URL from ``resolve_url``; it connects lazily."""
    options: dict[str, Any] = {"json_deserializer": tolerant_json_loads}
    if url.get_backend_name() == "postgresql":
        options.update(pool_pre_ping=True, connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S})
    try:
        engine = create_engine(url, **options)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise StorageError(f"cannot use {describe(url)}: {exc}") from None
    if url.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    return engine


def explain(exc: DBAPIError) -> str:
    """The driver's own words, without SQLAlchemy's statement dump and background link."""
    lines = [line.strip() for line in str(exc.orig).splitlines() if line.strip()]
    return "; ".join(lines[:2]) or type(exc.orig).__name__


@dataclass
class Database:
    """An open database: its URL, engine and sessions. Close it with ``dispose()`` (or ``with``)."""

    url: URL
    engine: Engine
    #: True for the per-user SQLite file, which is created and migrated on first use.
    is_default: bool = False

    def __post_init__(self) -> None:
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def name(self) -> str:
        return describe(self.url)

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def connection_errors(self) -> Iterator[None]:
        """Turn a driver error (server gone, disk full, file locked too long) into a StorageError."""
        try:
            yield
        except DBAPIError as exc:
            raise DatabaseUnavailable(f"the database {self.name} failed: {explain(exc)}") from None

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.dispose()


def connect(url: str | None = None) -> Database:
    """Open the database at ``url`` (see ``resolve_url``) and check it can be reached.

    It does not look at the schema: ``observatory.storage.migrate.open_database`` does that.
    """
    parsed, is_default = resolve_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in {None, "", ":memory:"}:
        path = Path(parsed.database)
        if is_default:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(f"cannot create the folder for {path}: {exc.strerror}") from None
        elif not path.parent.is_dir():
            raise DatabaseUnavailable(f"cannot open the database {path}: the folder {path.parent} does not exist")
    database = Database(parsed, make_engine(parsed), is_default)
    try:
        with database.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except DBAPIError as exc:
        database.dispose()
        raise DatabaseUnavailable(f"cannot open the database {database.name}: {explain(exc)}") from None
    return database
