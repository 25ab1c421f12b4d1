"""Opening databases: which URL, SQLite settings, and every failure as a clear StorageError."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import text

from observatory.storage.database import DATABASE_URL_ENV, connect, default_database_path, resolve_url
from observatory.storage.errors import DatabaseUnavailable, DatabaseUrlError, SchemaNotCurrent, SchemaTooNew
from observatory.storage.migrate import downgrade, head, open_database, schema_state, upgrade


def test_default_database_is_a_per_user_file_under_xdg_data_home(tmp_path: Path) -> None:
    url, is_default = resolve_url(None)
    assert is_default
    assert url.database == str(tmp_path / "xdg" / "xmpp-observatory" / "observatory.db")


def test_default_path_falls_back_to_local_share(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_database_path() == tmp_path / ".local" / "share" / "xmpp-observatory" / "observatory.db"


def test_environment_variable_selects_the_database(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, sqlite_url)
    url, is_default = resolve_url(None)
    assert not is_default
    assert url.render_as_string() == sqlite_url
    # An explicit URL wins over the environment.
    assert resolve_url("sqlite:////elsewhere.db")[0].database == "/elsewhere.db"


@pytest.mark.parametrize("given", ["postgresql://u@db/x", "postgres://u@db/x", "postgresql+psycopg://u@db/x"])
def test_postgresql_urls_use_psycopg_3(given: str) -> None:
    assert resolve_url(given)[0].drivername == "postgresql+psycopg"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("not a url", "is not a database URL"),
        ("mysql://u@db/x", "unsupported database 'mysql'"),
        ("postgresql+psycopg2://u@db/x", "driver 'psycopg2' is not supported"),
    ],
)
def test_bad_urls_are_usage_errors(given: str, message: str) -> None:
    with pytest.raises(DatabaseUrlError, match=message):
        resolve_url(given)


def test_default_database_is_created_and_migrated_on_first_use(tmp_path: Path) -> None:
    with open_database() as database:
        assert database.is_default
        assert schema_state(database).up_to_date
    assert (tmp_path / "xdg" / "xmpp-observatory" / "observatory.db").is_file()


def test_a_named_database_without_tables_asks_for_db_upgrade(sqlite_url: str) -> None:
    with pytest.raises(SchemaNotCurrent, match=r"no observatory tables yet.*observatory db upgrade"):
        open_database(sqlite_url)


def test_a_database_at_an_older_revision_asks_for_db_upgrade(sqlite_url: str) -> None:
    with connect(sqlite_url) as database:
        upgrade(database)
        downgrade(database, "base")
        # An empty alembic_version table is what "base" leaves: no schema, and the message says so.
        assert schema_state(database).current is None
    with pytest.raises(SchemaNotCurrent, match="observatory db upgrade"):
        open_database(sqlite_url)


def test_sqlite_settings_wal_foreign_keys_busy_timeout(sqlite_url: str) -> None:
    with open_database(sqlite_url, migrate=True) as database, database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 10_000


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match="does not exist"):
        connect(f"sqlite:///{tmp_path / 'missing' / 'observatory.db'}")


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are not the tables you are looking for\n" * 200)
    with pytest.raises(DatabaseUnavailable, match="file is not a database"):
        connect(f"sqlite:///{path}")


def test_an_unreachable_postgresql_server_is_a_clear_error_without_the_password() -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    with pytest.raises(
        DatabaseUnavailable, match=r"cannot open the database postgresql://scanner:\*\*\*@127.0.0.1:1/x"
    ):
        connect("postgresql://scanner:s3cret@127.0.0.1:1/x")


def _stamp_unknown_revision(url: str) -> None:
    with connect(url) as database, database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))


def test_a_database_from_a_newer_version_is_refused_and_left_untouched(sqlite_url: str, tmp_path: Path) -> None:
    # Given a database that a newer version migrated past our head
    with open_database(sqlite_url, migrate=True):
        pass
    _stamp_unknown_revision(sqlite_url)
    path = tmp_path / "observatory.db"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    # when this version opens, upgrades or downgrades it, it refuses, naming both revisions,
    for attempt in (
        lambda: open_database(sqlite_url, migrate=True),
        lambda: upgrade(connect(sqlite_url)),
        lambda: downgrade(connect(sqlite_url), "base"),
    ):
        with pytest.raises(SchemaTooNew, match=rf"f00dfeedbeef.*{head()}.*Upgrade xmpp-observatory"):
            attempt()
    # and the file is as it was.
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
