"""Small builders for test data; each returns the saved row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.auth import service as auth_service
from estatecrm.auth.models import Agency, Role, User
from estatecrm.properties import service as property_service
from estatecrm.properties.models import Property
from estatecrm.properties.schemas import PropertyCreate

PASSWORD = "correct-horse-battery"


async def make_agency(session: AsyncSession, name: str = "Test Lettings") -> Agency:
    """An agency (the tenant)."""
    return await auth_service.ensure_agency(session, name)


async def make_user(
    session: AsyncSession,
    agency: Agency,
    *,
    role: str = "negotiator",
    email: str | None = None,
    password: str = PASSWORD,
    full_name: str | None = None,
) -> User:
    """A user of the agency."""
    email = email or f"{role}.{agency.id}@agency.test"
    return await auth_service.create_user(
        session, agency, email=email, password=password, role=Role(role), full_name=full_name
    )


async def token_headers(session: AsyncSession, user: User) -> dict[str, str]:
    """Bearer headers for a user."""
    token = await auth_service.issue_api_token(session, user, ttl=timedelta(hours=1))
    return {"Authorization": f"Bearer {token.raw}"}  # type: ignore[attr-defined]


def property_payload(**overrides: Any) -> dict[str, Any]:
    """A valid property body for the API."""
    body: dict[str, Any] = {
        "address_line1": "12 Carlton Crescent",
        "city": "Southampton",
        "postcode": "SO15 2EZ",
        "property_type": "flat",
        "bedrooms": 2,
        "bathrooms": 1,
        "marketing_type": "letting",
        "status": "available",
        "price_pence": 125_000,
    }
    body.update(overrides)
    return body


async def make_property(session: AsyncSession, user: User, **overrides: Any) -> Property:
    """A property created through the service (so activity and dates are set)."""
    return await property_service.create(
        session, user, PropertyCreate(**property_payload(**overrides))
    )
