"""Sales progression: an agreed sale carried from memorandum of sale to completion."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from estatecrm.db.base import AgencyScoped, IdMixin, IdType, Model, TimestampMixin
from estatecrm.db.types import UTCDateTime, enum_column


class SaleStatus(enum.StrEnum):
    """Where the sale is."""

    in_progress = "in_progress"
    exchanged = "exchanged"
    completed = "completed"
    fallen_through = "fallen_through"


class Milestone(enum.StrEnum):
    """The steps of a sale in England, in order."""

    memorandum_sent = "memorandum_sent"
    solicitors_instructed = "solicitors_instructed"
    searches_ordered = "searches_ordered"
    searches_received = "searches_received"
    mortgage_offer = "mortgage_offer"
    survey = "survey"
    enquiries_raised = "enquiries_raised"
    enquiries_answered = "enquiries_answered"
    exchange = "exchange"
    completion = "completion"


MILESTONE_LABELS = {
    Milestone.memorandum_sent: "Memorandum of sale sent",
    Milestone.solicitors_instructed: "Solicitors instructed",
    Milestone.searches_ordered: "Searches ordered",
    Milestone.searches_received: "Searches received",
    Milestone.mortgage_offer: "Mortgage offer",
    Milestone.survey: "Survey",
    Milestone.enquiries_raised: "Enquiries raised",
    Milestone.enquiries_answered: "Enquiries answered",
    Milestone.exchange: "Exchange of contracts",
    Milestone.completion: "Completion",
}


class ChainDirection(enum.StrEnum):
    """Downward: the buyer's own sale; upward: the vendor's onward purchase."""

    upward = "upward"
    downward = "downward"


class Sale(IdMixin, AgencyScoped, TimestampMixin, Model):
    """One agreed sale."""

    __tablename__ = "sale"
    __table_args__ = (
        Index("ix_sale_agency_status", "agency_id", "status", "agreed_date"),
        Index("ix_sale_agency_property", "agency_id", "property_id"),
    )

    property_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("property.id", ondelete="CASCADE"), index=True
    )
    offer_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("offer.id", ondelete="SET NULL"), index=True
    )
    buyer_contact_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    vendor_contact_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    agreed_price_pence: Mapped[int] = mapped_column(IdType)
    agreed_date: Mapped[date] = mapped_column(Date)
    status: Mapped[SaleStatus] = mapped_column(
        enum_column(SaleStatus, "sale_status"), default=SaleStatus.in_progress
    )
    buyer_solicitor_name: Mapped[str] = mapped_column(String(200), default="")
    buyer_solicitor_firm: Mapped[str] = mapped_column(String(200), default="")
    buyer_solicitor_contact: Mapped[str] = mapped_column(String(200), default="")
    vendor_solicitor_name: Mapped[str] = mapped_column(String(200), default="")
    vendor_solicitor_firm: Mapped[str] = mapped_column(String(200), default="")
    vendor_solicitor_contact: Mapped[str] = mapped_column(String(200), default="")
    exchanged_date: Mapped[date | None] = mapped_column(Date)
    completed_date: Mapped[date | None] = mapped_column(Date)
    fall_through_reason: Mapped[str] = mapped_column(String(500), default="")
    fell_through_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SaleMilestone(AgencyScoped, Model):
    """One milestone of a sale, with its target and done dates."""

    __tablename__ = "sale_milestone"

    sale_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("sale.id", ondelete="CASCADE"), primary_key=True
    )
    milestone: Mapped[Milestone] = mapped_column(
        enum_column(Milestone, "milestone"), primary_key=True
    )
    target_date: Mapped[date | None] = mapped_column(Date)
    done_date: Mapped[date | None] = mapped_column(Date)


class ChainLink(IdMixin, AgencyScoped, TimestampMixin, Model):
    """A link in a sale's chain: another sale of ours, or one another agent handles."""

    __tablename__ = "sale_chain_link"
    __table_args__ = (UniqueConstraint("sale_id", "direction"),)

    sale_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("sale.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[ChainDirection] = mapped_column(
        enum_column(ChainDirection, "chain_direction")
    )
    linked_sale_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("sale.id", ondelete="SET NULL"), index=True
    )
    # For a sale another agency handles: what and where, and its status as last heard.
    description: Mapped[str] = mapped_column(String(300), default="")
    external_status: Mapped[str] = mapped_column(String(100), default="")
