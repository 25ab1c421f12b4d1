"""Running the Alembic migrations shipped in the ``migrations`` package, without an alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

import migrations


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    # Alembic's config is an INI parser: a literal % in a URL (escaped passwords) must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config
