"""Business rules of the diary: no double booking, nothing in the past, the status lifecycle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity import service as activity
from estatecrm.applicants import service as applicant_service
from estatecrm.applicants.models import Applicant, ApplicantStatus
from estatecrm.auth.models import Role, User
from estatecrm.contacts import service as contact_service
from estatecrm.errors import Conflict, NotFound, ValidationFailed
from estatecrm.kit.clock import to_london, utcnow
from estatecrm.properties import service as property_service
from estatecrm.properties.models import MarketingType, Property, PropertyStatus
from estatecrm.viewings import repository
from estatecrm.viewings.models import OPEN_STATUSES, Viewing, ViewingStatus
from estatecrm.viewings.schemas import (
    ViewingCancel,
    ViewingComplete,
    ViewingCreate,
    ViewingFilters,
    ViewingReschedule,
    ViewingUpdate,
)

ENTITY = "viewing"
# A property in one of these states is off the market: nobody can view it any more.
CLOSED_PROPERTY = (PropertyStatus.sold, PropertyStatus.let, PropertyStatus.withdrawn)

# Viewings are the applicants' and negotiators' history (feedback, who saw what): as with an
# applicant or a contact, a property that has been viewed is withdrawn, not deleted.


def _when(viewing: Viewing) -> str:
    start, end = to_london(viewing.start_at), to_london(viewing.end_at)
    return f"{start:%a} {start.day} {start:%b %Y %H:%M}\u2013{end:%H:%M}"


def _iso(value: datetime) -> str:
    # The same form the API uses for times everywhere else.
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def get(session: AsyncSession, user: User, viewing_id: int) -> Viewing:
    """A viewing of the user's agency; 404 when missing or foreign."""
    viewing = await repository.get(session, user.agency_id, viewing_id)
    if viewing is None:
        raise NotFound("Viewing not found")
    return viewing


async def _lock_for_booking(
    session: AsyncSession, agency_id: int, property_id: int, negotiator_id: int
) -> tuple[Property, User]:
    prop = await repository.lock_property(session, agency_id, property_id)
    if prop is None:
        raise ValidationFailed("property_id", "No such property in your agency")
    negotiator = await repository.lock_negotiator(session, agency_id, negotiator_id)
    if negotiator is None:
        raise ValidationFailed("negotiator_id", "No such active negotiator in your agency")
    if negotiator.role == Role.viewer:
        raise ValidationFailed("negotiator_id", "Read-only users cannot hold viewings")
    return prop, negotiator


def _check_future(start_at: datetime) -> None:
    if start_at <= utcnow():
        raise ValidationFailed("start_at", "Viewings cannot be booked in the past")


async def _refuse_clash(
    session: AsyncSession,
    agency_id: int,
    *,
    start_at: datetime,
    end_at: datetime,
    negotiator_id: int,
    property_id: int,
    exclude_id: int | None = None,
) -> None:
    clash = await repository.find_clash(
        session,
        agency_id,
        start_at=start_at,
        end_at=end_at,
        negotiator_id=negotiator_id,
        property_id=property_id,
        exclude_id=exclude_id,
    )
    if clash is None:
        return
    reasons = []
    if clash.negotiator_id == negotiator_id:
        reasons.append("negotiator")
    if clash.property_id == property_id:
        reasons.append("property")
    prop = await property_service.find(session, agency_id, clash.property_id)
    where = f"{prop.address_line1}, {prop.city}" if prop else f"property #{clash.property_id}"
    whose = " and ".join(f"the same {r}" for r in reasons)
    raise Conflict(
        f"Clashes with viewing #{clash.id} at {where}, {_when(clash)} ({whose})",
        field="start_at",
        detail={
            "clashing_viewing_id": clash.id,
            "clash_on": reasons,
            "start_at": _iso(clash.start_at),
            "end_at": _iso(clash.end_at),
        },
    )


async def _check_attendees(session: AsyncSession, agency_id: int, ids: Sequence[int]) -> None:
    found = await contact_service.get_many(session, agency_id, ids)
    if set(ids) - set(found):
        raise ValidationFailed("attendee_contact_ids", "No such contact in your agency")


def _check_fit(prop: Property, applicant: Applicant) -> None:
    if prop.status in CLOSED_PROPERTY:
        raise Conflict(
            f"{prop.address_line1} is {prop.status.value.replace('_', ' ')}: it cannot be viewed",
            field="property_id",
        )
    if applicant.status == ApplicantStatus.archived:
        raise Conflict(
            "This applicant is archived; set them live again first", field="applicant_id"
        )
    if applicant.marketing_type != prop.marketing_type:
        wants = "buy" if applicant.marketing_type == MarketingType.sale else "rent"
        offered = "for sale" if prop.marketing_type == MarketingType.sale else "to let"
        raise Conflict(
            f"The applicant is looking to {wants}; this property is {offered}",
            field="applicant_id",
        )


