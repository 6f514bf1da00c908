"""Builders for certificates, with fixed dates (no test depends on today's date)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.auth.models import User
from estatecrm.compliance import service as compliance_service
from estatecrm.compliance.models import Certificate
from estatecrm.compliance.schemas import CertificateCreate
from estatecrm.db.scoping import as_agency
from estatecrm.properties.models import Property

# The day the tests judge statuses on; every issue date used is before it.
ON = date(2026, 6, 1)


def certificate_payload(property_id: int, **overrides: Any) -> dict[str, Any]:
    """A valid certificate body for the API (a gas safety record issued a month before ON)."""
    body: dict[str, Any] = {
        "property_id": property_id,
        "type": "gas_safety",
        "issued_date": "2026-05-01",
        "reference": "GS-0001",
    }
    body.update(overrides)
    if body["type"] == "epc" and "rating" not in overrides:
        body["rating"] = "C"
    return body


async def make_certificate(
    session: AsyncSession, user: User, prop: Property, **overrides: Any
) -> Certificate:
    """A certificate recorded through the service (so tasks and activity follow)."""
    body = certificate_payload(prop.id, **overrides)
    body.pop("property_id")
    with as_agency(session, user.agency_id):
        return await compliance_service.create(
            session, user, CertificateCreate(property_id=prop.id, **body)
        )
