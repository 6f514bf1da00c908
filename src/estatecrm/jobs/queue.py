"""Deferring jobs, and what managers and operators see of the queue."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from estatecrm.jobs import runtime as runtime_module
from estatecrm.kit.clock import utcnow

_PENDING = "estatecrm_jobs_pending"
_LISTENING = "estatecrm_jobs_listening"

_DEFER_SQL = text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW("
    ":queue, :task, 0, NULL, NULL, CAST(:args AS jsonb), :scheduled_at"
    ")::procrastinate_job_to_defer_v1])) AS id"
)


async def defer(session: AsyncSession, name: str, *, delay: float = 0, **args: Any) -> int | None:
    """Queue job `name` with `args` (JSON values), to run once this transaction commits.

    On PostgreSQL the job row is written in the session's own transaction: it exists exactly
    when the change that asked for it does. On SQLite it is queued in process at commit.
    Returns the job's id when known (PostgreSQL).
    """
    runtime = runtime_module.of(session)
    job = runtime.registry.jobs.get(name)
    if job is None:
        raise KeyError(f"no job named {name!r} is declared")
    json.dumps(args)  # refuse what could not be stored, here rather than in the worker
    if runtime.in_process:
        _pending(session).append((name, args, delay))
        return None
    scheduled_at = utcnow() + timedelta(seconds=delay) if delay else None
    job_id = await session.scalar(
        _DEFER_SQL,
        {"queue": job.queue, "task": name, "args": json.dumps(args), "scheduled_at": scheduled_at},
    )
    return int(job_id) if job_id is not None else None


def _pending(session: AsyncSession) -> list[tuple[str, dict[str, Any], float]]:
    pending: list[tuple[str, dict[str, Any], float]] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        sync = session.sync_session
        if not sync.info.get(_LISTENING):
            sync.info[_LISTENING] = True
            event.listen(sync, "after_commit", _hand_over)
            event.listen(sync, "after_rollback", _forget)
    return pending


def _hand_over(sync: Session) -> None:
    pending = sync.info.pop(_PENDING, None) or []
    runtime: runtime_module.Runtime | None = sync.info.get("estatecrm_jobs")
    if runtime is None:
        return
    for name, args, delay in pending:
        runtime.after_commit(name, args, delay)


def _forget(sync: Session) -> None:
    sync.info.pop(_PENDING, None)


# --- what is in the queue ------------------------------------------------------------------


@dataclass(frozen=True)
class JobRow:
    """One job as managers and the CLI see it."""

    id: int
    task: str
    status: str
    attempts: int
    args: dict[str, Any]
    queue: str
    scheduled_at: datetime | None
    deferred_at: datetime | None

    @property
    def agency_id(self) -> int | None:
        """The agency the job works for (its `agency_id` argument), if any."""
        value = self.args.get("agency_id")
        return int(value) if isinstance(value, int) else None


@dataclass(frozen=True)
class QueueStats:
    """Queue depth, the age of the oldest due job and the failed jobs, for metrics."""

    depth: int
    oldest_age_seconds: float
    failed: int


_LIST_SQL = """
SELECT j.id, j.task_name, j.status::text AS status, j.attempts, j.args, j.queue_name,
       j.scheduled_at,
       (SELECT min(e.at) FROM procrastinate_events e
         WHERE e.job_id = j.id AND e.type = 'deferred') AS deferred_at
  FROM procrastinate_jobs j
 WHERE (CAST(:status AS text) IS NULL OR j.status::text = :status)
   AND (CAST(:agency AS text) IS NULL OR j.args ->> 'agency_id' = :agency)
 ORDER BY j.id DESC
 LIMIT :limit OFFSET :offset
