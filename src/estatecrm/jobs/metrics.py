"""The job queue's gauges (depth, oldest due job's age, failed jobs), read at scrape time."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from prometheus_client import Gauge

from estatecrm.jobs import queue
from estatecrm.jobs.runtime import Runtime

log = logging.getLogger(__name__)

QUEUE_DEPTH = Gauge(
    "jobs_queue_depth",
    "Background jobs due to run and waiting for a worker.",
    multiprocess_mode="mostrecent",
)
OLDEST_AGE = Gauge(
    "jobs_oldest_age_seconds",
    "How long the oldest due background job has been waiting, in seconds (0 when none).",
    multiprocess_mode="mostrecent",
)
FAILED = Gauge(
    "jobs_failed",
    "Background jobs that failed every attempt and wait for a manager to retry them.",
    multiprocess_mode="mostrecent",
)


async def refresh(runtime: Runtime) -> None:
    """Set the gauges from the queue (a failed read leaves the last values; it is logged)."""
    try:
        async with runtime.session(cross_agency="metrics: the whole job queue") as session:
            found = await queue.stats(session)
    except Exception as exc:  # metrics must answer even when the database does not
        log.warning("job queue metrics unavailable", extra={"error": repr(exc)})
        return
    QUEUE_DEPTH.set(found.depth)
    OLDEST_AGE.set(round(found.oldest_age_seconds, 3))
    FAILED.set(found.failed)


def refresher(runtime: Runtime) -> Callable[[], Awaitable[None]]:
    """The scrape-time callback `create_app` hands to /metrics."""

    async def run() -> None:
        await refresh(runtime)

    return run
