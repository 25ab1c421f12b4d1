"""Daily snapshots of the site's statistics, written by the workers' schedule.

Revision ID: 3f7d2b8e9a15
Revises: 8c31f0e6d2a4
Create Date: 2026-12-04 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "3f7d2b8e9a15"
down_revision: str | None = "8c31f0e6d2a4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "stats_snapshots",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_stats_snapshots")),
    )


def downgrade() -> None:
    op.drop_table("stats_snapshots")
