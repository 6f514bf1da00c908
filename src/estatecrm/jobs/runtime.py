"""The job runtime: procrastinate, on PostgreSQL or (SQLite) in process, with our registry."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import procrastinate
from procrastinate.testing import InMemoryConnector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from estatecrm.config import Settings
from estatecrm.db import relations, scoping
from estatecrm.jobs.registry import Context, Declaration, Job, Registry

log = logging.getLogger(__name__)
_SESSION_KEY = "estatecrm_jobs"
# A schedule's ticks are procrastinate periodic tasks named after the schedule.
SCHEDULE_PREFIX = "schedule:"


def libpq_url(database_url: str) -> str:
    """The database URL as psycopg (libpq) reads it: no SQLAlchemy driver suffix."""
    scheme, rest = database_url.split("://", 1)
    if scheme.startswith("postgres"):
        return "postgresql://" + rest
    raise ValueError("procrastinate needs a PostgreSQL database")


class Runtime:
    """Every declared job as a procrastinate task, and how jobs reach the database.

    On PostgreSQL jobs live in procrastinate's tables: `defer` writes them in the caller's
    transaction and `estatecrm worker` runs them. On SQLite (the embedded default) the same
    tasks run in the web process (`start_in_process`), from an in-memory queue that is filled
    when a transaction commits.
    """

    def __init__(self, settings: Settings, *groups: Iterable[Declaration]) -> None:
        self.settings = settings
        self.registry = Registry.of(*groups)
        self.in_process = settings.is_sqlite
        connector: Any = (
            InMemoryConnector() if self.in_process else _psycopg(libpq_url(settings.database_url))
        )
        self.app = procrastinate.App(connector=connector)
        self._sessionmaker: Callable[[], async_sessionmaker[AsyncSession] | None] = lambda: None
        self.relations: relations.Relations | None = None
        self._worker: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[Any]] = set()
        for job in self.registry.jobs.values():
            self._register(job)
        for schedule in self.registry.schedules.values():
            self._register_schedule(schedule.key, schedule.job, schedule.cron)

    # --- wiring ---------------------------------------------------------------------------

    def bind(
        self,
        sessionmaker: async_sessionmaker[AsyncSession]
        | Callable[[], async_sessionmaker[AsyncSession] | None],
        wired: relations.Relations | None = None,
    ) -> Runtime:
        """Give the runtime the sessions its jobs open (a factory, or where to find one when a
        job runs: the app's, which its lifespan creates) and the relations they carry."""
        if isinstance(sessionmaker, async_sessionmaker):
            factory = sessionmaker
            self._sessionmaker = lambda: factory
        else:
            self._sessionmaker = sessionmaker
        self.relations = wired
        return self

    def session_info(self) -> dict[str, Any]:
        """What every session of the app carries so services can defer jobs (see attach)."""
        return {_SESSION_KEY: self}

    @contextlib.asynccontextmanager
    async def session(
        self, agency_id: int | None = None, *, cross_agency: str = ""
    ) -> AsyncIterator[AsyncSession]:
        """A session for one job: bound to an agency (or declared cross-agency); committed."""
        factory = self._sessionmaker()
        if factory is None:
            raise RuntimeError("the job runtime has no database: call bind() first")
        async with factory() as session:
            if agency_id is not None:
                scoping.bind_agency(session, agency_id)
            else:
                scoping.cross_agency_session(session, cross_agency or "a job across agencies")
            attach(session, self)
            if self.relations is not None:
                relations.attach(session, self.relations)
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    def context(self, job_id: int | None = None, attempt: int = 0) -> Context:
        """The context a handler receives."""
        return Context(self.settings, self.session, job_id=job_id, attempt=attempt)

    async def run(self, name: str, args: dict[str, Any], *, job_id: int | None = None) -> None:
        """Run one job's handler now, in this process (the worker's tasks call this)."""
        if name.startswith(SCHEDULE_PREFIX):
            schedule = self.registry.schedules[name.removeprefix(SCHEDULE_PREFIX)]
            await self.registry.jobs[schedule.job].run(self.context(job_id))
            return
        await self.registry.jobs[name].run(self.context(job_id), **args)

    def _register(self, job: Job) -> None:
        runtime = self

        async def task(context: procrastinate.JobContext, /, **args: Any) -> None:
            current = context.job
            await job.run(runtime.context(current.id, current.attempts), **args)

        # procrastinate counts retries after the first run; one attempt in all is no retry.
        retry: procrastinate.RetryStrategy | bool = (
            procrastinate.RetryStrategy(
                max_attempts=job.max_attempts - 1, exponential_wait=job.backoff
            )
            if job.max_attempts > 1
            else False
        )
        self.app.task(name=job.name, queue=job.queue, retry=retry, pass_context=True)(task)

    def _register_schedule(self, key: str, job_name: str, cron: str) -> None:
        runtime = self
        job = self.registry.jobs[job_name]

        async def tick(context: procrastinate.JobContext, timestamp: int) -> None:
            await job.run(runtime.context(context.job.id, context.job.attempts))

        task = self.app.task(name=SCHEDULE_PREFIX + key, queue=job.queue, pass_context=True)(tick)
        self.app.periodic(cron=cron, periodic_id=key)(task)

    # --- deferring --------------------------------------------------------------------------

    def after_commit(self, name: str, args: dict[str, Any], delay: float = 0) -> None:
        """Queue a job in process (SQLite) once the transaction that asked for it commits."""
        coro = self.app.configure_task(name, schedule_in={"seconds": delay}).defer_async(**args)
        task = asyncio.get_running_loop().create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def settle(self) -> None:
        """Wait until jobs handed over at commit are queued (in process)."""
        while self._pending:
            await asyncio.gather(*list(self._pending))

    async def drain(self) -> None:
        """Run every due in-process job, and what they defer, until none is left."""
        await self.settle()
        await self.app.run_worker_async(
            wait=False, install_signal_handlers=False, listen_notify=False, delete_jobs="never"
        )
        await self.settle()

    async def start_in_process(self) -> None:
        """Run the worker inside this process (SQLite: the embedded default)."""
        if not self.in_process or self._worker is not None:
            return
        await self.app.open_async()
        self._worker = asyncio.get_running_loop().create_task(
            self.app.run_worker_async(
                install_signal_handlers=False,
                listen_notify=False,
                fetch_job_polling_interval=0.5,
                name="in-process",
            )
        )

    async def stop(self) -> None:
        """Stop the in-process worker (if one runs)."""
        if self._worker is None:
            return
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._worker
        self._worker = None


def _psycopg(conninfo: str) -> Any:
    from procrastinate import PsycopgConnector

    return PsycopgConnector(conninfo=conninfo, min_size=1, max_size=4)


def attach(session: AsyncSession, runtime: Runtime) -> AsyncSession:
    """Give a session the job runtime, so services can defer jobs and emit events."""
    session.info[_SESSION_KEY] = runtime
    return session


def of(session: AsyncSession) -> Runtime:
    """The job runtime attached to a session (the entry points attach it)."""
    runtime: Runtime | None = session.info.get(_SESSION_KEY)
    if runtime is None:
        raise RuntimeError("this session has no job runtime: the entry point must attach it")
    return runtime
