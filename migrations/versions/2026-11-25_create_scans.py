"""Create the scan tables: scans, their endpoints, certificate fingerprints and findings.

Revision ID: ce151d5c750c
Revises:
Create Date: 2026-11-25 16:48:45
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "ce151d5c750c"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Types as they were when this revision was written (static: never import the live models here).
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIME = sa.DateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", ROW_ID, nullable=False)


def _scan_id() -> sa.Column:
    return sa.Column("scan_id", ROW_ID, nullable=False)


def upgrade() -> None:
    op.create_table(
        "scans",
        _id(),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("kinds", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("judged_at", TIME, nullable=True),
        sa.Column("scanner_version", sa.String(length=64), nullable=False),
        sa.Column("format_version", sa.String(length=16), nullable=True),
        sa.Column("rules_version", sa.String(length=64), nullable=True),
        sa.Column("c2s_grade", sa.String(length=2), nullable=True),
        sa.Column("c2s_score", sa.Integer(), nullable=True),
        sa.Column("s2s_grade", sa.String(length=2), nullable=True),
        sa.Column("s2s_score", sa.Integer(), nullable=True),
        sa.Column("request", JSON, nullable=False),
        sa.Column("facts", JSON, nullable=True),
        sa.Column("result", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_scans_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scans")),
    )
    op.create_index("ix_scans_domain_status_finished_at", "scans", ["domain", "status", "finished_at"])
    op.create_index("ix_scans_status_finished_at", "scans", ["status", "finished_at"])

    op.create_table(
        "scan_endpoints",
        _id(),
        _scan_id(),
        sa.Column("key", sa.String(length=600), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("transport", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=253), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("starttls", sa.String(length=16), nullable=True),
        sa.Column("ssl2", sa.Boolean(), nullable=True),
        sa.Column("ssl3", sa.Boolean(), nullable=True),
        sa.Column("tls10", sa.Boolean(), nullable=True),
        sa.Column("tls11", sa.Boolean(), nullable=True),
        sa.Column("tls12", sa.Boolean(), nullable=True),
        sa.Column("tls13", sa.Boolean(), nullable=True),
        sa.Column("cipher_suites", sa.Integer(), nullable=True),
        sa.Column("grade", sa.String(length=2), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("trusted", sa.Boolean(), nullable=True),
        sa.Column("identity_matches", sa.Boolean(), nullable=True),
        sa.Column("dane", sa.String(length=16), nullable=True),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["scans.id"], name=op.f("fk_scan_endpoints_scan_id_scans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_endpoints")),
    )
    op.create_index(op.f("ix_scan_endpoints_scan_id"), "scan_endpoints", ["scan_id"])

    op.create_table(
        "scan_findings",
        _id(),
        _scan_id(),
        sa.Column("finding", sa.String(length=128), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("service", sa.String(length=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["scans.id"], name=op.f("fk_scan_findings_scan_id_scans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_findings")),
    )
    op.create_index(op.f("ix_scan_findings_finding"), "scan_findings", ["finding"])
    op.create_index(op.f("ix_scan_findings_scan_id"), "scan_findings", ["scan_id"])

    op.create_table(
        "scan_certificates",
        _id(),
        _scan_id(),
        sa.Column("endpoint_id", ROW_ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("spki_sha256", sa.String(length=64), nullable=True),
        sa.Column("not_after", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["scan_endpoints.id"],
            name=op.f("fk_scan_certificates_endpoint_id_scan_endpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["scans.id"], name=op.f("fk_scan_certificates_scan_id_scans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_certificates")),
    )
    op.create_index(op.f("ix_scan_certificates_endpoint_id"), "scan_certificates", ["endpoint_id"])
    op.create_index(op.f("ix_scan_certificates_scan_id"), "scan_certificates", ["scan_id"])
    op.create_index(op.f("ix_scan_certificates_sha256"), "scan_certificates", ["sha256"])
    op.create_index(op.f("ix_scan_certificates_spki_sha256"), "scan_certificates", ["spki_sha256"])


def downgrade() -> None:
    # Children first; dropping a table drops its indexes with it.
    op.drop_table("scan_certificates")
    op.drop_table("scan_findings")
    op.drop_table("scan_endpoints")
    op.drop_table("scans")
