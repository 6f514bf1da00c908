"""Viewing schemas: the API contract, also used to validate the HTML forms."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from estatecrm.contacts.schemas import ContactSummary
from estatecrm.kit.clock import LONDON
from estatecrm.viewings.models import MAX_DURATION_MINUTES, ViewingStatus

Duration = Annotated[int, Field(ge=5, le=MAX_DURATION_MINUTES)]
Notes = Annotated[str, StringConstraints(max_length=5_000)]
Attendees = Annotated[list[int], Field(max_length=10)]


class ViewingCreate(BaseModel):
    """`POST /api/v1/viewings`: times carry their offset (`2027-03-28T10:00:00+01:00`)."""

    model_config = ConfigDict(extra="forbid")

    property_id: int
    applicant_id: int
    negotiator_id: int | None = Field(default=None, description="Defaults to the booking user")
    start_at: AwareDatetime
    duration_minutes: Duration = 30
    notes: Notes = ""
    attendee_contact_ids: Attendees = Field(
        default=[], description="Other contacts attending; the applicant's contact always is"
    )


class ViewingUpdate(BaseModel):
    """`PATCH /api/v1/viewings/{id}`: notes and attendees (times change by rescheduling)."""

    model_config = ConfigDict(extra="forbid")

    notes: Notes | None = None
    attendee_contact_ids: Attendees | None = None


class ViewingReschedule(BaseModel):
    """`POST /api/v1/viewings/{id}/reschedule`: a new time (the clash rules apply again)."""

    model_config = ConfigDict(extra="forbid")

    start_at: AwareDatetime
    duration_minutes: Duration | None = None
    negotiator_id: int | None = None


class ViewingCancel(BaseModel):
    """`POST /api/v1/viewings/{id}/cancel`."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ViewingComplete(BaseModel):
    """`POST /api/v1/viewings/{id}/complete`: what the applicant thought."""

    model_config = ConfigDict(extra="forbid")

    feedback: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5_000)
    ]
    interest: Annotated[int, Field(ge=1, le=5, description="1 (not for them) to 5 (wants it)")]


class ViewingProperty(BaseModel):
    """The property of a viewing, as lists show it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    reference: str
    address_line1: str
    city: str
    postcode: str


class ViewingApplicant(BaseModel):
    """The applicant of a viewing, with their contact."""

    id: int
    contact: ContactSummary


class ViewingRead(BaseModel):
    """A viewing as the API returns it."""

    id: int
    property_id: int
    applicant_id: int
    negotiator_id: int | None
    start_at: datetime
    end_at: datetime
    duration_minutes: int
    status: ViewingStatus
    feedback: str
    interest: int | None
    notes: str
    cancel_reason: str | None
    suggest_offer: bool
    confirmed_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    property: ViewingProperty
    applicant: ViewingApplicant
    attendees: list[ContactSummary]


def _london_bound(value: Any, *, end: bool) -> Any:
    """A date means that whole London day; a naive time is London time; else as given."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and len(value) == 10:
        day = date.fromisoformat(value)
        if end:
            day += timedelta(days=1)
        return datetime.combine(day, time(0), tzinfo=LONDON)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=LONDON)
    return value


def _from_bound(value: Any) -> Any:
    try:
        return _london_bound(value, end=False)
    except ValueError:
        raise ValueError("Use a date (2027-03-28) or a date and time (2027-03-28T09:00Z)") from None


def _to_bound(value: Any) -> Any:
    try:
        return _london_bound(value, end=True)
    except ValueError:
        raise ValueError("Use a date (2027-03-28) or a date and time (2027-03-28T18:00Z)") from None


class ViewingFilters(BaseModel):
    """List filters: `from`/`to` take a date (a London day) or a date and time."""

    model_config = ConfigDict(populate_by_name=True)

    negotiator_id: int | None = None
    property_id: int | None = None
    applicant_id: int | None = None
    contact_id: int | None = None
    status: ViewingStatus | None = None
    from_: Annotated[AwareDatetime | None, BeforeValidator(_from_bound)] = Field(
        default=None, alias="from"
    )
    to: Annotated[AwareDatetime | None, BeforeValidator(_to_bound)] = None
    sort: Annotated[str, StringConstraints(pattern=r"^-?start_at$")] = "start_at"
