"""Background jobs and domain events: the one mechanism for work done outside a request.

A feature declares its jobs, schedules and event listeners in its own `jobs.py` (a tuple
`DECLARED` of `Job`, `Schedule` and `Listener`), `estatecrm.features` lists them, and the entry
points build one `Runtime` from them (docs/jobs.md). Services then call:

- `jobs.defer(session, "feature.job", agency_id=..., **args)` — in the same transaction as the
  write on PostgreSQL (procrastinate keeps jobs there), after it commits on SQLite;
- `jobs.emit(session, "property.created", data, agency_id=...)` — an outbox row in the same
  transaction; listeners (webhooks, e-mail) receive it from a job.
"""

from estatecrm.jobs.events import emit
from estatecrm.jobs.queue import defer
from estatecrm.jobs.registry import Context, Declaration, Job, Listener, Schedule

__all__ = ["Context", "Declaration", "Job", "Listener", "Schedule", "defer", "emit"]
