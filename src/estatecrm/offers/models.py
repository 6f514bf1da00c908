"""Offers: an applicant's offer on a property (a price, or a rent pcm for lettings)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from estatecrm.db.base import AgencyScoped, IdMixin, IdType, Model, TimestampMixin
from estatecrm.db.types import UTCDateTime, enum_column


class OfferStatus(enum.StrEnum):
    """Where an offer stands."""

    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"
    withdrawn = "withdrawn"
    countered = "countered"


# Offers still waiting on a decision (a countered one waits for the applicant's answer).
OPEN_STATUSES = (OfferStatus.pending, OfferStatus.countered)


class Offer(IdMixin, AgencyScoped, TimestampMixin, Model):
    """One offer by an applicant on a property."""

    __tablename__ = "offer"
    __table_args__ = (
        Index("ix_offer_agency_property_status", "agency_id", "property_id", "status"),
        Index("ix_offer_agency_applicant", "agency_id", "applicant_id", "created_at"),
        Index("ix_offer_agency_status_created", "agency_id", "status", "created_at"),
    )

    property_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("property.id", ondelete="CASCADE"), index=True
    )
    applicant_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("applicant.id", ondelete="CASCADE"), index=True
    )
    # The buyer or tenant: the applicant's contact when the offer was made.
    contact_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    amount_pence: Mapped[int] = mapped_column(IdType)
    conditions: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[OfferStatus] = mapped_column(
        enum_column(OfferStatus, "offer_status"), default=OfferStatus.pending
    )
    counter_amount_pence: Mapped[int | None] = mapped_column(IdType)
    # Why it was rejected or withdrawn ("another offer accepted", ...).
    reason: Mapped[str] = mapped_column(String(500), default="")
    # Lettings: when the tenant wants to move in, and for how long (months; none = periodic).
    proposed_move_in_date: Mapped[date | None] = mapped_column(Date)
    proposed_term_months: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("user_account.id", ondelete="SET NULL")
    )
