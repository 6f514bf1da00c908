"""The audit trail: every create, update and status change, who did it and what changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from estatecrm.db.base import AgencyScoped, IdMixin, IdType, Model
from estatecrm.db.types import JSONType, UTCDateTime
from estatecrm.kit.clock import utcnow


class Activity(IdMixin, AgencyScoped, Model):
    """One thing that happened to one record."""

    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_entity", "agency_id", "entity_type", "entity_id", "created_at"),
    )

    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(IdType)
    action: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(String(500), default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    actor_user_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
