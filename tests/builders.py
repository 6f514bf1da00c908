"""Small builders for test data; each returns the saved row."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.applicants import service as applicant_service
from estatecrm.applicants.models import Applicant
from estatecrm.applicants.schemas import ApplicantCreate
from estatecrm.auth import service as auth_service
from estatecrm.auth.models import Agency, Role, User
from estatecrm.contacts import service as contact_service
from estatecrm.contacts.models import Contact
from estatecrm.contacts.schemas import ContactCreate
from estatecrm.db.scoping import as_agency
from estatecrm.properties import service as property_service
from estatecrm.properties.models import Property
from estatecrm.properties.schemas import PropertyCreate
from estatecrm.viewings import service as viewing_service
from estatecrm.viewings.models import Viewing
from estatecrm.viewings.schemas import ViewingCreate

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
    with as_agency(session, agency.id):
        return await auth_service.create_user(
            session, agency, email=email, password=password, role=Role(role), full_name=full_name
        )


async def token_headers(session: AsyncSession, user: User) -> dict[str, str]:
    """Bearer headers for a user."""
    with as_agency(session, user.agency_id):
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
    with as_agency(session, user.agency_id):
        return await property_service.create(
            session, user, PropertyCreate(**property_payload(**overrides))
        )


def contact_payload(**overrides: Any) -> dict[str, Any]:
    """A valid contact body for the API."""
    body: dict[str, Any] = {
        "title": "Ms",
        "first_name": "Priya",
        "last_name": "Shah",
        "email": "priya.shah@example.com",
        "phone": "020 7946 0018",
        "roles": [],
    }
    body.update(overrides)
    return body


async def make_contact(session: AsyncSession, user: User, **overrides: Any) -> Contact:
    """A contact created through the service (duplicates allowed unless said otherwise)."""
    overrides.setdefault("allow_duplicate", True)
    with as_agency(session, user.agency_id):
        return await contact_service.create(
            session, user, ContactCreate(**contact_payload(**overrides))
        )


def applicant_payload(contact_id: int, **overrides: Any) -> dict[str, Any]:
    """A valid applicant body: renting a 2-bed flat in SO15 for up to £1,200 pcm."""
    body: dict[str, Any] = {
        "contact_id": contact_id,
        "marketing_type": "letting",
        "min_price_pence": 90_000,
        "max_price_pence": 120_000,
        "min_bedrooms": 2,
        "property_types": ["flat"],
        "areas": ["SO15"],
        "status": "hot",
    }
    body.update(overrides)
    return body


async def make_applicant(
    session: AsyncSession, user: User, contact: Contact | None = None, **overrides: Any
) -> Applicant:
    """An applicant (and its contact, unless given) created through the services."""
    if contact is None:
        contact = await make_contact(session, user)
    with as_agency(session, user.agency_id):
        return await applicant_service.create(
            session, user, ApplicantCreate(**applicant_payload(contact.id, **overrides))
        )


async def make_viewing(
    session: AsyncSession,
    user: User,
    *,
    property_id: int,
    applicant_id: int,
    start_at: datetime,
    **overrides: Any,
) -> Viewing:
    """A viewing booked through the service (so the clash rules apply)."""
    body: dict[str, Any] = {
        "property_id": property_id,
        "applicant_id": applicant_id,
        "start_at": start_at,
    }
    body.update(overrides)
    with as_agency(session, user.agency_id):
        return await viewing_service.book(session, user, ViewingCreate(**body))
