"""SLIs, the error budget and multi-window burn rates (`GET /error-budget`).

Each worker counts requests per minute in memory (no database work on the request path) and
a background task adds those counts to the `sli_minute` table every few seconds with one
upsert, so the budget is the same whichever worker answers, and survives restarts.

The three SLOs, each over ERROR_BUDGET_PERIOD_DAYS:

- availability: the share of minutes (with traffic) in which the service was up; a minute is
  down when more than 5 % of its requests failed with a server error (SLO_UPTIME_TARGET);
- latency: the share of requests answered within SLO_LATENCY_P95_MS — the P95 objective means
  at least 95 % must be;
- error_rate: the share of requests that did not fail with a server error
  (1 - SLO_ERROR_RATE_TARGET).

Burn rate over a window = bad share in the window ÷ bad share the objective allows. Alert
thresholds follow the multi-window, multi-burn-rate recipe of Google's SRE workbook.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import Scope

from estatecrm.config import Settings
from estatecrm.db.errors import is_database_down
from estatecrm.db.session import SessionDep
from estatecrm.kit.clock import utcnow
from estatecrm.ops import metrics, repository
from estatecrm.ops.context import RequestStats

log = logging.getLogger("estatecrm.slo")

WINDOWS: dict[str, timedelta] = {
    "5m": timedelta(minutes=5),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "2h": timedelta(hours=2),
    "6h": timedelta(hours=6),
    "1d": timedelta(days=1),
    "3d": timedelta(days=3),
}
LATENCY_OBJECTIVE = 0.95  # the "95" in P95
DOWN_MINUTE_ERROR_PERCENT = 5
PRUNE_EVERY_SECONDS = 600.0
# Requests that are not the service's users: probes, scrapes and static files.
SLI_EXEMPT_PATHS = ("/health", "/metrics")
SLI_EXEMPT_PREFIXES = ("/static/",)

SEVERITY = {"healthy": 0, "warning": 1, "exhausted": 2, "critical": 3}

Counts = list[int]  # [total, errors, slow]


class SLIRecorder:
    """Per-minute request, error and slow counts of this worker, waiting to be flushed."""

    def __init__(self, latency_threshold_ms: int) -> None:
        self.threshold_seconds = latency_threshold_ms / 1000.0
        self.pending: dict[int, Counts] = {}

    def observe(
        self, scope: Scope, status: int, duration: float, _stats: RequestStats | None
    ) -> None:
        """Count one finished request (called by the metrics middleware)."""
        path: str = scope.get("path", "")
        if path in SLI_EXEMPT_PATHS or path.startswith(SLI_EXEMPT_PREFIXES):
            return
        minute = int(time.time()) // 60 * 60
        counts = self.pending.get(minute)
        if counts is None:
            counts = self.pending[minute] = [0, 0, 0]
        counts[0] += 1
        if status >= 500:
            counts[1] += 1
        if duration > self.threshold_seconds:
            counts[2] += 1

    def take(self) -> dict[int, Counts]:
        """Hand over everything pending (the recorder starts afresh)."""
        taken, self.pending = self.pending, {}
        return taken

    def restore(self, taken: dict[int, Counts]) -> None:
        """Put back counts a failed flush could not write, so none are lost."""
        for minute, counts in taken.items():
            mine = self.pending.setdefault(minute, [0, 0, 0])
            for i in range(3):
                mine[i] += counts[i]

    async def flush(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        """Add pending counts to the shared table; how many minute buckets were written."""
        taken = self.take()
        if not taken:
            return 0
        rows = [
            {"bucket_at": _at(minute), "total": c[0], "errors": c[1], "slow": c[2]}
            for minute, c in sorted(taken.items())
        ]
        try:
            async with sessions() as session, session.begin():
                await repository.add_counts(session, rows)
        except BaseException:
            self.restore(taken)
            raise
        return len(rows)


def _at(minute: int) -> datetime:
    return datetime.fromtimestamp(minute, UTC)


async def prune_old(sessions: async_sessionmaker[AsyncSession], period_days: int) -> int:
    """Delete buckets that have left the error-budget period."""
    async with sessions() as session, session.begin():
        return await repository.prune(session, utcnow() - timedelta(days=period_days))


def _burn(bad: int, events: int, allowed: float) -> float:
    return round((bad / events) / allowed, 3) if events else 0.0


def classify(burn: dict[str, float], remaining: float) -> str:
    """healthy, warning, exhausted or critical, from burn rates and what budget is left."""
    if (burn["1h"] > 14.4 and burn["5m"] > 14.4) or (burn["6h"] > 6 and burn["30m"] > 6):
        return "critical"
    if remaining <= 0:
        return "exhausted"
    if (burn["1d"] > 3 and burn["2h"] > 3) or (burn["3d"] > 1 and burn["6h"] > 1):
        return "warning"
    return "healthy"


def hours_to_exhaustion(remaining: float, burn_1h: float, period_days: int) -> float | None:
    """Hours until the budget is gone if the last hour's burn rate continues."""
    if remaining <= 0:
        return 0.0
    if burn_1h <= 0:
        return None
    return round(remaining * period_days * 24 / burn_1h, 2)


def _slo(
    objective: float,
    period_days: int,
    events: dict[str, int],
    bad: dict[str, int],
    **extra: Any,
) -> dict[str, Any]:
    allowed = 1.0 - objective
    total, failed = events["period"], bad["period"]
    remaining = 1.0 - (failed / total) / allowed if total else 1.0
    burn = {name: _burn(bad[name], events[name], allowed) for name in WINDOWS}
    return {
        "objective": objective,
        **extra,
        "period_days": period_days,
        "events": total,
        "bad_events": failed,
        "error_budget_remaining": round(remaining, 4),
        "burn_rates": burn,
        "status": classify(burn, remaining),
        "time_to_exhaustion_hours": hours_to_exhaustion(remaining, burn["1h"], period_days),
    }


