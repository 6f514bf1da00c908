"""Domain events: written in the transaction of the change (an outbox), handed to listeners by
a job, so a listener (webhooks, e-mail) sees an event exactly when the change committed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.db import scoping
from estatecrm.jobs import queue
from estatecrm.jobs import runtime as runtime_module
from estatecrm.jobs.models import DomainEvent
from estatecrm.jobs.registry import Context, Declaration, EventRecord, Job, Schedule
from estatecrm.kit.clock import utcnow

DISPATCH = "events.dispatch"
SWEEP = "events.sweep"
# An event still undispatched this long after it happened lost its job (SQLite's in-process
# queue across a restart): the sweep hands it over again.
SWEEP_AFTER = timedelta(minutes=2)


async def emit(
    session: AsyncSession, type: str, data: dict[str, Any], *, agency_id: int | None = None
) -> DomainEvent:
    """Record that `type` happened (`property.created`), in this transaction, for listeners.

    `data` is the record as the API returns it (JSON values). The agency is the session's
    unless given.
    """
    agency = agency_id if agency_id is not None else scoping.bound_agency(session)
    if agency is None:
        raise ValueError("emit() needs the agency: bind the session or pass agency_id")
    row = DomainEvent(agency_id=agency, type=type, data=data, occurred_at=utcnow())
    session.add(row)
    await session.flush()
    await queue.defer(session, DISPATCH, agency_id=agency, event_id=row.id)
    return row


def record(row: DomainEvent) -> EventRecord:
    """The event as listeners receive it."""
    return EventRecord(
        id=row.id,
        agency_id=row.agency_id,
        type=row.type,
        data=dict(row.data),
        occurred_at=row.occurred_at.isoformat(),
    )


async def dispatch(ctx: Context, *, agency_id: int, event_id: int) -> None:
    """Hand one event to every listener, in one transaction (idempotent: done once)."""
    async with ctx.session(agency_id) as session:
        row = await session.scalar(
            select(DomainEvent).where(DomainEvent.id == event_id).with_for_update()
        )
        if row is None or row.dispatched_at is not None:
            return
        runtime = runtime_module.of(session)
        for listener in runtime.registry.listeners.values():
            await listener.on_event(session, record(row))
        row.dispatched_at = utcnow()


async def sweep(ctx: Context) -> None:
    """Dispatch again the events whose dispatch job never ran (at-least-once)."""
    reason = "events sweep: undispatched events of every agency"
    async with ctx.session(cross_agency=reason) as session:
        rows = (
            await session.execute(
                scoping.cross_agency(
                    select(DomainEvent.id, DomainEvent.agency_id)
                    .where(
                        DomainEvent.dispatched_at.is_(None),
                        DomainEvent.occurred_at < utcnow() - SWEEP_AFTER,
                    )
                    .order_by(DomainEvent.id)
                    .limit(500),
                    reason,
                )
            )
        ).all()
        for event_id, agency_id in rows:
            await queue.defer(session, DISPATCH, agency_id=agency_id, event_id=event_id)


DECLARED: tuple[Declaration, ...] = (
    Job(DISPATCH, dispatch, max_attempts=10),
    Job(SWEEP, sweep, max_attempts=1),
    Schedule("events-sweep", SWEEP, "*/5 * * * *"),
)