async def book(session: AsyncSession, user: User, data: ViewingCreate) -> Viewing:
    """Book a viewing; 409 naming the clashing viewing when the negotiator or property is taken."""
    agency_id = user.agency_id
    start_at = data.start_at.astimezone(UTC)
    _check_future(start_at)
    applicant = await applicant_service.find(session, agency_id, data.applicant_id)
    if applicant is None:
        raise ValidationFailed("applicant_id", "No such applicant in your agency")
    negotiator_id = data.negotiator_id if data.negotiator_id is not None else user.id
    prop, _ = await _lock_for_booking(session, agency_id, data.property_id, negotiator_id)
    _check_fit(prop, applicant)
    await _check_attendees(session, agency_id, data.attendee_contact_ids)
    end_at = start_at + timedelta(minutes=data.duration_minutes)
    await _refuse_clash(
        session,
        agency_id,
        start_at=start_at,
        end_at=end_at,
        negotiator_id=negotiator_id,
        property_id=prop.id,
    )
    viewing = Viewing(
        agency_id=agency_id,
        property_id=prop.id,
        applicant_id=applicant.id,
        negotiator_id=negotiator_id,
        start_at=start_at,
        end_at=end_at,
        duration_minutes=data.duration_minutes,
        status=ViewingStatus.booked,
        notes=data.notes,
        feedback="",
        booked_by_user_id=user.id,
        sequence=0,
    )
    await repository.add(session, viewing)
    await repository.set_attendees(
        session, viewing, [applicant.contact_id, *data.attendee_contact_ids]
    )
    contact = await contact_service.find(session, agency_id, applicant.contact_id)
    who = f"{contact.first_name} {contact.last_name}" if contact else "applicant"
    summary = f"Booked {_when(viewing)} with {who}"
    changes = activity.diff({}, _snapshot(viewing))
    await activity.log(session, user, viewing, "created", summary, changes)
    summary = f"Viewing #{viewing.id} booked {_when(viewing)} with {who}"
    await activity.log(session, user, prop, "viewing_booked", summary)
    return viewing


TRACKED = [
    "negotiator_id",
    "start_at",
    "end_at",
    "duration_minutes",
    "status",
    "feedback",
    "interest",
    "notes",
    "cancel_reason",
]


def _snapshot(viewing: Viewing) -> dict[str, Any]:
    return {name: getattr(viewing, name) for name in TRACKED}


async def _save_change(
    session: AsyncSession,
    user: User,
    viewing: Viewing,
    before: dict[str, Any],
    action: str,
    summary: str,
) -> None:
    """Stamp and flush a change of the viewing, and log what changed since `before`."""
    viewing.updated_at = utcnow()
    await session.flush()
    await activity.log(
        session, user, viewing, action, summary, activity.diff(before, _snapshot(viewing))
    )


async def _open(session: AsyncSession, user: User, viewing_id: int, verb: str) -> Viewing:
    viewing = await repository.get_for_update(session, user.agency_id, viewing_id)
    if viewing is None:
        raise NotFound("Viewing not found")
    if viewing.status not in OPEN_STATUSES:
        raise Conflict(
            f"A {viewing.status.value.replace('_', ' ')} viewing cannot be {verb}", field="status"
        )
    return viewing


async def update(
    session: AsyncSession, user: User, viewing_id: int, data: ViewingUpdate
) -> Viewing:
    """Change a viewing's notes or who attends."""
    viewing = await get(session, user, viewing_id)
    before = _snapshot(viewing)
    values = data.model_dump(exclude_unset=True)
    if values.get("notes") is not None:
        viewing.notes = values["notes"]
    if values.get("attendee_contact_ids") is not None:
        ids = values["attendee_contact_ids"]
        await _check_attendees(session, user.agency_id, ids)
        applicant = await applicant_service.find(session, user.agency_id, viewing.applicant_id)
        keep = [applicant.contact_id] if applicant else []
        await repository.set_attendees(session, viewing, [*keep, *ids])
    await _save_change(session, user, viewing, before, "updated", "Changed notes or attendees")
    return viewing


async def confirm(session: AsyncSession, user: User, viewing_id: int) -> Viewing:
    """The applicant (and the owner) have confirmed they will be there."""
    viewing = await _open(session, user, viewing_id, "confirmed")
    if viewing.status == ViewingStatus.confirmed:
        return viewing
    before = _snapshot(viewing)
    viewing.status = ViewingStatus.confirmed
    viewing.confirmed_at = utcnow()
    viewing.sequence += 1
    await _save_change(session, user, viewing, before, "status_changed", "Confirmed")
    return viewing