def budget_report(
    settings: Settings, sums: dict[str, dict[str, int]], now: datetime
) -> dict[str, Any]:
    """The `/error-budget` document from window sums (`period` plus each burn window)."""
    days = settings.error_budget_period_days

    def pick(key: str) -> dict[str, int]:
        return {name: sums[name][key] for name in sums}

    slos = {
        "availability": _slo(
            settings.slo_uptime_target,
            days,
            pick("minutes"),
            pick("down_minutes"),
            unit="minutes",
            description=(
                "Share of minutes with traffic in which no more than "
                f"{DOWN_MINUTE_ERROR_PERCENT}% of requests failed with a server error"
            ),
        ),
        "latency": _slo(
            LATENCY_OBJECTIVE,
            days,
            pick("total"),
            pick("slow"),
            unit="requests",
            threshold_ms=settings.slo_latency_p95_ms,
            description=(
                f"P95 latency within {settings.slo_latency_p95_ms} ms: at least 95% of "
                f"requests answered within {settings.slo_latency_p95_ms} ms"
            ),
        ),
        "error_rate": _slo(
            round(1.0 - settings.slo_error_rate_target, 6),
            days,
            pick("total"),
            pick("errors"),
            unit="requests",
            max_error_rate=settings.slo_error_rate_target,
            description=(
                f"Fewer than {settings.slo_error_rate_target:.2%} of requests fail with a "
                "server error (5xx)"
            ),
        ),
    }
    worst = max(slos.values(), key=lambda s: SEVERITY[s["status"]])
    exhaustion = [
        s["time_to_exhaustion_hours"]
        for s in slos.values()
        if s["time_to_exhaustion_hours"] is not None
    ]
    return {
        "status": worst["status"],
        "generated_at": now.isoformat(),
        "period_days": days,
        "time_to_exhaustion_hours": min(exhaustion) if exhaustion else None,
        "slos": slos,
    }


async def current_sums(
    session: AsyncSession, recorder: SLIRecorder | None, now: datetime, period_days: int
) -> dict[str, dict[str, int]]:
    """Window sums from the shared table plus this worker's not-yet-flushed counts."""
    windows = {"period": timedelta(days=period_days), **WINDOWS}
    pending = dict(recorder.pending) if recorder is not None else {}
    pending_at = [_at(minute) for minute in pending]
    sums = await repository.window_sums(
        session, now, windows, down_percent=DOWN_MINUTE_ERROR_PERCENT, exclude=pending_at
    )
    if not pending:
        return sums
    stored = {row.bucket_at: row for row in await repository.minutes(session, pending_at)}
    for minute, counts in pending.items():
        at = _at(minute)
        row = stored.get(at)
        total = counts[0] + (row.total if row else 0)
        errors = counts[1] + (row.errors if row else 0)
        slow = counts[2] + (row.slow if row else 0)
        down = total > 0 and errors * 100 > total * DOWN_MINUTE_ERROR_PERCENT
        for name, span in windows.items():
            if at >= now - span:
                window = sums[name]
                window["total"] += total
                window["errors"] += errors
                window["slow"] += slow
                window["minutes"] += 1 if total else 0
                window["down_minutes"] += 1 if down else 0
    return sums


router = APIRouter(tags=["operations"])


@router.get("/error-budget")
async def error_budget(request: Request, session: SessionDep) -> dict[str, Any]:
    """SLO targets, error budget left and burn rates over 5m … 3d windows."""
    settings: Settings = request.app.state.settings
    recorder: SLIRecorder | None = getattr(request.app.state, "sli_recorder", None)
    now = utcnow()
    sums = await current_sums(session, recorder, now, settings.error_budget_period_days)
    return budget_report(settings, sums, now)


class Flusher:
    """The background task: flush SLI counts, refresh gauges, prune old buckets."""

    def __init__(
        self,
        recorder: SLIRecorder,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        engine: Any,
    ) -> None:
        self.recorder = recorder
        self.sessions = sessions
        self.settings = settings
        self.engine = engine
        self._task: asyncio.Task[None] | None = None
        self._last_prune = 0.0

    def start(self) -> None:
        """Run in the background until stop()."""
        self._task = asyncio.create_task(self._run(), name="estatecrm-sli-flusher")

    async def stop(self) -> None:
        """Stop the loop and write whatever is still pending."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.tick(with_prune=False)

    async def tick(self, *, with_prune: bool = True) -> None:
        """One round: flush, gauges, and (now and then) prune."""
        try:
            await self.recorder.flush(self.sessions)
        except Exception as exc:  # keep the counts for the next round, keep serving
            if is_database_down(exc):
                metrics.database_unreachable()
            log.warning("could not flush SLI counts", extra={"error": repr(exc)[:300]})
        metrics.refresh_pool(self.engine)
        metrics.refresh_memory()
        if with_prune and time.monotonic() - self._last_prune > PRUNE_EVERY_SECONDS:
            self._last_prune = time.monotonic()
            try:
                removed = await prune_old(self.sessions, self.settings.error_budget_period_days)
                if removed:
                    log.info("pruned old SLI buckets", extra={"removed": removed})
            except Exception as exc:
                log.warning("could not prune SLI buckets", extra={"error": repr(exc)[:300]})

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sli_flush_interval_seconds)
            await self.tick()
