"""`ensure_task` from concurrent requests leaves exactly one open task (real connections).

PostgreSQL only: SQLite allows one writer at a time, and a second read-then-write transaction
fails with "database is locked" before it ever reaches the unique constraint.
"""

from __future__ import annotations

import asyncio
import os
from datetime import date

import pytest
from sqlalchemy import func, select

from estatecrm.config import Settings
from estatecrm.db import scoping
from estatecrm.db.session import create_engine, create_sessionmaker
from estatecrm.tasks import service as task_service
from estatecrm.tasks.models import Task
from tests.builders import make_agency
from tests.services import (
    migrate_to_head,
    postgres_url,
    prepare_postgres_database,
    require_or_skip,
    run_coroutine,
)


@pytest.fixture
def scratch_url() -> str:
    """A PostgreSQL database whose commits other connections see."""
    url = postgres_url(f"race_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
    problem = run_coroutine(prepare_postgres_database(url))
    if problem:
        require_or_skip("PostgreSQL", problem)
    migrate_to_head(url)
    return url


pytestmark = pytest.mark.postgres


def test_concurrent_rules_create_one_task(scratch_url: str) -> None:
    async def body() -> tuple[int, set[int]]:
        engine = create_engine(Settings(database_url=scratch_url))
        factory = create_sessionmaker(engine)
        try:
            async with factory() as session, session.begin():
                agency_id = (await make_agency(session, "Racing Lets")).id

            async def request(n: int) -> int:
                async with factory() as session, session.begin():
                    scoping.bind_agency(session, agency_id)
                    task = await task_service.ensure_task(
                        session,
                        agency_id=agency_id,
                        rule_key="deposit-protection:1",
                        title="Protect the deposit",
                        due_date=date(2026, 7, 1),
                        description=f"request {n}",
                    )
                    return task.id

            ids = await asyncio.gather(*(request(n) for n in range(6)))
            async with factory() as session:
                scoping.bind_agency(session, agency_id)
                count = await session.scalar(select(func.count(Task.id)))
            return int(count or 0), set(ids)
        finally:
            await engine.dispose()

    count, ids = run_coroutine(body())
    assert count == 1
    assert len(ids) == 1
