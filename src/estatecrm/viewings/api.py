"""Viewings JSON API (`/api/v1/viewings`), `/me` with the user's calendar feed, and the feed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from estatecrm.activity import service as activity_service
from estatecrm.activity.schemas import ActivityRead
from estatecrm.auth.deps import CurrentUser, WriterUser
from estatecrm.auth.schemas import UserRead
from estatecrm.contacts.schemas import ContactSummary
from estatecrm.db.session import SessionDep, writes_on_read
from estatecrm.kit.pagination import Page, PageParams, page_params
from estatecrm.viewings import calendar, service
from estatecrm.viewings.models import Viewing
from estatecrm.viewings.schemas import (
    ViewingApplicant,
    ViewingCancel,
    ViewingComplete,
    ViewingCreate,
    ViewingFilters,
    ViewingProperty,
    ViewingRead,
    ViewingReschedule,
    ViewingUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["viewings"])
feed_router = APIRouter(include_in_schema=False)

Paging = Annotated[PageParams, Depends(page_params)]


def read_of(item: dict[str, Any]) -> ViewingRead:
    """A described viewing (see `service.describe`) as the API shows it."""
    v: Viewing = item["viewing"]
    return ViewingRead(
        id=v.id,
        property_id=v.property_id,
        applicant_id=v.applicant_id,
        negotiator_id=v.negotiator_id,
        start_at=v.start_at,
        end_at=v.end_at,
        duration_minutes=v.duration_minutes,
        status=v.status,
        feedback=v.feedback,
        interest=v.interest,
        notes=v.notes,
        cancel_reason=v.cancel_reason,
        suggest_offer=v.suggest_offer,
        confirmed_at=v.confirmed_at,
        completed_at=v.completed_at,
        cancelled_at=v.cancelled_at,
        created_at=v.created_at,
        updated_at=v.updated_at,
        property=ViewingProperty.model_validate(item["property"]),
        applicant=ViewingApplicant(
            id=item["applicant"].id, contact=ContactSummary.model_validate(item["contact"])
        ),
        attendees=[ContactSummary.model_validate(c) for c in item["attendees"]],
    )


async def _read(session: SessionDep, user: CurrentUser, viewing: Viewing) -> ViewingRead:
    return read_of((await service.describe(session, user.agency_id, [viewing]))[0])


@router.get("/viewings", response_model=Page[ViewingRead])
async def list_viewings(
    session: SessionDep,
    user: CurrentUser,
    paging: Paging,
    filters: Annotated[ViewingFilters, Query()],
) -> Page[ViewingRead]:
    """Viewings by `negotiator_id`, `property_id`, `applicant_id`, `status`, `from`, `to`."""
    rows, total = await service.search(
        session, user, filters, limit=paging.limit, offset=paging.offset
    )
    described = await service.describe(session, user.agency_id, rows)
    return Page(
        items=[read_of(i) for i in described],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post("/viewings", response_model=ViewingRead, status_code=201)
async def book_viewing(body: ViewingCreate, session: SessionDep, user: WriterUser) -> ViewingRead:
    """Book a viewing: 409 naming the clashing viewing; 422 for a time in the past."""
    return await _read(session, user, await service.book(session, user, body))


@router.get("/viewings/{viewing_id}", response_model=ViewingRead)
async def get_viewing(viewing_id: int, session: SessionDep, user: CurrentUser) -> ViewingRead:
    """One viewing."""
    return await _read(session, user, await service.get(session, user, viewing_id))


@router.patch("/viewings/{viewing_id}", response_model=ViewingRead)
async def update_viewing(
    viewing_id: int, body: ViewingUpdate, session: SessionDep, user: WriterUser
) -> ViewingRead:
    """Change notes or attendees."""
    return await _read(session, user, await service.update(session, user, viewing_id, body))


@router.post("/viewings/{viewing_id}/confirm", response_model=ViewingRead)
async def confirm_viewing(viewing_id: int, session: SessionDep, user: WriterUser) -> ViewingRead:
    """Mark a booked viewing confirmed."""
    return await _read(session, user, await service.confirm(session, user, viewing_id))


@router.post("/viewings/{viewing_id}/reschedule", response_model=ViewingRead)
async def reschedule_viewing(
    viewing_id: int, body: ViewingReschedule, session: SessionDep, user: WriterUser
) -> ViewingRead:
    """Move a viewing (same clash rules); it goes back to booked until confirmed."""
    return await _read(session, user, await service.reschedule(session, user, viewing_id, body))


@router.post("/viewings/{viewing_id}/cancel", response_model=ViewingRead)
async def cancel_viewing(
    viewing_id: int, body: ViewingCancel, session: SessionDep, user: WriterUser
) -> ViewingRead:
    """Cancel with a reason."""
    return await _read(session, user, await service.cancel(session, user, viewing_id, body))


@router.post("/viewings/{viewing_id}/complete", response_model=ViewingRead)
async def complete_viewing(
    viewing_id: int, body: ViewingComplete, session: SessionDep, user: WriterUser
) -> ViewingRead:
    """Record feedback and interest (1-5); interest of 4 or 5 sets `suggest_offer`."""
    return await _read(session, user, await service.complete(session, user, viewing_id, body))


@router.post("/viewings/{viewing_id}/no-show", response_model=ViewingRead)
async def no_show_viewing(viewing_id: int, session: SessionDep, user: WriterUser) -> ViewingRead:
    """The applicant did not come (only after the start time)."""
    return await _read(session, user, await service.no_show(session, user, viewing_id))


@router.get("/viewings/{viewing_id}/activity", response_model=Page[ActivityRead])
async def viewing_activity(
    viewing_id: int, session: SessionDep, user: CurrentUser, paging: Paging
) -> Page[ActivityRead]:
    """The viewing's timeline, newest first."""
    await service.get(session, user, viewing_id)
    rows, total = await activity_service.timeline(
        session,
        user.agency_id,
        service.ENTITY,
        viewing_id,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page(
        items=[ActivityRead.model_validate(r) for r in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get("/me", response_model=UserRead, tags=["auth"])
@writes_on_read  # the calendar feed is made on first use
async def me(request: Request, session: SessionDep, user: CurrentUser) -> UserRead:
    """The signed-in user, with their private calendar feed URL."""
    url = await calendar.feed_url(
        session,
        user,
        secret_keys=calendar.secret_keys_of(request),
        base_url=calendar.base_url_of(request),
    )
    return UserRead.model_validate(user).model_copy(update={"calendar_feed_url": url})


class CalendarFeedRead(BaseModel):
    """The signed-in user's private calendar feed."""

    calendar_feed_url: str | None


@router.post("/me/calendar-feed", response_model=CalendarFeedRead, tags=["auth"])
async def regenerate_calendar_feed(
    request: Request, session: SessionDep, user: CurrentUser
) -> CalendarFeedRead:
    """A new private feed URL for the user's viewings; the old URL stops working."""
    url = await calendar.regenerate(
        session,
        user,
        secret_keys=calendar.secret_keys_of(request),
        base_url=calendar.base_url_of(request),
    )
    return CalendarFeedRead(calendar_feed_url=url)


@router.delete("/me/calendar-feed", status_code=204, tags=["auth"])
async def revoke_calendar_feed(session: SessionDep, user: CurrentUser) -> Response:
    """Turn the feed off (POST makes a new one)."""
    await calendar.revoke(session, user)
    return Response(status_code=204)


@feed_router.get("/calendar/{token}.ics")
@writes_on_read  # stamps when the feed was last fetched
async def calendar_feed(token: str, request: Request, session: SessionDep) -> Response:
    """A user's viewings as iCalendar; the unguessable token is the only credential."""
    owner = await calendar.owner_of(session, token)
    if owner is None:
        return Response(
            "Unknown or revoked calendar feed\n", status_code=404, media_type="text/plain"
        )
    body = await calendar.render(session, owner, base_url=calendar.base_url_of(request))
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": 'inline; filename="viewings.ics"',
            # Private data: no shared caches; calendar apps re-fetch on their own schedule.
            "Cache-Control": "private, no-cache",
            "X-Robots-Tag": "noindex",
        },
    )
