"""Public mode: the visitor's address on each scan (per-client limits) and the block list.

Revision ID: 8c31f0e6d2a4
Revises: 5b0e2a9d41c7
Create Date: 2026-12-04 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8c31f0e6d2a4"
down_revision: str | None = "5b0e2a9d41c7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("scans") as batch:
        batch.add_column(sa.Column("client", sa.String(length=64), nullable=True))
    op.create_index("ix_scans_client_created_at", "scans", ["client", "created_at"])
    op.create_table(
        "blocked_domains",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_blocked_domains")),
    )


def downgrade() -> None:
    op.drop_table("blocked_domains")
    op.drop_index("ix_scans_client_created_at", table_name="scans")
    with op.batch_alter_table("scans") as batch:
        batch.drop_column("client")
