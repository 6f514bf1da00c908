"""Accounts: password hashing, sign-in, web sessions and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.auth import repository
from estatecrm.auth.models import Agency, ApiToken, Office, Role, User, WebSession
from estatecrm.db.scoping import as_agency
from estatecrm.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from estatecrm.kit.clock import utcnow

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password-but-takes-as-long")
INVALID_CREDENTIALS = "Invalid email or password"
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_token(raw: str) -> str:
    """Tokens are stored only as SHA-256 digests; the raw value is shown once."""
    return hashlib.sha256(raw.encode()).hexdigest()


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    """The active user with these credentials, or Unauthorized with a generic message."""
    user = await repository.get_user_by_email(session, email)
    if user is None:
        verify_password(_DUMMY_HASH, password)
        raise Unauthorized(INVALID_CREDENTIALS)
    if not verify_password(user.password_hash, password) or not user.is_active:
        raise Unauthorized(INVALID_CREDENTIALS)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    await session.flush()
    return user


async def start_web_session(
    session: AsyncSession, user: User, *, max_age: timedelta, user_agent: str | None
) -> str:
    """Create a server-side session and return the raw cookie value."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            agency_id=user.agency_id,
            user_id=user.id,
            token_hash=hash_token(raw),
            created_at=now,
            expires_at=now + max_age,
            user_agent=(user_agent or "")[:300],
        )
    )
    await session.flush()
    return raw


async def user_for_web_session(session: AsyncSession, raw: str) -> User | None:
    """The user behind a live session cookie, or None."""
    return await repository.live_user_for_session(session, hash_token(raw), utcnow())


async def end_web_session(session: AsyncSession, raw: str) -> None:
    """Revoke the session behind a cookie (sign-out)."""
    record = await repository.get_session_by_hash(session, hash_token(raw))
    if record is not None and record.revoked_at is None:
        record.revoked_at = utcnow()
        await session.flush()


async def issue_api_token(session: AsyncSession, user: User, *, ttl: timedelta) -> ApiToken:
    """Create an API token; the raw value is returned on the object as `raw` (shown once)."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        agency_id=user.agency_id,
        user_id=user.id,
        token_hash=hash_token(raw),
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(token)
    await session.flush()
    token.raw = raw  # type: ignore[attr-defined]
    return token


async def user_for_api_token(session: AsyncSession, raw: str) -> User | None:
    """The user behind a live bearer token, or None."""
    return await repository.live_user_for_token(session, hash_token(raw), utcnow())


async def revoke_api_token(session: AsyncSession, raw: str) -> bool:
    """Revoke a bearer token; False if it was unknown or already revoked."""
    token = await repository.get_token_by_hash(session, hash_token(raw))
    if token is None or token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    await session.flush()
    return True


async def list_users(session: AsyncSession, user: User) -> Sequence[User]:
    """The users of the user's agency (assignee and negotiator choices, diary columns)."""
    return await repository.list_users(session, user.agency_id)


async def list_offices(session: AsyncSession, user: User) -> Sequence[Office]:
    """The offices of the user's agency."""
    return await repository.list_offices(session, user.agency_id)


async def ensure_agency(session: AsyncSession, name: str) -> Agency:
    """The agency with this name, created if it does not exist."""
    agency = await repository.get_agency_by_name(session, name)
    if agency is None:
        agency = Agency(name=name)
        session.add(agency)
        await session.flush()
    return agency


async def ensure_office(session: AsyncSession, agency: Agency, name: str) -> Office:
    """The agency's office with this name, created if it does not exist."""
    office = await repository.get_office_by_name(session, agency.id, name)
    if office is None:
        office = Office(agency_id=agency.id, name=name)
        session.add(office)
        await session.flush()
    return office


async def create_user(
    session: AsyncSession,
    agency: Agency,
    *,
    email: str,
    password: str,
    role: Role,
    full_name: str | None = None,
    office: Office | None = None,
) -> User:
    """A new user of the agency; 409 when the e-mail is taken, 422 for a short password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            "password", f"Password must be at least {MIN_PASSWORD_LENGTH} characters"
        )
    if await repository.get_user_by_email(session, email) is not None:
        raise Conflict(f"A user with email {email} already exists")
    user = User(
        agency_id=agency.id,
        email=email.lower(),
        full_name=full_name or email.split("@", 1)[0].replace(".", " ").title(),
        password_hash=hash_password(password),
        role=role,
        office_id=office.id if office else None,
    )
    session.add(user)
    await session.flush()
    return user


# The e-mail domain of every account `estatecrm demo` creates (reserved `.test` TLD).
DEMO_EMAIL_DOMAIN = "demo.estatecrm.test"


async def count_demo_accounts(session: AsyncSession) -> int:
    """How many demo accounts exist, in any agency (production must have none)."""
    return await repository.count_users_in_email_domain(session, DEMO_EMAIL_DOMAIN)


async def alert_recipient(session: AsyncSession, agency_id: int | None) -> tuple[int, int | None]:
    """Who gets operational alerts as tasks: the agency (ALERT_TASK_AGENCY_ID, else the first
    agency created) and its longest-standing active admin (None when it has none).

    Raises NotFound when there is no such agency (nothing to file the task under).
    """
    if agency_id is None:
        agencies = sorted(await repository.list_agencies(session), key=lambda a: a.id)
        if not agencies:
            raise NotFound("No agency exists to receive alerts")
        agency_id = agencies[0].id
    elif await repository.get_agency(session, agency_id) is None:
        raise NotFound(f"ALERT_TASK_AGENCY_ID {agency_id} is not an agency")
    with as_agency(session, agency_id):  # the webhook that asks has no signed-in user
        users = await repository.list_users(session, agency_id)
    admins = [u for u in users if u.role == Role.admin]
    admins.sort(key=lambda u: u.id)
    return agency_id, admins[0].id if admins else None


# Lookups for other features (they call this service, never auth's repository).


async def get_agency(session: AsyncSession, agency_id: int) -> Agency | None:
    """An agency by id, or None."""
    return await repository.get_agency(session, agency_id)


async def get_agency_by_name(session: AsyncSession, name: str) -> Agency | None:
    """An agency by its exact name, or None (the CLI names agencies)."""
    return await repository.get_agency_by_name(session, name)


async def list_agencies(session: AsyncSession) -> Sequence[Agency]:
    """Every agency, by name (cross-agency jobs: the compliance report)."""
    return await repository.list_agencies(session)


async def get_office(session: AsyncSession, agency_id: int, office_id: int) -> Office | None:
    """An office of this agency, or None (also when it belongs to another agency)."""
    return await repository.get_office(session, agency_id, office_id)


async def get_user(session: AsyncSession, agency_id: int, user_id: int) -> User | None:
    """A user of this agency, or None (also when they belong to another agency)."""
    return await repository.get_user(session, agency_id, user_id)
