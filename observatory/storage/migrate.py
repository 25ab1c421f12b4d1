"""The schema's version: Alembic migrations shipped in the ``migrations`` package, run without an
alembic.ini, and the checks that keep this version from touching a database it does not understand."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.exc import DBAPIError

import migrations
from observatory.storage.database import Database, connect, explain, resolve_url
from observatory.storage.errors import DatabaseUnavailable, SchemaNotCurrent, SchemaTooNew, StorageError


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    # Revision files are named <date>_<slug>.py so they list in the order they were written.
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s")
    # Our driver (psycopg 3) for postgresql:// URLs, as the application uses.
    parsed, _ = resolve_url(url)
    # Alembic's config is an INI parser: a literal % in a URL (escaped passwords) must be doubled.
    config.set_main_option("sqlalchemy.url", parsed.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(Path(migrations.__file__).parent))


def head() -> str | None:
    """The newest revision this version knows."""
    return _scripts().get_current_head()


@dataclass(frozen=True)
class SchemaState:
    #: The database's revision (None: no schema at all).
    current: str | None
    #: This version's newest revision.
    head: str | None
    #: The database's revision is unknown here: a newer version migrated it.
    too_new: bool

    @property
    def up_to_date(self) -> bool:
        return not self.too_new and self.current == self.head


def schema_state(database: Database) -> SchemaState:
    scripts = _scripts()
    try:
        with database.engine.connect() as connection:
            heads = MigrationContext.configure(connection).get_current_heads()
    except DBAPIError as exc:
        raise DatabaseUnavailable(f"cannot read the schema version of {database.name}: {explain(exc)}") from None
    known = {revision.revision for revision in scripts.walk_revisions()}
    too_new = any(revision not in known for revision in heads)
    current = heads[0] if len(heads) == 1 else (", ".join(heads) or None)
    return SchemaState(current=current, head=scripts.get_current_head(), too_new=too_new)


def refuse_if_too_new(database: Database, state: SchemaState) -> None:
    if state.too_new:
        raise SchemaTooNew(
            f"the database {database.name} has schema revision {state.current}, which this version of "
            f"xmpp-observatory does not know (its newest is {state.head}): it was upgraded by a newer "
            "version. Upgrade xmpp-observatory; the database was not changed."
        )


def _run(database: Database, action: str, revision: str) -> None:
    config = alembic_config(database.url.render_as_string(hide_password=False))
    try:
        if action == "upgrade":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)
    except CommandError as exc:
        raise StorageError(f"cannot {action} {database.name} to {revision!r}: {exc}") from None
    except DBAPIError as exc:
        raise DatabaseUnavailable(f"{action} of {database.name} failed: {explain(exc)}") from None


def upgrade(database: Database, revision: str = "head") -> SchemaState:
    """Migrate up to ``revision``; refuses a database migrated by a newer version."""
    refuse_if_too_new(database, schema_state(database))
    _run(database, "upgrade", revision)
    return schema_state(database)


def downgrade(database: Database, revision: str) -> SchemaState:
    """Migrate down to ``revision`` (``base`` removes every table); refuses a newer database."""
    refuse_if_too_new(database, schema_state(database))
    _run(database, "downgrade", revision)
    return schema_state(database)


def open_database(url: str | None = None, *, migrate: bool | None = None) -> Database:
    """Open the database and make sure its schema is this version's.

    ``migrate`` says whether an empty or older schema is upgraded on the spot; by default only the
    per-user SQLite file is (nobody else manages it), while a database named by URL is left to
    ``observatory db upgrade`` so a site's schema changes only when its operator says so. A schema
    from a newer version is always refused, untouched.
    """
    database = connect(url)
    try:
        state = schema_state(database)
        refuse_if_too_new(database, state)
        if state.up_to_date:
            return database
        if migrate if migrate is not None else database.is_default:
            try:
                state = upgrade(database)
            except StorageError:
                # Another process may have migrated it at the same moment (two first scans at once).
                state = schema_state(database)
                if not state.up_to_date:
                    raise
            return database
        what = "has no observatory tables yet" if state.current is None else f"is at schema {state.current}"
        raise SchemaNotCurrent(
            f"the database {database.name} {what}; this version needs schema {state.head}: "
            "run `observatory db upgrade` with the same --db (or OBSERVATORY_DATABASE_URL) first"
        )
    except BaseException:
        database.dispose()
        raise
