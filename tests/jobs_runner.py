"""Run the jobs a test deferred, through the same handlers the worker calls.

The test's writes (and on PostgreSQL the job rows procrastinate keeps) live in the test's
rolled-back transaction, which a worker on its own connection cannot see. So on PostgreSQL this
reads the due rows of `procrastinate_jobs` on the test's connection and runs each through
`Runtime.run`, marking it as the worker would; on SQLite it drains the in-process worker.
The worker itself is tested on committed data in tests/jobs/test_worker.py.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.jobs.runtime import Runtime


async def run_jobs(runtime: Runtime, session: AsyncSession, *, rounds: int = 10) -> list[str]:
    """Run every due job (and the jobs those defer) until none is left; their task names."""
    ran: list[str] = []
    if runtime.in_process:
        await runtime.drain()
        for row in getattr(runtime.app.connector, "jobs", {}).values():
            # The worker also ticks the schedules once; those are not the test's jobs.
            if row["status"] in ("succeeded", "failed") and ":" not in row["task_name"]:
                ran.append(row["task_name"])
        return ran
    for _ in range(rounds):
        rows = (
            await session.execute(
                text(
                    "SELECT id, task_name, args FROM procrastinate_jobs WHERE status = 'todo' "
                    "AND (scheduled_at IS NULL OR scheduled_at <= now()) ORDER BY id"
                )
            )
        ).all()
        if not rows:
            break
        for job_id, task, args in rows:
            await _mark(session, job_id, "doing")
            args_dict: dict[str, Any] = args if isinstance(args, dict) else json.loads(args)
            try:
                await runtime.run(task, args_dict, job_id=job_id)
            except Exception:
                await _mark(session, job_id, "failed")
                raise
            await _mark(session, job_id, "succeeded")
            ran.append(task)
    return ran


async def _mark(session: AsyncSession, job_id: int, status: str) -> None:
    await session.execute(
        text(
            "UPDATE procrastinate_jobs SET status = CAST(:s AS procrastinate_job_status) "
            "WHERE id = :id"
        ),
        {"s": status, "id": job_id},
    )
