"""The Alembic environment shipped in the package runs against an empty database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect

from observatory.storage.migrate import alembic_config


def test_upgrade_head_on_an_empty_database_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'observatory.db'}"
    config = alembic_config(url)
    command.upgrade(config, "head")
    # `check` raises when autogenerate would find a difference between the models and the schema.
    command.check(config)
    assert "alembic_version" in inspect(create_engine(url)).get_table_names()
