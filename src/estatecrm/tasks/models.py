"""Tasks: things a person must do, by a date, optionally linked to any record."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from estatecrm.db.base import AgencyScoped, IdMixin, IdType, Model, TimestampMixin
from estatecrm.db.types import UTCDateTime, enum_column


class TaskPriority(enum.StrEnum):
    """How urgent a task is."""

    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class Task(IdMixin, AgencyScoped, TimestampMixin, Model):
    """One thing to do."""

    __tablename__ = "task"
    __table_args__ = (
        # An automatic task (renewal, deposit to protect) exists at most once while open;
        # NULLs never clash, so only open automatic tasks carry open_rule_key.
        UniqueConstraint("agency_id", "open_rule_key"),
        Index("ix_task_agency_assignee_open_due", "agency_id", "assignee_id", "done", "due_date"),
        Index("ix_task_agency_open_due", "agency_id", "done", "due_date"),
        Index("ix_task_agency_entity", "agency_id", "entity_type", "entity_id"),
    )

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    due_date: Mapped[date | None] = mapped_column(Date)
    priority: Mapped[TaskPriority] = mapped_column(enum_column(TaskPriority, "task_priority"))
    assignee_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("user_account.id", ondelete="SET NULL")
    )
    entity_type: Mapped[str | None] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(IdType)
    done: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # Automatic tasks: the rule that made them ("certificate-renewal:12:gas_safety").
    rule_key: Mapped[str | None] = mapped_column(String(120))
    open_rule_key: Mapped[str | None] = mapped_column(String(120))
    created_by_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("user_account.id", ondelete="SET NULL")
    )
