"""Alembic environment and revisions of the observatory database (shipped in the wheel)."""
