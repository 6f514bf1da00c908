"""Deferring jobs and emitting events inside a transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from estatecrm.config import Settings
from estatecrm.db import scoping
from estatecrm.jobs import Context, Job, Listener, Schedule, defer, emit, queue
from estatecrm.jobs import events as job_events
from estatecrm.jobs.models import DomainEvent
from estatecrm.jobs.registry import EventRecord, Registry
from estatecrm.jobs.runtime import Runtime, attach
from tests.jobs_runner import run_jobs


def _runtime(
    settings: Settings, factory: async_sessionmaker[AsyncSession], seen: list[Any]
) -> Runtime:
    async def record(ctx: Context, *, agency_id: int, what: str) -> None:
        async with ctx.session(agency_id) as session:
            assert scoping.bound_agency(session) == agency_id
        seen.append(("job", agency_id, what))

    async def chain(ctx: Context, *, agency_id: int) -> None:
        async with ctx.session(agency_id) as session:
            await defer(session, "test.record", agency_id=agency_id, what="chained")

    async def listen(session: AsyncSession, event: EventRecord) -> None:
        seen.append(("event", event.type, event.data, event.agency_id))

    return Runtime(
        settings,
        job_events.DECLARED,
        (
            Job("test.record", record),
            Job("test.chain", chain),
            Listener("test.listener", listen),
        ),
    ).bind(factory)


async def _committed(
    factory: async_sessionmaker[AsyncSession], runtime: Runtime, agency_id: int
) -> AsyncSession:
    session = factory()
    scoping.bind_agency(session, agency_id)
    attach(session, runtime)
    return session


async def test_a_deferred_job_runs_after_its_transaction_commits(
    settings: Settings, session_factory: Any, session: AsyncSession, agency: Any
) -> None:
    seen: list[Any] = []
    runtime = _runtime(settings, session_factory, seen)
    async with await _committed(session_factory, runtime, agency.id) as s:
        await defer(s, "test.record", agency_id=agency.id, what="hello")
        await s.commit()
    ran = await run_jobs(runtime, session)
    assert ran == ["test.record"]
    assert seen == [("job", agency.id, "hello")]


async def test_a_job_deferred_in_a_rolled_back_transaction_never_runs(
    settings: Settings, session_factory: Any, session: AsyncSession, agency: Any
) -> None:
    seen: list[Any] = []
    runtime = _runtime(settings, session_factory, seen)
    async with await _committed(session_factory, runtime, agency.id) as s:
        await defer(s, "test.record", agency_id=agency.id, what="lost")
        await s.rollback()
    assert await run_jobs(runtime, session) == []
    assert seen == []


async def test_jobs_may_defer_jobs(
    settings: Settings, session_factory: Any, session: AsyncSession, agency: Any
) -> None:
    seen: list[Any] = []
    runtime = _runtime(settings, session_factory, seen)
    async with await _committed(session_factory, runtime, agency.id) as s:
        await defer(s, "test.chain", agency_id=agency.id)
        await s.commit()
    await run_jobs(runtime, session)
    assert seen == [("job", agency.id, "chained")]


async def test_unknown_jobs_and_unstorable_arguments_are_refused(
    settings: Settings, session_factory: Any, agency: Any
) -> None:
    runtime = _runtime(settings, session_factory, [])
    async with await _committed(session_factory, runtime, agency.id) as s:
        with pytest.raises(KeyError):
            await defer(s, "test.nothing", agency_id=agency.id)
        with pytest.raises(TypeError):
            await defer(s, "test.record", agency_id=agency.id, what=object())


async def test_an_event_is_written_with_the_change_and_reaches_listeners_once(
    settings: Settings, session_factory: Any, session: AsyncSession, agency: Any
) -> None:
    seen: list[Any] = []
    runtime = _runtime(settings, session_factory, seen)
    async with await _committed(session_factory, runtime, agency.id) as s:
        row = await emit(s, "property.created", {"id": 7, "reference": "ABC"})
        await s.commit()
    assert row.agency_id == agency.id
    await run_jobs(runtime, session)
    assert seen == [("event", "property.created", {"id": 7, "reference": "ABC"}, agency.id)]
    stored = await session.get(DomainEvent, row.id)
    assert stored is not None and stored.dispatched_at is not None
    # Dispatching again (a retried or swept job) hands nothing over twice.
    await runtime.run("events.dispatch", {"agency_id": agency.id, "event_id": row.id})
    assert len(seen) == 1


async def test_an_event_of_a_rolled_back_change_is_never_sent(
    settings: Settings, session_factory: Any, session: AsyncSession, agency: Any
) -> None:
    seen: list[Any] = []
    runtime = _runtime(settings, session_factory, seen)
    async with await _committed(session_factory, runtime, agency.id) as s:
        await emit(s, "property.created", {"id": 8})
        await s.rollback()
    await run_jobs(runtime, session)
    assert seen == []
    count = await session.scalar(
        scoping.cross_agency(select(func.count(DomainEvent.id)), "test: the whole outbox")
    )
    assert count == 0


async def test_emit_needs_an_agency(settings: Settings, session_factory: Any) -> None:
    runtime = _runtime(settings, session_factory, [])
    async with session_factory() as s:
        scoping.cross_agency_session(s, "test: no agency bound")
        attach(s, runtime)
        with pytest.raises(ValueError, match="agency"):
            await emit(s, "property.created", {})


async def test_the_sweep_hands_over_events_whose_dispatch_was_lost(
    settings: Settings, session_factory: Any, session: AsyncSession, agency: Any
) -> None:
    seen: list[Any] = []
    runtime = _runtime(settings, session_factory, seen)
    with scoping.as_agency(session, agency.id):
        old = DomainEvent(
            agency_id=agency.id,
            type="contact.created",
            data={"id": 1},
            occurred_at=job_events.utcnow() - job_events.SWEEP_AFTER * 2,
        )
        session.add(old)
        await session.flush()
    await runtime.run("events.sweep", {})
    await run_jobs(runtime, session)
    assert [s[1] for s in seen] == ["contact.created"]


async def test_failed_jobs_are_listed_per_agency_and_retried(
    settings: Settings, session_factory: Any, session: AsyncSession, agency: Any, other_agency: Any
) -> None:
    attempts: list[int] = []

    async def flaky(ctx: Context, *, agency_id: int) -> None:
        attempts.append(agency_id)
        raise RuntimeError("receiver down")

    runtime = Runtime(settings, (Job("test.flaky", flaky, max_attempts=1),)).bind(session_factory)
    for agency_id in (agency.id, other_agency.id):
        async with await _committed(session_factory, runtime, agency_id) as s:
            await defer(s, "test.flaky", agency_id=agency_id)
            await s.commit()
    if runtime.in_process:
        await runtime.drain()
    else:
        for _ in range(2):
            with pytest.raises(RuntimeError):
                await run_jobs(runtime, session)
    attach(session, runtime)
    failed = await queue.list_jobs(session, status="failed", agency_id=agency.id)
    assert [(j.task, j.agency_id) for j in failed] == [("test.flaky", agency.id)]
    assert len(await queue.list_jobs(session, status="failed")) == 2
    stats = await queue.stats(session)
    assert stats.failed == 2 and stats.depth == 0
    # A manager retries only their own agency's jobs.
    others = await queue.list_jobs(session, status="failed", agency_id=other_agency.id)
    assert not await queue.retry(session, others[0].id, agency_id=agency.id)
    assert await queue.retry(session, failed[0].id, agency_id=agency.id)
    stats = await queue.stats(session)
    assert stats.failed == 1 and stats.depth == 1


def test_declarations_are_checked() -> None:
    async def noop(ctx: Context) -> None:
        return None

    with pytest.raises(ValueError, match="twice"):
        Registry.of((Job("a", noop),), (Job("a", noop),))
    with pytest.raises(ValueError, match="unknown job"):
        Registry.of((Schedule("nightly", "missing", "0 3 * * *"),))


async def test_metrics_report_the_queue(client: Any, app: Any) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    for name in ("jobs_queue_depth", "jobs_oldest_age_seconds", "jobs_failed"):
        assert name in response.text


def test_request_sessions_carry_the_runtime(app: Any) -> None:
    assert app.state.session_info["estatecrm_jobs"] is app.state.jobs
