"""Tenancies, right to rent: the checks of each adult occupier and their follow-ups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity import service as activity
from estatecrm.auth.models import User
from estatecrm.contacts import service as contact_service
from estatecrm.errors import Conflict, ValidationFailed
from estatecrm.tasks import service as task_service
from estatecrm.tasks.models import TaskPriority
from estatecrm.tenancies import repository, rules
from estatecrm.tenancies.core import ENTITY, get, right_to_rent_rule_key
from estatecrm.tenancies.models import RightToRentCheck, RightToRentResult, Tenancy
from estatecrm.tenancies.schemas import RightToRentCreate


async def checks(session: AsyncSession, user: User, tenancy_id: int) -> Sequence[RightToRentCheck]:
    """A tenancy's right-to-rent checks, latest first."""
    tenancy = await get(session, user, tenancy_id)
    return await repository.checks(session, user.agency_id, tenancy.id)


async def add_check(
    session: AsyncSession, user: User, tenancy_id: int, data: RightToRentCreate
) -> RightToRentCheck:
    """Record a right-to-rent check of one adult occupier."""
    tenancy = await get(session, user, tenancy_id)
    if data.contact_id not in (tenancy.tenant_contact_ids or []):
        raise ValidationFailed("contact_id", "Check the tenancy's own occupiers (its tenants)")
    _check_permission_end(data)
    if await repository.check_exists(session, tenancy.id, data.contact_id, data.check_date):
        raise Conflict("This occupier already has a check recorded on that day")
    follow_up = data.follow_up_date or rules.follow_up_date(
        data.result, data.check_date, data.expiry_date
    )
    check = await repository.add_check(
        session,
        RightToRentCheck(
            agency_id=tenancy.agency_id,
            tenancy_id=tenancy.id,
            contact_id=data.contact_id,
            check_date=data.check_date,
            document_type=data.document_type,
            result=data.result,
            expiry_date=data.expiry_date,
            follow_up_date=follow_up,
            checked_by_id=user.id,
        ),
    )
    contact = await contact_service.find(session, user.agency_id, data.contact_id)
    name = f"{contact.first_name} {contact.last_name}" if contact else f"#{data.contact_id}"
    summary = (
        f"Right to rent of {name}: {data.result.value.replace('_', ' ')} "
        f"({data.document_type}, {data.check_date:%d %b %Y})"
        + (f", follow up by {follow_up:%d %b %Y}" if follow_up else "")
    )
    changes = {"contact_id": [None, data.contact_id], "result": [None, data.result.value]}
    await activity.log(session, user, tenancy, "right_to_rent_checked", summary, changes)
    await _sync_follow_up_task(session, user, tenancy, data, name, follow_up)
    return check


def _check_permission_end(data: RightToRentCreate) -> None:
    """A time-limited right to rent has the date it ends, after the check; an unlimited one
    has none."""
    if data.result == RightToRentResult.time_limited:
        if data.expiry_date is None:
            raise ValidationFailed(
                "expiry_date", "A time-limited right to rent needs the date the permission ends"
            )
        if data.expiry_date < data.check_date:
            raise ValidationFailed("expiry_date", "The permission had already ended at the check")
    elif data.expiry_date is not None and data.result == RightToRentResult.passed:
        raise ValidationFailed(
            "expiry_date", "An unlimited right to rent has no expiry: record it as time limited"
        )


async def _sync_follow_up_task(
    session: AsyncSession,
    user: User,
    tenancy: Tenancy,
    data: RightToRentCreate,
    name: str,
    follow_up: date | None,
) -> None:
    """The follow-up check's task: due when a follow-up is, completed when none is needed."""
    key = right_to_rent_rule_key(tenancy.id, data.contact_id)
    if follow_up is not None:
        await task_service.ensure_task(
            session,
            agency_id=tenancy.agency_id,
            rule_key=key,
            title=f"Right-to-rent follow-up check: {name}",
            due_date=follow_up,
            assignee_id=user.id,
            entity_type=ENTITY,
            entity_id=tenancy.id,
            description=f"{name}'s permission to rent ends {data.expiry_date:%d %b %Y}."
            if data.expiry_date
            else "",
            priority=TaskPriority.high,
            actor_user_id=user.id,
        )
    else:
        await task_service.complete_rule_task(
            session,
            agency_id=tenancy.agency_id,
            rule_key=key,
            reason=f"right to rent {data.result.value} on {data.check_date:%d %b %Y}",
            actor_user_id=user.id,
        )
