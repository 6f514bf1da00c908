"""Maintenance jobs: repairs reported on a property, quoted, approved, done and paid for."""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from estatecrm.db.base import AgencyScoped, IdMixin, IdType, Model, TimestampMixin
from estatecrm.db.types import enum_column


class JobPriority(enum.StrEnum):
    """How urgent the repair is (urgent: no heating, no water, unsafe)."""

    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class JobStatus(enum.StrEnum):
    """Where the job is."""

    reported = "reported"
    quoted = "quoted"
    approved = "approved"
    in_progress = "in_progress"
    done = "done"


class MaintenanceJob(IdMixin, AgencyScoped, TimestampMixin, Model):
    """One repair or maintenance job."""

    __tablename__ = "maintenance_job"
    __table_args__ = (
        Index("ix_maintenance_agency_status", "agency_id", "status", "priority"),
        Index("ix_maintenance_agency_property", "agency_id", "property_id", "reported_date"),
    )

    property_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("property.id", ondelete="CASCADE"), index=True
    )
    reported_by_contact_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    contractor_contact_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[JobPriority] = mapped_column(
        enum_column(JobPriority, "job_priority"), default=JobPriority.normal
    )
    status: Mapped[JobStatus] = mapped_column(
        enum_column(JobStatus, "job_status"), default=JobStatus.reported
    )
    quote_pence: Mapped[int | None] = mapped_column(IdType)
    cost_pence: Mapped[int | None] = mapped_column(IdType)
    reported_date: Mapped[date] = mapped_column(Date)
    quoted_date: Mapped[date | None] = mapped_column(Date)
    approved_date: Mapped[date | None] = mapped_column(Date)
    started_date: Mapped[date | None] = mapped_column(Date)
    completed_date: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("user_account.id", ondelete="SET NULL")
    )
