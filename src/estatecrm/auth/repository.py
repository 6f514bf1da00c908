"""Queries for agencies, offices, users, sessions and tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.auth.models import Agency, ApiToken, Office, User, WebSession


async def get_agency_by_name(session: AsyncSession, name: str) -> Agency | None:
    """An agency by its exact name."""
    return await session.scalar(select(Agency).where(Agency.name == name))


async def list_agencies(session: AsyncSession) -> Sequence[Agency]:
    """Every agency, by name (for reports that cover the whole installation)."""
    return (await session.scalars(select(Agency).order_by(Agency.name))).all()


async def get_agency(session: AsyncSession, agency_id: int) -> Agency | None:
    """An agency by id."""
    return await session.get(Agency, agency_id)


async def get_office_by_name(session: AsyncSession, agency_id: int, name: str) -> Office | None:
    """An office of an agency by name."""
    return await session.scalar(
        select(Office).where(Office.agency_id == agency_id, Office.name == name)
    )


async def get_office(session: AsyncSession, agency_id: int, office_id: int) -> Office | None:
    """An office of this agency, or None (also for another agency's office)."""
    return await session.scalar(
        select(Office).where(Office.agency_id == agency_id, Office.id == office_id)
    )


async def list_offices(session: AsyncSession, agency_id: int) -> Sequence[Office]:
    """The agency's offices by name."""
    rows = await session.scalars(
        select(Office).where(Office.agency_id == agency_id).order_by(Office.name)
    )
    return rows.all()


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    """A user by e-mail address (case-insensitive)."""
    return await session.scalar(select(User).where(func.lower(User.email) == email.lower()))


async def get_user(session: AsyncSession, agency_id: int, user_id: int) -> User | None:
    """A user of this agency, or None."""
    return await session.scalar(select(User).where(User.agency_id == agency_id, User.id == user_id))


async def list_users(session: AsyncSession, agency_id: int) -> Sequence[User]:
    """The agency's active users by name."""
    rows = await session.scalars(
        select(User)
        .where(User.agency_id == agency_id, User.is_active.is_(True))
        .order_by(User.full_name)
    )
    return rows.all()


async def get_session_by_hash(session: AsyncSession, token_hash: str) -> WebSession | None:
    """A web session by its token hash."""
    return await session.scalar(select(WebSession).where(WebSession.token_hash == token_hash))


async def get_token_by_hash(session: AsyncSession, token_hash: str) -> ApiToken | None:
    """An API token by its hash."""
    return await session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))


async def live_user_for_session(
    session: AsyncSession, token_hash: str, now: datetime
) -> User | None:
    """The active user behind an unexpired, unrevoked web session (one query)."""
    return await session.scalar(
        select(User)
        .join(
            WebSession, (WebSession.user_id == User.id) & (WebSession.agency_id == User.agency_id)
        )
        .where(
            WebSession.token_hash == token_hash,
            WebSession.revoked_at.is_(None),
            WebSession.expires_at > now,
            User.is_active.is_(True),
        )
    )


async def live_user_for_token(session: AsyncSession, token_hash: str, now: datetime) -> User | None:
    """The active user behind an unexpired, unrevoked API token (one query)."""
    return await session.scalar(
        select(User)
        .join(ApiToken, (ApiToken.user_id == User.id) & (ApiToken.agency_id == User.agency_id))
        .where(
            ApiToken.token_hash == token_hash,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
            User.is_active.is_(True),
        )
    )


async def count_users_in_email_domain(session: AsyncSession, domain: str) -> int:
    """Users of any agency whose e-mail is at `domain` (deliberately cross-agency: ops check)."""
    found = await session.scalar(
        select(func.count()).select_from(User).where(User.email.like(f"%@{domain}"))
    )
    return int(found or 0)
