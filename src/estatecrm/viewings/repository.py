"""Queries over viewings and calendar feeds; the only place that builds viewing SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.applicants.models import Applicant
from estatecrm.auth.models import User
from estatecrm.db.scoping import cross_agency
from estatecrm.properties.models import Property
from estatecrm.viewings.models import (
    MAX_DURATION_MINUTES,
    CalendarFeed,
    Viewing,
    ViewingAttendee,
    ViewingStatus,
)
from estatecrm.viewings.schemas import ViewingFilters


async def get(session: AsyncSession, agency_id: int, viewing_id: int) -> Viewing | None:
    """A viewing of this agency, or None (also for another agency's)."""
    return await session.scalar(select(Viewing).where(Viewing.id == viewing_id))


async def get_for_update(session: AsyncSession, agency_id: int, viewing_id: int) -> Viewing | None:
    """A viewing, row-locked until the transaction ends."""
    return await session.scalar(select(Viewing).where(Viewing.id == viewing_id).with_for_update())


async def lock_property(session: AsyncSession, agency_id: int, property_id: int) -> Property | None:
    """The property, locked against concurrent bookings (FOR NO KEY UPDATE on PostgreSQL).

    Every booking locks its property, then its negotiator, in that order: two bookings that
    could clash queue on the same row instead of both passing the overlap check.
    """
    return await session.scalar(
        select(Property).where(Property.id == property_id).with_for_update(key_share=True)
    )


async def lock_negotiator(session: AsyncSession, agency_id: int, user_id: int) -> User | None:
    """The negotiator, locked against concurrent bookings (see `lock_property`)."""
    return await session.scalar(
        select(User)
        .where(User.id == user_id, User.is_active.is_(True))
        .with_for_update(key_share=True)
    )


async def users_by_id(session: AsyncSession, agency_id: int, ids: Sequence[int]) -> dict[int, User]:
    """Users by id in one query (negotiators beside viewings, active or not)."""
    if not ids:
        return {}
    rows = await session.scalars(select(User).where(User.id.in_(set(ids))))
    return {u.id: u for u in rows}


async def find_clash(
    session: AsyncSession,
    agency_id: int,
    *,
    start_at: datetime,
    end_at: datetime,
    negotiator_id: int | None,
    property_id: int,
    exclude_id: int | None = None,
) -> Viewing | None:
    """The earliest non-cancelled viewing of the same negotiator or property that overlaps."""
    same: list[ColumnElement[bool]] = [Viewing.property_id == property_id]
    if negotiator_id is not None:
        same.append(Viewing.negotiator_id == negotiator_id)
    stmt = select(Viewing).where(
        Viewing.status != ViewingStatus.cancelled,
        # Half-open intervals: back-to-back viewings (10:00-10:30, 10:30-11:00) do not clash.
        Viewing.start_at < end_at,
        Viewing.end_at > start_at,
        # Bounds the index range scan: nothing longer than the maximum duration exists.
        Viewing.start_at > start_at - timedelta(minutes=MAX_DURATION_MINUTES),
        or_(*same),
    )
    if exclude_id is not None:
        stmt = stmt.where(Viewing.id != exclude_id)
    return await session.scalar(stmt.order_by(Viewing.start_at, Viewing.id).limit(1))


def _conditions(agency_id: int, f: ViewingFilters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.negotiator_id is not None:
        conds.append(Viewing.negotiator_id == f.negotiator_id)
    if f.property_id is not None:
        conds.append(Viewing.property_id == f.property_id)
    if f.applicant_id is not None:
        conds.append(Viewing.applicant_id == f.applicant_id)
    if f.contact_id is not None:
        conds.append(
            Viewing.id.in_(
                select(ViewingAttendee.viewing_id).where(
                    ViewingAttendee.contact_id == f.contact_id,
                )
            )
        )
    if f.status is not None:
        conds.append(Viewing.status == f.status)
    if f.from_ is not None:
        conds.append(Viewing.end_at > f.from_)
    if f.to is not None:
        conds.append(Viewing.start_at < f.to)
    return conds


async def search(
    session: AsyncSession, agency_id: int, filters: ViewingFilters, *, limit: int, offset: int
) -> tuple[Sequence[Viewing], int]:
    """One page of viewings matching the filters, and the total count."""
    conds = _conditions(agency_id, filters)
    order = (
        (Viewing.start_at.desc(), Viewing.id.desc())
        if filters.sort.startswith("-")
        else (Viewing.start_at.asc(), Viewing.id.asc())
    )
    rows = await session.scalars(
        select(Viewing).where(*conds).order_by(*order).limit(limit).offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(Viewing).where(*conds))
    return rows.all(), int(total or 0)


async def in_range(
    session: AsyncSession,
    agency_id: int,
    start: datetime,
    end: datetime,
    *,
    negotiator_ids: Sequence[int] | None = None,
    include_cancelled: bool = False,
    limit: int = 2000,
) -> Sequence[Viewing]:
    """Viewings overlapping [start, end) in time order (the diary and the calendar feed)."""
    stmt = select(Viewing).where(Viewing.start_at < end, Viewing.end_at > start)
    if negotiator_ids is not None:
        stmt = stmt.where(Viewing.negotiator_id.in_(list(negotiator_ids)))
    if not include_cancelled:
        stmt = stmt.where(Viewing.status != ViewingStatus.cancelled)
    rows = await session.scalars(stmt.order_by(Viewing.start_at, Viewing.id).limit(limit))
    return rows.all()


async def add(session: AsyncSession, viewing: Viewing) -> Viewing:
    """Insert a viewing."""
    session.add(viewing)
    await session.flush()
    return viewing


async def attendees_of(
    session: AsyncSession, agency_id: int, viewing_ids: Sequence[int]
) -> dict[int, list[int]]:
    """Contact ids attending each viewing, in one query."""
    if not viewing_ids:
        return {}
    rows = await session.execute(
        select(ViewingAttendee.viewing_id, ViewingAttendee.contact_id)
        .where(
            ViewingAttendee.viewing_id.in_(set(viewing_ids)),
        )
        .order_by(ViewingAttendee.viewing_id, ViewingAttendee.contact_id)
    )
    found: dict[int, list[int]] = {}
    for viewing_id, contact_id in rows.tuples():
        found.setdefault(viewing_id, []).append(contact_id)
    return found


async def set_attendees(
    session: AsyncSession, viewing: Viewing, contact_ids: Sequence[int]
) -> None:
    """Replace who attends a viewing."""
    await session.execute(delete(ViewingAttendee).where(ViewingAttendee.viewing_id == viewing.id))
    for contact_id in dict.fromkeys(contact_ids):
        session.add(
            ViewingAttendee(
                agency_id=viewing.agency_id, viewing_id=viewing.id, contact_id=contact_id
            )
        )
    await session.flush()


async def reassign_attendee(session: AsyncSession, agency_id: int, from_id: int, to_id: int) -> int:
    """Move one contact's attendances to another (merging); no viewing lists anyone twice."""
    both = select(ViewingAttendee.viewing_id).where(ViewingAttendee.contact_id == to_id)
    await session.execute(
        delete(ViewingAttendee).where(
            ViewingAttendee.contact_id == from_id,
            ViewingAttendee.viewing_id.in_(both),
        )
    )
    result = await session.execute(
        update(ViewingAttendee)
        .where(ViewingAttendee.contact_id == from_id)
        .values(contact_id=to_id)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _for_contact(agency_id: int, contact_id: int) -> ColumnElement[bool]:
    as_applicant = select(Applicant.id).where(Applicant.contact_id == contact_id)
    attending = select(ViewingAttendee.viewing_id).where(ViewingAttendee.contact_id == contact_id)
    return or_(Viewing.applicant_id.in_(as_applicant), Viewing.id.in_(attending))


async def count_for_contact(session: AsyncSession, agency_id: int, contact_id: int) -> int:
    """How many viewings a contact has, as applicant or attendee."""
    total = await session.scalar(
        select(func.count()).select_from(Viewing).where(_for_contact(agency_id, contact_id))
    )
    return int(total or 0)


async def for_contact(
    session: AsyncSession, agency_id: int, contact_id: int, limit: int = 50
) -> Sequence[Viewing]:
    """A contact's viewings (as applicant or attendee), newest first."""
    rows = await session.scalars(
        select(Viewing)
        .where(_for_contact(agency_id, contact_id))
        .order_by(Viewing.start_at.desc(), Viewing.id.desc())
        .limit(limit)
    )
    return rows.all()


async def count_for_applicant(session: AsyncSession, agency_id: int, applicant_id: int) -> int:
    """How many viewings an applicant has."""
    total = await session.scalar(
        select(func.count()).select_from(Viewing).where(Viewing.applicant_id == applicant_id)
    )
    return int(total or 0)


# --- calendar feeds -------------------------------------------------------------------------


async def live_feed(session: AsyncSession, agency_id: int, user_id: int) -> CalendarFeed | None:
    """The user's current (not revoked) calendar feed."""
    return await session.scalar(
        select(CalendarFeed)
        .where(
            CalendarFeed.user_id == user_id,
            CalendarFeed.revoked_at.is_(None),
        )
        .order_by(CalendarFeed.id.desc())
        .limit(1)
    )


async def has_any_feed(session: AsyncSession, agency_id: int, user_id: int) -> bool:
    """Whether the user ever had a feed (a user who revoked theirs gets no new one unasked)."""
    found = await session.scalar(
        select(CalendarFeed.id).where(CalendarFeed.user_id == user_id).limit(1)
    )
    return found is not None


async def feed_by_hash(session: AsyncSession, token_hash: str) -> CalendarFeed | None:
    """A calendar feed by the hash of its token."""
    # The token is the only credential of a feed URL: it decides the agency, so the lookup
    # runs before one is bound.
    stmt = select(CalendarFeed).where(CalendarFeed.token_hash == token_hash)
    return await session.scalar(cross_agency(stmt, "calendar feed: the token names the agency"))


async def revoke_feeds(session: AsyncSession, agency_id: int, user_id: int, now: datetime) -> int:
    """Revoke every live feed of a user; how many were live."""
    result = await session.execute(
        update(CalendarFeed)
        .where(
            CalendarFeed.user_id == user_id,
            CalendarFeed.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def add_feed(session: AsyncSession, feed: CalendarFeed) -> CalendarFeed:
    """Insert a calendar feed."""
    session.add(feed)
    await session.flush()
    return feed
