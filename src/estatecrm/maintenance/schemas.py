"""Maintenance job schemas: the API contract, also used to validate the HTML forms."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from estatecrm.maintenance.models import JobPriority, JobStatus

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=10_000)]
Pence = Annotated[int, Field(ge=0, le=10_000_000_00)]


class JobCreate(BaseModel):
    """`POST /api/v1/maintenance`."""

    model_config = ConfigDict(extra="forbid")

    property_id: int
    title: Title
    description: Description = ""
    priority: JobPriority = JobPriority.normal
    reported_by_contact_id: int | None = None
    contractor_contact_id: int | None = None
    reported_date: date | None = Field(default=None, description="Defaults to today (UK)")
    quote_pence: Pence | None = None


class JobUpdate(BaseModel):
    """`PATCH /api/v1/maintenance/{id}`: any subset; a status change stamps its date."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    priority: JobPriority | None = None
    status: JobStatus | None = None
    reported_by_contact_id: int | None = None
    contractor_contact_id: int | None = None
    quote_pence: Pence | None = None
    cost_pence: Pence | None = None
    quoted_date: date | None = None
    approved_date: date | None = None
    started_date: date | None = None
    completed_date: date | None = None
    # The day a status change happened (default: today in the UK).
    on_date: date | None = None


class JobRead(BaseModel):
    """A maintenance job as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    property_id: int
    property_address: str = ""
    title: str
    description: str
    priority: JobPriority
    status: JobStatus
    reported_by_contact_id: int | None
    contractor_contact_id: int | None
    quote_pence: int | None
    cost_pence: int | None
    reported_date: date
    quoted_date: date | None
    approved_date: date | None
    started_date: date | None
    completed_date: date | None
    created_at: datetime
    updated_at: datetime


class JobFilters(BaseModel):
    """List filters."""

    status: JobStatus | None = None
    priority: JobPriority | None = None
    property_id: int | None = None
    contact_id: int | None = None
    open: bool | None = None
