"""Viewings (the diary) and each user's private calendar feed."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from estatecrm.db.base import AgencyScoped, IdMixin, IdType, Model, TimestampMixin
from estatecrm.db.types import UTCDateTime, enum_column


class ViewingStatus(enum.StrEnum):
    """Where a viewing is in its life."""

    booked = "booked"
    confirmed = "confirmed"
    completed = "completed"
    cancelled = "cancelled"
    no_show = "no_show"


OPEN_STATUSES = (ViewingStatus.booked, ViewingStatus.confirmed)
# Interest (1-5) from which a completed viewing prompts the negotiator to ask for an offer.
OFFER_PROMPT_INTEREST = 4
MAX_DURATION_MINUTES = 480


class Viewing(IdMixin, AgencyScoped, TimestampMixin, Model):
    """An appointment to show a property to an applicant."""

    __tablename__ = "viewing"
    __table_args__ = (
        Index("ix_viewing_negotiator_start", "agency_id", "negotiator_id", "start_at"),
        Index("ix_viewing_property_start", "agency_id", "property_id", "start_at"),
        Index("ix_viewing_applicant_start", "agency_id", "applicant_id", "start_at"),
        Index("ix_viewing_agency_start", "agency_id", "start_at"),
    )

    property_id: Mapped[int] = mapped_column(IdType, ForeignKey("property.id", ondelete="CASCADE"))
    # Applicants with viewings are archived, not deleted: the service refuses, the FK backs it.
    applicant_id: Mapped[int] = mapped_column(IdType, ForeignKey("applicant.id"))
    negotiator_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("user_account.id", ondelete="SET NULL")
    )
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Stored so overlap checks and diary ranges are plain indexed comparisons.
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int] = mapped_column(Integer, default=30)
    status: Mapped[ViewingStatus] = mapped_column(
        enum_column(ViewingStatus, "viewing_status"), default=ViewingStatus.booked
    )
    feedback: Mapped[str] = mapped_column(Text, default="")
    interest: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    booked_by_user_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("user_account.id", ondelete="SET NULL")
    )
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # iCalendar SEQUENCE: bumped whenever the time or status changes so calendars update.
    sequence: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def suggest_offer(self) -> bool:
        """A completed viewing with high interest: the negotiator should ask for an offer."""
        return (
            self.status == ViewingStatus.completed
            and self.interest is not None
            and self.interest >= OFFER_PROMPT_INTEREST
        )


class ViewingAttendee(AgencyScoped, Model):
    """A contact attending a viewing (the applicant's contact, a partner, a parent...)."""

    __tablename__ = "viewing_attendee"
    __table_args__ = (Index("ix_viewing_attendee_contact", "agency_id", "contact_id"),)

    viewing_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("viewing.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True
    )


class CalendarFeed(IdMixin, AgencyScoped, Model):
    """A user's private iCalendar feed; only a hash of its secret token is stored."""

    __tablename__ = "calendar_feed"

    user_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    # The token is an HMAC of this salt under the secret key: the URL can be shown again,
    # yet the database alone (a backup, a leak) never reveals a working feed URL.
    salt: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