async def reschedule(
    session: AsyncSession, user: User, viewing_id: int, data: ViewingReschedule
) -> Viewing:
    """Move a viewing to a new time (same clash rules); it needs confirming again."""
    agency_id = user.agency_id
    viewing = await _open(session, user, viewing_id, "rescheduled")
    start_at = data.start_at.astimezone(UTC)
    _check_future(start_at)
    negotiator_id = data.negotiator_id or viewing.negotiator_id or user.id
    duration = data.duration_minutes or viewing.duration_minutes
    await _lock_for_booking(session, agency_id, viewing.property_id, negotiator_id)
    end_at = start_at + timedelta(minutes=duration)
    await _refuse_clash(
        session,
        agency_id,
        start_at=start_at,
        end_at=end_at,
        negotiator_id=negotiator_id,
        property_id=viewing.property_id,
        exclude_id=viewing.id,
    )
    before = _snapshot(viewing)
    old = _when(viewing)
    viewing.start_at, viewing.end_at, viewing.duration_minutes = start_at, end_at, duration
    viewing.negotiator_id = negotiator_id
    viewing.status = ViewingStatus.booked
    viewing.confirmed_at = None
    viewing.sequence += 1
    await _save_change(
        session, user, viewing, before, "rescheduled", f"Moved from {old} to {_when(viewing)}"
    )
    return viewing


async def cancel(
    session: AsyncSession, user: User, viewing_id: int, data: ViewingCancel
) -> Viewing:
    """Cancel with a reason; the slot is free again."""
    viewing = await _open(session, user, viewing_id, "cancelled")
    before = _snapshot(viewing)
    viewing.status = ViewingStatus.cancelled
    viewing.cancel_reason = data.reason
    viewing.cancelled_at = utcnow()
    viewing.sequence += 1
    await _save_change(
        session, user, viewing, before, "status_changed", f"Cancelled: {data.reason}"
    )
    return viewing


async def complete(
    session: AsyncSession, user: User, viewing_id: int, data: ViewingComplete
) -> Viewing:
    """Record the applicant's feedback and interest (feedback is often taken on the doorstep)."""
    viewing = await _open(session, user, viewing_id, "completed")
    before = _snapshot(viewing)
    viewing.status = ViewingStatus.completed
    viewing.feedback = data.feedback
    viewing.interest = data.interest
    viewing.completed_at = utcnow()
    viewing.sequence += 1
    await _save_change(
        session, user, viewing, before, "status_changed", f"Completed, interest {data.interest}/5"
    )
    summary = f"Viewing #{viewing.id}: interest {data.interest}/5. {data.feedback}"
    await activity.log(
        session, user, ("property", viewing.property_id), "viewing_feedback", summary
    )
    return viewing


async def no_show(session: AsyncSession, user: User, viewing_id: int) -> Viewing:
    """The applicant did not turn up (only once the viewing has started)."""
    viewing = await _open(session, user, viewing_id, "marked as a no-show")
    if viewing.start_at > utcnow():
        raise Conflict("The viewing has not started yet", field="status")
    before = _snapshot(viewing)
    viewing.status = ViewingStatus.no_show
    viewing.sequence += 1
    await _save_change(
        session, user, viewing, before, "status_changed", "Applicant did not turn up"
    )
    return viewing


async def search(
    session: AsyncSession, user: User, filters: ViewingFilters, *, limit: int, offset: int
) -> tuple[Sequence[Viewing], int]:
    """A page of the agency's viewings."""
    return await repository.search(session, user.agency_id, filters, limit=limit, offset=offset)


async def in_range(
    session: AsyncSession,
    agency_id: int,
    start: datetime,
    end: datetime,
    *,
    negotiator_ids: Sequence[int] | None = None,
    include_cancelled: bool = False,
) -> Sequence[Viewing]:
    """Viewings overlapping a time range (diary weeks, calendar feeds)."""
    return await repository.in_range(
        session,
        agency_id,
        start,
        end,
        negotiator_ids=negotiator_ids,
        include_cancelled=include_cancelled,
    )


async def for_contact(session: AsyncSession, user: User, contact_id: int) -> Sequence[Viewing]:
    """A contact's viewings, newest first."""
    return await repository.for_contact(session, user.agency_id, contact_id)


async def describe(
    session: AsyncSession, agency_id: int, viewings: Sequence[Viewing]
) -> list[dict[str, Any]]:
    """Viewings with their property, applicant, contacts and negotiator: five queries, any size."""
    props = await property_service.get_many(session, agency_id, [v.property_id for v in viewings])
    applicants = await applicant_service.get_many_with_contacts(
        session, agency_id, [v.applicant_id for v in viewings]
    )
    attendee_ids = await repository.attendees_of(session, agency_id, [v.id for v in viewings])
    contacts = await contact_service.get_many(
        session, agency_id, [c for ids in attendee_ids.values() for c in ids]
    )
    users = await repository.users_by_id(
        session, agency_id, [v.negotiator_id for v in viewings if v.negotiator_id]
    )
    described = []
    for v in viewings:
        applicant, contact = applicants[v.applicant_id]
        described.append(
            {
                "viewing": v,
                "property": props[v.property_id],
                "applicant": applicant,
                "contact": contact,
                "attendees": [contacts[c] for c in attendee_ids.get(v.id, []) if c in contacts],
                "negotiator": users.get(v.negotiator_id) if v.negotiator_id else None,
            }
        )
    return described
