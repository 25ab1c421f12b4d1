"""The website: scans may be unlisted, a domain's newest scan in any state is found by index, and the
statistics get per-endpoint DNSSEC and STARTTLS enforcement and per-certificate issuer columns.

Revision ID: 5b0e2a9d41c7
Revises: ce151d5c750c
Create Date: 2026-12-04 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b0e2a9d41c7"
down_revision: str | None = "ce151d5c750c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scans") as batch:
        batch.add_column(sa.Column("listed", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_index("ix_scans_domain_created_at", "scans", ["domain", "created_at"])
    with op.batch_alter_table("scan_endpoints") as batch:
        batch.add_column(sa.Column("dnssec", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("starttls_enforced", sa.Boolean(), nullable=True))
    with op.batch_alter_table("scan_certificates") as batch:
        batch.add_column(sa.Column("issuer", sa.String(length=256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scan_certificates") as batch:
        batch.drop_column("issuer")
    with op.batch_alter_table("scan_endpoints") as batch:
        batch.drop_column("starttls_enforced")
        batch.drop_column("dnssec")
    op.drop_index("ix_scans_domain_created_at", table_name="scans")
    with op.batch_alter_table("scans") as batch:
        batch.drop_column("listed")
