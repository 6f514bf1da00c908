"""What features declare in their `jobs.py`: jobs, schedules and event listeners."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.config import Settings


class SessionOpener(Protocol):
    """Opens one committed-on-success session for a job (scoped to an agency, or not)."""

    def __call__(
        self, agency_id: int | None = None, *, cross_agency: str = ""
    ) -> AbstractAsyncContextManager[AsyncSession]: ...


@dataclass(frozen=True)
class Context:
    """What a job's handler is given besides its arguments."""

    settings: Settings
    session: SessionOpener
    job_id: int | None = None
    attempt: int = 0


Handler = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class Job:
    """A kind of background work: `run(ctx, **args)`, which must be idempotent.

    It runs at least once; when it raises it is retried after `2 ** (attempt + 1)` seconds
    (`backoff`) up to `max_attempts` runs in all, then left failed for a manager to retry.
    """

    name: str
    run: Handler
    max_attempts: int = 5
    backoff: int = 2
    queue: str = "default"


@dataclass(frozen=True)
class Schedule:
    """Run `job` on a cron schedule (UTC); fires once per tick however many workers run."""

    key: str
    job: str
    cron: str


# (session bound to the event's agency, event): runs in the dispatching job's transaction
EventHandler = Callable[[AsyncSession, "EventRecord"], Awaitable[None]]


@dataclass(frozen=True)
class EventRecord:
    """A domain event as listeners receive it."""

    id: int
    agency_id: int
    type: str
    data: dict[str, Any]
    occurred_at: str


@dataclass(frozen=True)
class Listener:
    """Receives every domain event (webhooks, e-mail); must be idempotent per event id."""

    key: str
    on_event: EventHandler


Declaration = Job | Schedule | Listener


@dataclass
class Registry:
    """Every declared job, schedule and listener, checked for clashes."""

    jobs: dict[str, Job] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    listeners: dict[str, Listener] = field(default_factory=dict)

    @classmethod
    def of(cls, *groups: Iterable[Declaration]) -> Registry:
        """One registry from the features' `DECLARED` tuples (a duplicate name is an error)."""
        registry = cls()
        for group in groups:
            for item in group:
                registry.add(item)
        for schedule in registry.schedules.values():
            if schedule.job not in registry.jobs:
                raise ValueError(f"schedule {schedule.key!r} names unknown job {schedule.job!r}")
        return registry

    def add(self, item: Declaration) -> None:
        """Add one declaration."""
        if isinstance(item, Job):
            self._put(self.jobs, item.name, item)
        elif isinstance(item, Schedule):
            self._put(self.schedules, item.key, item)
        else:
            self._put(self.listeners, item.key, item)

    @staticmethod
    def _put(into: dict[str, Any], key: str, item: Any) -> None:
        if key in into:
            raise ValueError(f"{key!r} is declared twice")
        into[key] = item
