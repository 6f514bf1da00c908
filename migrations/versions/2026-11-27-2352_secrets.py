"""secrets: encrypted property access codes

Revision ID: 0004_secrets
Revises: 0001_foundation
Create Date: 2026-11-27 23:52:38.479299+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_secrets"
down_revision: str | None = "0002_ops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Key safe / alarm code, stored as a Fernet token (estatecrm.kit.crypto.EncryptedString).
    with op.batch_alter_table("property", schema=None) as batch_op:
        batch_op.add_column(sa.Column("access_code", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("property", schema=None) as batch_op:
        batch_op.drop_column("access_code")
