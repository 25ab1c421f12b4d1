"""``observatory db`` and ``observatory history`` through click's CliRunner, on real SQLite files."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from cli import EXIT_INCOMPLETE, EXIT_USAGE, cli
from observatory.storage.database import connect
from observatory.storage.migrate import head, open_database
from observatory.storage.repository import create_scan, fail_scan, save_result
from tests.unit.storage.support import result_for, weaker


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_db_upgrade_current_and_downgrade(runner: CliRunner, sqlite_url: str) -> None:
    current = runner.invoke(cli, ["db", "current", "--db", sqlite_url])
    assert current.exit_code == 0, current.output
    assert "schema none, no tables yet" in current.output
    up = runner.invoke(cli, ["db", "upgrade", "--db", sqlite_url])
    assert up.exit_code == 0, up.output
    assert f"schema {head()}, up to date" in up.output
    down = runner.invoke(cli, ["db", "downgrade", "base", "--db", sqlite_url])
    assert down.exit_code == 0, down.output
    assert "schema none" in down.output
    runner.invoke(cli, ["db", "upgrade", "--db", sqlite_url])
    # A relative step is a revision, not an option: one step down from head is the previous revision.
    step = runner.invoke(cli, ["db", "downgrade", "-1", "--db", sqlite_url])
    assert step.exit_code == 0, step.output
    assert "schema 8c31f0e6d2a4, older than" in step.output


def test_the_database_url_can_come_from_the_environment(runner: CliRunner, sqlite_url: str) -> None:
    result = runner.invoke(cli, ["db", "upgrade"], env={"OBSERVATORY_DATABASE_URL": sqlite_url})
    assert result.exit_code == 0, result.output
    assert sqlite_url in result.output


def test_history_lists_scans_newest_first(runner: CliRunner, sqlite_url: str) -> None:
    with open_database(sqlite_url, migrate=True) as database, database.session() as session:
        good = save_result(session, result=result_for())
        worse = save_result(session, result=weaker(result_for()))
        failed = create_scan(session, request=result_for().request, created_at=datetime(2027, 1, 1, tzinfo=UTC))
        fail_scan(session, scan_id=failed, error="no answer from the resolver")
    result = runner.invoke(cli, ["history", "example.org", "--db", sqlite_url], terminal_width=200)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"#{failed} ")
    assert "failed" in lines[0]
    assert "no answer from the resolver" in lines[0]
    assert lines[1].startswith(f"#{worse} ")
    assert "c2s C  s2s A" in lines[1]
    assert "rules 2026.1" in lines[1]
    assert lines[2].startswith(f"#{good} ")
    assert "2026-11-25 12:00 UTC" in lines[2]
    as_json = runner.invoke(cli, ["history", "EXAMPLE.org", "--format", "json", "--limit", "2", "--db", sqlite_url])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert [scan["id"] for scan in data] == [failed, worse]
    assert data[1]["grades"]["c2s"] == {"letter": "C", "score": None}


def test_history_of_an_unknown_domain_says_so(runner: CliRunner, sqlite_url: str) -> None:
    runner.invoke(cli, ["db", "upgrade", "--db", sqlite_url])
    result = runner.invoke(cli, ["history", "nowhere.example", "--db", sqlite_url])
    assert result.exit_code == 0
    assert "No stored scans of nowhere.example" in result.output


def test_history_uses_the_per_user_database_by_default(runner: CliRunner) -> None:
    # The autouse fixture points XDG_DATA_HOME at the test's folder: created and migrated there.
    result = runner.invoke(cli, ["history", "example.org"])
    assert result.exit_code == 0, result.output
    assert "xdg/xmpp-observatory/observatory.db" in result.output


def test_history_reports_a_corrupt_row_and_goes_on(runner: CliRunner, sqlite_url: str) -> None:
    with open_database(sqlite_url, migrate=True) as database, database.session() as session:
        good = save_result(session, result=result_for())
        bad = save_result(session, result=result_for(minutes=1))
        session.execute(text("UPDATE scans SET kinds = 'c2s,zzz' WHERE id = :id"), {"id": bad})
        session.commit()
    result = runner.invoke(cli, ["history", "example.org", "--db", sqlite_url])
    assert result.exit_code == 0, result.output
    assert f"observatory: scan #{bad} skipped: unknown service kinds 'c2s,zzz'" in result.stderr
    assert result.stdout.startswith(f"#{good} ")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["history", "example.org", "--db", "mysql://x@y/z"], EXIT_USAGE, "unsupported database 'mysql'"),
        (["db", "current", "--db", "postgresql://u:pw@127.0.0.1:1/x"], EXIT_INCOMPLETE, "cannot open the database"),
        (["history", "example.org", "--db", "sqlite:////nonexistent/folder/o.db"], EXIT_INCOMPLETE, "does not exist"),
        (["history", "bad..domain"], EXIT_USAGE, "not a valid domain"),
    ],
)
def test_errors_are_messages_with_an_exit_code(runner: CliRunner, args: list[str], code: int, message: str) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert "pw@" not in result.output


def test_history_on_a_named_database_without_tables_says_to_upgrade(runner: CliRunner, sqlite_url: str) -> None:
    connect(sqlite_url).dispose()
    result = runner.invoke(cli, ["history", "example.org", "--db", sqlite_url])
    assert result.exit_code == EXIT_INCOMPLETE
    assert "run `observatory db upgrade`" in result.output


def test_a_newer_schema_is_refused_by_every_command(runner: CliRunner, sqlite_url: str) -> None:
    runner.invoke(cli, ["db", "upgrade", "--db", sqlite_url])
    with connect(sqlite_url) as database, database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0123456789ab'"))
    for args in (["history", "example.org"], ["db", "upgrade"], ["db", "downgrade", "base"]):
        result = runner.invoke(cli, [*args, "--db", sqlite_url])
        assert result.exit_code == EXIT_INCOMPLETE, result.output
        assert "0123456789ab" in result.output
        assert "Upgrade xmpp-observatory; the database was not changed" in result.output
    current = runner.invoke(cli, ["db", "current", "--db", sqlite_url])
    assert current.exit_code == 0
    assert "newer than this version knows" in current.output
