"""The domain-event outbox: each event is written in the transaction of the change it reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from estatecrm.db.base import AgencyScoped, IdMixin, Model
from estatecrm.db.types import JSONType, UTCDateTime
from estatecrm.kit.clock import utcnow


class DomainEvent(IdMixin, AgencyScoped, Model):
    """One thing that happened (`property.created`), with the record as the API returns it."""

    __tablename__ = "domain_event"
    __table_args__ = (Index("ix_domain_event_undispatched", "dispatched_at", "occurred_at"),)

    type: Mapped[str] = mapped_column(String(80))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set when every listener has had it; the sweep re-dispatches events left without it.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
