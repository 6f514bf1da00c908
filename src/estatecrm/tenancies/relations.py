"""What the tenancies feature holds that refers to other features' records (db/relations.py).

Deposits, tenancy agreements and right-to-rent checks are legal records: they keep their
property, their people and the certificates the tenancy ran on, and they add the deposit and
right-to-rent duties to the compliance dashboard and report.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.compliance.models import Certificate
from estatecrm.contacts import service as contact_service
from estatecrm.db.relations import (
    Blocks,
    Declaration,
    ExtraSection,
    Guard,
    Moves,
    Section,
    SectionRow,
    Target,
    TaskLink,
)
from estatecrm.errors import Conflict
from estatecrm.kit.money import format_pence
from estatecrm.properties.models import Property
from estatecrm.tasks import service as task_service
from estatecrm.tenancies import repository, rules
from estatecrm.tenancies.models import Tenancy
from estatecrm.tenancies.service import right_to_rent_rule_key


def _label(tenancy: Tenancy) -> str:
    return f"Tenancy #{tenancy.id} from {tenancy.start_date:%d %b %Y}"


def _address(prop: Property) -> str:
    return f"{prop.address_line1}, {prop.city} {prop.postcode}"


async def _move_checks(session: AsyncSession, agency_id: int, from_id: int, to_id: int) -> int:
    """Merging contacts: their right-to-rent checks, and the follow-up tasks, move too."""
    clash = await repository.check_clash(session, agency_id, from_id, to_id)
    if clash is not None:
        tenancy_id, day = clash
        raise Conflict(
            f"Both contacts have a right-to-rent check for tenancy #{tenancy_id} on "
            f"{day:%d %b %Y}: one person cannot have two checks on one day, so they cannot be "
            "merged until one of those checks is corrected"
        )
    tenancy_ids = await repository.check_tenancy_ids(session, agency_id, from_id)
    moved = await repository.reassign_checks(session, agency_id, from_id, to_id)
    for tenancy_id in tenancy_ids:
        await task_service.rekey_rule_task(
            session,
            agency_id=agency_id,
            from_key=right_to_rent_rule_key(tenancy_id, from_id),
            to_key=right_to_rent_rule_key(tenancy_id, to_id),
            reason=f"contact #{from_id} was merged into #{to_id}",
        )
    return moved


async def _certificate_in_use(session: AsyncSession, cert: Certificate) -> str | None:
    """A certificate a tenancy ran on is the landlord's legal record (gas safety records are
    kept two years, and the tenant was given a copy): it is corrected, never deleted."""
    ids = await repository.started_during(
        session, cert.agency_id, cert.property_id, cert.issued_date, cert.expiry_date
    )
    if not ids:
        return None
    named = ", ".join(f"#{i}" for i in ids)
    return f"tenanc{'y' if len(ids) == 1 else 'ies'} {named} ran while it was in force"


async def _deposits_section(
    session: AsyncSession, agency_id: int, on_date: date
) -> ExtraSection | None:
    rows, total = await repository.overdue_deposits(session, agency_id, on_date)
    if not rows:
        return None
    return ExtraSection(
        key="deposits",
        title="Deposits past their protection deadline",
        rows=[
            SectionRow(
                label=_address(p),
                detail=f"{format_pence(t.deposit_pence)} received "
                f"{t.deposit_received_date:%d %b %Y}, not protected",
                href=f"/tenancies/{t.id}",
                due_date=rules.protection_deadline(t.deposit_received_date),
            )
            for t, p in rows
        ],
        total=total,
    )


async def _right_to_rent_section(
    session: AsyncSession, agency_id: int, on_date: date
) -> ExtraSection | None:
    rows, total = await repository.follow_ups_due(session, agency_id, on_date)
    if not rows:
        return None
    contacts = await contact_service.get_many(
        session, agency_id, [c.contact_id for c, _, _ in rows]
    )
    return ExtraSection(
        key="right_to_rent",
        title="Right-to-rent follow-ups due",
        rows=[
            SectionRow(
                label=_address(p),
                detail=(
                    f"{contacts[c.contact_id].first_name} {contacts[c.contact_id].last_name}"
                    if c.contact_id in contacts
                    else f"Occupier #{c.contact_id}"
                )
                + (f": permission ends {c.expiry_date:%d %b %Y}" if c.expiry_date else ""),
                href=f"/tenancies/{t.id}",
                due_date=c.follow_up_date,
            )
            for c, t, p in rows
        ],
        total=total,
    )


DECLARED: tuple[Declaration, ...] = (
    TaskLink("tenancy", "/tenancies/{id}", _label, repository.get_many),
    # Deposits and right-to-rent checks must be kept after a tenancy ends (the Home Office asks
    # for checks to be kept a year after it); deleting the property would take them with it.
    Blocks.columns(Target.property, "tenancy", "tenancies", Tenancy.property_id),
    Guard(Target.certificate, _certificate_in_use),
    # A contact with a tenancy or a right-to-rent check is merged, not deleted, and merging
    # moves them.
    Blocks(Target.contact, "tenancy", "tenancies", repository.count_for_contact),
    Moves("tenancies", repository.reassign_contact),
    Blocks(
        Target.contact,
        "right-to-rent check",
        "right-to-rent checks",
        repository.count_checks_for_contact,
    ),
    Moves("right_to_rent_checks", _move_checks),
    Section(_deposits_section),
    Section(_right_to_rent_section),
)
