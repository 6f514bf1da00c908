"""Agencies (the tenants), offices, users, web sessions and API tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from estatecrm.db.base import AgencyScoped, IdMixin, IdType, Model, TimestampMixin
from estatecrm.db.types import UTCDateTime, enum_column


class Role(enum.StrEnum):
    """What a user may do: viewers read, negotiators write, managers also delete."""

    admin = "admin"
    manager = "manager"
    negotiator = "negotiator"
    viewer = "viewer"


class Agency(IdMixin, TimestampMixin, Model):
    """A tenant: an estate or letting agency."""

    __tablename__ = "agency"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    # UK AML rules: sales offers need the buyer's ID check passed unless the agency relaxes it.
    require_aml_for_offers: Mapped[bool] = mapped_column(Boolean, default=True)


class Office(IdMixin, AgencyScoped, TimestampMixin, Model):
    """A branch of an agency."""

    __tablename__ = "office"
    __table_args__ = (UniqueConstraint("agency_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(320))


class User(IdMixin, AgencyScoped, TimestampMixin, Model):
    """A person who signs in."""

    __tablename__ = "user_account"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(500))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    office_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("office.id", ondelete="SET NULL")
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(IdMixin, AgencyScoped, Model):
    """A signed-in browser; the cookie carries only a random id, stored here hashed."""

    __tablename__ = "web_session"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user_agent: Mapped[str | None] = mapped_column(String(300))


class ApiToken(IdMixin, AgencyScoped, Model):
    """A bearer token for the JSON API, stored hashed, revocable."""

    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_user_id", "user_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("user_account.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
