"""Demo certificates and tasks: a realistic mix of valid, expiring, expired and missing."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.auth.models import Agency, Role, User
from estatecrm.compliance import rules
from estatecrm.compliance import service as compliance_service
from estatecrm.compliance.models import CertificateType
from estatecrm.compliance.schemas import CertificateCreate
from estatecrm.kit.clock import today_london
from estatecrm.properties import service as property_service
from estatecrm.properties.models import MarketingType, Property
from estatecrm.properties.schemas import PropertyFilters
from estatecrm.tasks import service as task_service
from estatecrm.tasks.models import TaskPriority
from estatecrm.tasks.schemas import TaskCreate

ENGINEERS = ["Solent Gas Services", "BristolSafe Heating", "CheckPoint Electrical", "Wessex EPC"]
MANUAL_TASKS = [
    ("Chase landlord for signed terms of business", TaskPriority.high),
    ("Arrange inventory check-in", TaskPriority.normal),
    ("Book professional clean before move-in", TaskPriority.normal),
    ("Return spare keys to landlord", TaskPriority.low),
    ("Call tenant about boiler access", TaskPriority.urgent),
    ("Send rent review letter", TaskPriority.normal),
]


def _issued_for(rng: random.Random, cert_type: CertificateType, today: date, state: str) -> date:
    """An issue date that makes the certificate `state` on `today`."""
    months = rules.VALIDITY_MONTHS[cert_type] or 12
    term_days = months * 365 // 12
    if state == "expired":
        return today - timedelta(days=term_days + rng.randint(3, 60))
    if state == "expiring":
        return today - timedelta(days=term_days - rng.randint(1, 29))
    return today - timedelta(days=rng.randint(20, max(21, term_days - 60)))


async def _add(
    session: AsyncSession,
    actor: User,
    prop: Property,
    cert_type: CertificateType,
    issued: date,
    rng: random.Random,
    **extra: Any,
) -> None:
    await compliance_service.create(
        session,
        actor,
        CertificateCreate(
            property_id=prop.id,
            type=cert_type,
            issued_date=issued,
            reference=f"{cert_type.value[:3].upper()}-{rng.randint(100000, 999999)}",
            notes=f"Carried out by {rng.choice(ENGINEERS)}",
            **extra,
        ),
    )


async def seed(
    session: AsyncSession, agency: Agency, users: list[User], rng: random.Random
) -> None:
    """Certificates for the demo's active lettings and sales, their renewal tasks, and a few
    everyday tasks; some valid, some expiring, some expired and some missing."""
    today = today_london()
    by_id = {u.id: u for u in users}
    admin = next(u for u in users if u.role == Role.admin)
    workers = [u for u in users if u.role in (Role.negotiator, Role.manager)] or [admin]
    props, _ = await property_service.search(
        session, admin, PropertyFilters(sort="created_at"), limit=100_000, offset=0
    )
    for prop in props:
        actor = by_id.get(prop.negotiator_id or 0, admin)
        if not rules.is_active(prop.marketing_type, prop.status):
            continue
        if prop.marketing_type == MarketingType.sale:
            if rng.random() < 0.8:
                issued = _issued_for(rng, CertificateType.epc, today, "valid")
                await _add(
                    session,
                    actor,
                    prop,
                    CertificateType.epc,
                    issued,
                    rng,
                    rating=rng.choice("BCCDDE"),
                )
            continue
        if rng.random() < 0.15:
            prop.has_gas = False
        roll = rng.random()
        gas_state = "expired" if roll < 0.12 else "expiring" if roll < 0.3 else "valid"
        if prop.has_gas:
            if rng.random() < 0.35:  # last year's record, now superseded
                old = _issued_for(rng, CertificateType.gas_safety, today, "expired")
                await _add(
                    session, actor, prop, CertificateType.gas_safety, old - timedelta(days=365), rng
                )
            issued = _issued_for(rng, CertificateType.gas_safety, today, gas_state)
            await _add(session, actor, prop, CertificateType.gas_safety, issued, rng)
        if rng.random() < 0.9:
            state = rng.choices(["valid", "expiring", "expired"], [8, 1, 1])[0]
            issued = _issued_for(rng, CertificateType.eicr, today, state)
            await _add(session, actor, prop, CertificateType.eicr, issued, rng)
        if rng.random() < 0.92:
            rating = rng.choice("BCCCDDDEEF")
            extra: dict[str, Any] = {"rating": rating}
            if rating == "F" and rng.random() < 0.5:
                extra["exemption_reference"] = f"PRSE-{rng.randint(10000, 99999)}"
                extra["exemption_expiry_date"] = today + timedelta(days=rng.randint(200, 1500))
            issued = _issued_for(rng, CertificateType.epc, today, "valid")
            await _add(session, actor, prop, CertificateType.epc, issued, rng, **extra)
        if rng.random() < 0.8:
            state = rng.choices(["valid", "expiring", "expired"], [7, 2, 1])[0]
            issued = _issued_for(rng, CertificateType.smoke_co_alarm, today, state)
            await _add(session, actor, prop, CertificateType.smoke_co_alarm, issued, rng)
        if prop.bedrooms >= 4 and rng.random() < 0.5:
            issued = today - timedelta(days=rng.randint(200, 1500))
            await _add(
                session,
                actor,
                prop,
                CertificateType.hmo_licence,
                issued,
                rng,
                expiry_date=issued + timedelta(days=5 * 365),
            )
        if rng.random() < 0.3:
            issued = _issued_for(rng, CertificateType.legionella, today, "valid")
            await _add(session, actor, prop, CertificateType.legionella, issued, rng)
    lettings = [p for p in props if p.marketing_type == MarketingType.letting]
    for i in range(18):
        title, priority = MANUAL_TASKS[i % len(MANUAL_TASKS)]
        linked = rng.choice(lettings) if lettings else None
        assignee = workers[i % len(workers)]
        task = await task_service.create(
            session,
            admin,
            TaskCreate(
                title=title,
                due_date=today + timedelta(days=rng.randint(-10, 21)),
                priority=priority,
                assignee_id=assignee.id,
                entity_type="property" if linked else None,
                entity_id=linked.id if linked else None,
            ),
        )
        if i % 5 == 0:
            await task_service.set_done(session, assignee, task.id, True)
