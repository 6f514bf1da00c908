"""Queries for agencies, offices, users, sessions and tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.auth.models import Agency, ApiToken, Office, User, WebSession
from estatecrm.db.scoping import cross_agency

# Signing in finds the user (and so the agency) from an e-mail address or a token hash: those
# lookups run before any agency is known, and say so.
SIGN_IN = "sign-in: the agency is not known until the user is"


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
    return await session.scalar(select(Office).where(Office.name == name))


async def get_office(session: AsyncSession, agency_id: int, office_id: int) -> Office | None:
    """An office of this agency, or None (also for another agency's office)."""
    return await session.scalar(select(Office).where(Office.id == office_id))


async def list_offices(session: AsyncSession, agency_id: int) -> Sequence[Office]:
    """The agency's offices by name."""
    rows = await session.scalars(select(Office).order_by(Office.name))
    return rows.all()


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    """A user by e-mail address (case-insensitive)."""
    # E-mail addresses are unique across the installation, so the lookup crosses agencies.
    stmt = select(User).where(func.lower(User.email) == email.lower())
    return await session.scalar(cross_agency(stmt, SIGN_IN))


async def get_user(session: AsyncSession, agency_id: int, user_id: int) -> User | None:
    """A user of this agency, or None."""
    return await session.scalar(select(User).where(User.id == user_id))


async def list_users(session: AsyncSession, agency_id: int) -> Sequence[User]:
    """The agency's active users by name."""
    rows = await session.scalars(
        select(User).where(User.is_active.is_(True)).order_by(User.full_name)
    )
    return rows.all()


async def get_session_by_hash(session: AsyncSession, token_hash: str) -> WebSession | None:
    """A web session by its token hash."""
    stmt = select(WebSession).where(WebSession.token_hash == token_hash)
    return await session.scalar(cross_agency(stmt, SIGN_IN))


async def get_token_by_hash(session: AsyncSession, token_hash: str) -> ApiToken | None:
    """An API token by its hash."""
    stmt = select(ApiToken).where(ApiToken.token_hash == token_hash)
    return await session.scalar(cross_agency(stmt, SIGN_IN))


async def live_user_for_session(
    session: AsyncSession, token_hash: str, now: datetime
) -> User | None:
    """The active user behind an unexpired, unrevoked web session (one query)."""
    stmt = (
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
    return await session.scalar(cross_agency(stmt, SIGN_IN))


async def live_user_for_token(session: AsyncSession, token_hash: str, now: datetime) -> User | None:
    """The active user behind an unexpired, unrevoked API token (one query)."""
    stmt = (
        select(User)
        .join(ApiToken, (ApiToken.user_id == User.id) & (ApiToken.agency_id == User.agency_id))
        .where(
            ApiToken.token_hash == token_hash,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
            User.is_active.is_(True),
        )
    )
    return await session.scalar(cross_agency(stmt, SIGN_IN))


async def count_users_in_email_domain(session: AsyncSession, domain: str) -> int:
    """Users of any agency whose e-mail is at `domain` (deliberately cross-agency: ops check)."""
    stmt = select(func.count()).select_from(User).where(User.email.like(f"%@{domain}"))
    found = await session.scalar(cross_agency(stmt, "ops: counts users of every agency"))
    return int(found or 0)
