"""ops: per-minute SLI counts for the error budget

Revision ID: 0002_ops
Revises: 0001_foundation
Create Date: 2026-11-27 23:56:48.612772+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import estatecrm.db.types

revision: str = "0002_ops"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sli_minute",
        sa.Column("bucket_at", estatecrm.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("slow", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("bucket_at", name=op.f("pk_sli_minute")),
    )


def downgrade() -> None:
    op.drop_table("sli_minute")
