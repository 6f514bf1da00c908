"""Declarative base with a naming convention, and the columns every table shares."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from estatecrm.db.types import UTCDateTime
from estatecrm.kit.clock import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class Model(DeclarativeBase):
    """Base class of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Set in Model.metadata.info by estatecrm.models once every feature's tables are declared.
COMPLETE = "estatecrm_all_tables"


def all_tables() -> MetaData:
    """The metadata of every table, for code below the features (backups, key rotation).

    db and ops may not import the features, so they cannot load the tables themselves; the entry
    points (main.py, the CLI, Alembic, the tests) import estatecrm.models, which does. Asking
    before that is a wiring bug, refused rather than answered with half the tables.
    """
    if not Model.metadata.info.get(COMPLETE):
        raise RuntimeError("estatecrm.models is not imported: the table list would be incomplete")
    return Model.metadata


class IdMixin:
    """An auto-incrementing integer primary key."""

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)


class TimestampMixin:
    """`created_at` and `updated_at`, in UTC."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class AgencyScoped:
    """Every tenant row carries the agency it belongs to; no query may cross it."""

    @declared_attr
    def agency_id(cls) -> Mapped[int]:
        return mapped_column(
            IdType, ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True
        )
