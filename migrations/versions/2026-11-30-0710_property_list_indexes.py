"""property list indexes: town and district indexes that also filter, sort and count

Revision ID: 0008_property_list_indexes
Revises: 0006_backoffice
Create Date: 2026-11-30 07:10:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_property_list_indexes"
down_revision: str | None = "0006_backoffice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_property_agency_city", table_name="property")
    op.create_index(
        "ix_property_agency_city",
        "property",
        ["agency_id", "city", "status", "created_at"],
        postgresql_include=["marketing_type", "property_type", "bedrooms", "price_pence"],
    )
    op.drop_index("ix_property_agency_district", table_name="property")
    op.create_index(
        "ix_property_agency_district",
        "property",
        ["agency_id", "postcode_district", "marketing_type", "price_pence"],
        postgresql_include=["status", "property_type", "bedrooms", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_property_agency_district", table_name="property")
    op.create_index("ix_property_agency_district", "property", ["agency_id", "postcode_district"])
    op.drop_index("ix_property_agency_city", table_name="property")
    op.create_index("ix_property_agency_city", "property", ["agency_id", "city"])