"""

_STATS_SQL = """
SELECT count(*) FILTER (WHERE j.status = 'todo'
                          AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())) AS depth,
       coalesce(extract(epoch FROM now() - min(coalesce(j.scheduled_at, e.at))
                FILTER (WHERE j.status = 'todo'
                          AND (j.scheduled_at IS NULL OR j.scheduled_at <= now()))), 0) AS age,
       count(*) FILTER (WHERE j.status = 'failed') AS failed
  FROM procrastinate_jobs j
  LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'
"""


async def list_jobs(
    session: AsyncSession,
    *,
    status: str | None = None,
    agency_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[JobRow]:
    """Jobs, newest first; only one status or one agency's when asked."""
    runtime = runtime_module.of(session)
    if runtime.in_process:
        rows = [_from_memory(runtime, row) for row in _memory_jobs(runtime)]
        rows = [
            r
            for r in rows
            if (status is None or r.status == status)
            and (agency_id is None or r.agency_id == agency_id)
        ]
        rows.sort(key=lambda r: r.id, reverse=True)
        return rows[offset : offset + limit]
    result = await session.execute(
        text(_LIST_SQL),
        {
            "status": status,
            "agency": None if agency_id is None else str(agency_id),
            "limit": limit,
            "offset": offset,
        },
    )
    return [
        JobRow(
            id=r.id,
            task=r.task_name,
            status=r.status,
            attempts=r.attempts,
            args=dict(r.args or {}),
            queue=r.queue_name,
            scheduled_at=r.scheduled_at,
            deferred_at=r.deferred_at,
        )
        for r in result
    ]


async def stats(session: AsyncSession) -> QueueStats:
    """Depth, oldest due job's age (seconds) and failed jobs, over the whole queue."""
    runtime = runtime_module.of(session)
    if runtime.in_process:
        now = utcnow()
        due = [
            r
            for r in (_from_memory(runtime, row) for row in _memory_jobs(runtime))
            if r.status == "todo" and (r.scheduled_at is None or r.scheduled_at <= now)
        ]
        starts = [r.scheduled_at or r.deferred_at or now for r in due]
        failed = sum(1 for row in _memory_jobs(runtime) if row["status"] == "failed")
        age = (now - min(starts)).total_seconds() if starts else 0.0
        return QueueStats(len(due), max(0.0, age), failed)
    row = (await session.execute(text(_STATS_SQL))).one()
    return QueueStats(int(row.depth), max(0.0, float(row.age)), int(row.failed))


async def retry(session: AsyncSession, job_id: int, *, agency_id: int | None = None) -> bool:
    """Put a failed job back in the queue to run now; False when there is no such failed job.

    `agency_id` limits it to that agency's jobs (a manager retries only their own).
    """
    found = [
        j
        for j in await list_jobs(session, status="failed", agency_id=agency_id, limit=10_000)
        if j.id == job_id
    ]
    if not found:
        return False
    runtime = runtime_module.of(session)
    if runtime.in_process:
        await runtime.app.job_manager.retry_job_by_id_async(job_id, utcnow())
        return True
    await session.execute(
        text("SELECT procrastinate_retry_job_v2(:id, now(), NULL, NULL, NULL)"), {"id": job_id}
    )
    return True


def _memory_jobs(runtime: runtime_module.Runtime) -> list[dict[str, Any]]:
    jobs: dict[int, dict[str, Any]] = getattr(runtime.app.connector, "jobs", {})
    return list(jobs.values())


def _from_memory(runtime: runtime_module.Runtime, row: dict[str, Any]) -> JobRow:
    events: dict[int, list[dict[str, Any]]] = getattr(runtime.app.connector, "events", {})
    deferred = [e["at"] for e in events.get(row["id"], []) if e["type"] == "deferred"]
    return JobRow(
        id=row["id"],
        task=row["task_name"],
        status=row["status"],
        attempts=row["attempts"],
        args=dict(row["args"] or {}),
        queue=row["queue_name"],
        scheduled_at=row["scheduled_at"],
        deferred_at=deferred[0] if deferred else None,
    )
