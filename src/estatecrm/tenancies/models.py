"""Tenancies: a let agreed and carried through to move-in, with deposit and right to rent."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from estatecrm.db.base import AgencyScoped, IdMixin, IdType, Model, TimestampMixin
from estatecrm.db.types import JSONType, UTCDateTime, enum_column


class TenancyTerm(enum.StrEnum):
    """Fixed term (with an end date) or periodic (the default under the Renters' Rights Act)."""

    fixed = "fixed"
    periodic = "periodic"


class RentFrequency(enum.StrEnum):
    """How often rent is due."""

    weekly = "weekly"
    monthly = "monthly"
    quarterly = "quarterly"
    annually = "annually"


class TenancyStatus(enum.StrEnum):
    """Where the tenancy is."""

    proposed = "proposed"
    active = "active"
    ending = "ending"
    ended = "ended"


class DepositScheme(enum.StrEnum):
    """The government-approved tenancy deposit schemes."""

    dps = "dps"
    mydeposits = "mydeposits"
    tds = "tds"


class RightToRentResult(enum.StrEnum):
    """The outcome of a right-to-rent check."""

    passed = "passed"
    failed = "failed"
    time_limited = "time_limited"


class Tenancy(IdMixin, AgencyScoped, TimestampMixin, Model):
    """One tenancy of a property."""

    __tablename__ = "tenancy"
    __table_args__ = (
        Index("ix_tenancy_agency_status", "agency_id", "status", "start_date"),
        Index("ix_tenancy_agency_property", "agency_id", "property_id"),
        # The compliance dashboard: deposits received but not protected.
        Index(
            "ix_tenancy_deposit_unprotected",
            "agency_id",
            "deposit_protected_date",
            "deposit_received_date",
        ),
    )

    property_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("property.id", ondelete="CASCADE"), index=True
    )
    offer_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("offer.id", ondelete="SET NULL"), index=True
    )
    landlord_contact_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    tenant_contact_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    start_date: Mapped[date] = mapped_column(Date)
    term: Mapped[TenancyTerm] = mapped_column(
        enum_column(TenancyTerm, "tenancy_term"), default=TenancyTerm.periodic
    )
    end_date: Mapped[date | None] = mapped_column(Date)
    rent_pence: Mapped[int] = mapped_column(IdType)
    rent_frequency: Mapped[RentFrequency] = mapped_column(
        enum_column(RentFrequency, "rent_frequency"), default=RentFrequency.monthly
    )
    last_rent_increase_date: Mapped[date | None] = mapped_column(Date)
    deposit_pence: Mapped[int] = mapped_column(IdType, default=0)
    deposit_scheme: Mapped[DepositScheme | None] = mapped_column(
        enum_column(DepositScheme, "deposit_scheme")
    )
    deposit_reference: Mapped[str | None] = mapped_column(String(100))
    deposit_received_date: Mapped[date | None] = mapped_column(Date)
    deposit_protected_date: Mapped[date | None] = mapped_column(Date)
    prescribed_info_served_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[TenancyStatus] = mapped_column(
        enum_column(TenancyStatus, "tenancy_status"), default=TenancyStatus.proposed
    )
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_date: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str] = mapped_column(String(500), default="")


class TenancyTenant(AgencyScoped, Model):
    """One tenant of a tenancy: an index to find a contact's tenancies."""

    __tablename__ = "tenancy_tenant"
    __table_args__ = (Index("ix_tenancy_tenant_contact", "agency_id", "contact_id"),)

    tenancy_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("tenancy.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True
    )


class RightToRentCheck(IdMixin, AgencyScoped, TimestampMixin, Model):
    """One right-to-rent check of one adult occupier of a tenancy."""

    __tablename__ = "right_to_rent_check"
    __table_args__ = (
        UniqueConstraint("tenancy_id", "contact_id", "check_date"),
        Index("ix_rtr_agency_follow_up", "agency_id", "follow_up_date"),
    )

    tenancy_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("tenancy.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    check_date: Mapped[date] = mapped_column(Date)
    document_type: Mapped[str] = mapped_column(String(100))
    result: Mapped[RightToRentResult] = mapped_column(
        enum_column(RightToRentResult, "right_to_rent_result")
    )
    expiry_date: Mapped[date | None] = mapped_column(Date)
    follow_up_date: Mapped[date | None] = mapped_column(Date)
    checked_by_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("user_account.id", ondelete="SET NULL")
    )
