"""Tenancies, activation: what must be in place before a tenancy starts, and starting it."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity import service as activity
from estatecrm.applicants import service as applicant_service
from estatecrm.auth.models import User
from estatecrm.compliance import service as compliance_service
from estatecrm.contacts import service as contact_service
from estatecrm.errors import Conflict, NotFound
from estatecrm.kit.clock import utcnow
from estatecrm.offers import service as offer_service
from estatecrm.properties import service as property_service
from estatecrm.properties.models import Property, PropertyStatus
from estatecrm.tenancies import repository, rules
from estatecrm.tenancies.core import _snapshot, get
from estatecrm.tenancies.models import Tenancy, TenancyStatus


async def activation_problems(
    session: AsyncSession, tenancy: Tenancy, prop: Property, on_date: date
) -> list[str]:
    """What stops the tenancy starting on `on_date`; empty when it may."""
    problems: list[str] = []
    all_checks = await repository.checks(session, tenancy.agency_id, tenancy.id)
    contacts = await contact_service.get_many(
        session, tenancy.agency_id, tenancy.tenant_contact_ids
    )
    for contact_id in tenancy.tenant_contact_ids:
        contact = contacts.get(contact_id)
        name = f"{contact.first_name} {contact.last_name}" if contact else f"#{contact_id}"
        mine = [c for c in all_checks if c.contact_id == contact_id and c.check_date <= on_date]
        if not mine:
            problems.append(f"Right to rent: no check recorded for {name}")
        elif not rules.check_valid_on(mine[0].result, mine[0].expiry_date, on_date):
            problems.append(
                f"Right to rent: {name}'s latest check is {mine[0].result.value.replace('_', ' ')}"
                + (f" and expired on {mine[0].expiry_date:%d %b %Y}" if mine[0].expiry_date else "")
            )
    problems += await compliance_service.lettable_problems(
        session, tenancy.agency_id, prop, on_date
    )
    return problems


async def activate(session: AsyncSession, user: User, tenancy_id: int, on_date: date) -> Tenancy:
    """Start the tenancy: refused (409 naming what is missing) until it may lawfully start."""
    tenancy = await get(session, user, tenancy_id)
    prop = await property_service.find_for_update(session, user.agency_id, tenancy.property_id)
    if prop is None:
        raise NotFound("Tenancy not found")
    await session.refresh(tenancy)
    if tenancy.status != TenancyStatus.proposed:
        raise Conflict(f"The tenancy is already {tenancy.status.value}")
    if prop.status not in (PropertyStatus.let_agreed, PropertyStatus.available):
        raise Conflict(
            f"The property is {prop.status.value.replace('_', ' ')}: end its current tenancy first"
        )
    problems = await activation_problems(session, tenancy, prop, on_date)
    if problems:
        raise Conflict(
            "The tenancy cannot start yet: " + "; ".join(problems), detail={"missing": problems}
        )
    before = _snapshot(tenancy)
    tenancy.status = TenancyStatus.active
    tenancy.activated_at = utcnow()
    tenancy.updated_at = tenancy.activated_at
    await session.flush()
    summary = f"Tenancy started ({on_date:%d %b %Y})"
    changes = activity.diff(before, _snapshot(tenancy))
    await activity.log(session, user, tenancy, "activated", summary, changes)
    await property_service.set_status(
        session, user, prop, PropertyStatus.let, f"tenancy #{tenancy.id} started"
    )
    await applicant_service.found_home(
        session,
        user,
        await offer_service.applicant_of(session, user.agency_id, tenancy.offer_id),
        f"moved into {prop.address_line1}, {prop.city} (tenancy #{tenancy.id} started)",
    )
    return tenancy
