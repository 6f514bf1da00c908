"""Prometheus metrics: the runbook's names, labelled by route template, multiprocess-safe.

prometheus_client picks single- or multi-process mode from `PROMETHEUS_MULTIPROC_DIR` in the
environment when it is first imported; `deploy/gunicorn.conf.py` sets and wipes that
directory before any worker starts, so every worker writes its samples there and any worker
can answer `/metrics` for all of them.
"""

from __future__ import annotations

import os
import time

# prometheus_client writes into this folder from the first metric it creates; a missing
# folder would crash every command that imports the app (migrations, the CLI).
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
from collections.abc import Iterable, Iterator
from typing import Any

import psutil
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from estatecrm import __version__
from estatecrm.kit import crypto
from estatecrm.ops.context import (
    UNMATCHED,
    RequestStats,
    request_stats,
    resolve_route,
    route_template,
    state,
)

# `*_created` series double the exposition and no dashboard uses them.
disable_created_metrics()  # type: ignore[no-untyped-call]

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "path", "status"],
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "path"],
    buckets=HTTP_BUCKETS,
)
HTTP_IN_PROGRESS = Gauge(
    "http_requests_in_progress",
    "HTTP requests being answered right now, by method.",
    ["method"],
    multiprocess_mode="livesum",
)
DB_QUERY_DURATION = Histogram(
    "database_query_duration_seconds",
    "Time of one database statement, by operation (select, insert, update, delete, other).",
    ["operation"],
    buckets=DB_BUCKETS,
)
# One series per worker, labelled `pid` in multiprocess mode: sum() them for the host's
# pool, pick a pid for the one worker whose pool /health?detailed=true shows (worker_pid).
DB_POOL_SIZE = Gauge(
    "database_pool_size",
    "Configured connections in this worker's database pool (label pid: the worker).",
    multiprocess_mode="liveall",
)
DB_POOL_CHECKED_OUT = Gauge(
    "database_pool_checked_out",
    "Database connections this worker has in use (label pid: the worker).",
    multiprocess_mode="liveall",
)
DB_POOL_OVERFLOW = Gauge(
    "database_pool_overflow",
    "Database connections this worker has open beyond its pool size (label pid).",
    multiprocess_mode="liveall",
)
DB_POOL_AVAILABLE = Gauge(
    "database_pool_available",
    "Pooled connections this worker can use without overflowing (label pid).",
    multiprocess_mode="liveall",
)
DB_CONNECTION_ERRORS = Counter(
    "database_connection_errors_total",
    "Requests, health checks and SLI flushes that could not reach the database.",
)
RATE_LIMIT_EXCEEDED = Counter(
    "rate_limit_exceeded_total",
    "Requests refused with 429, by route template.",
    ["path"],
)
CSRF_FAILURES = Counter(
    "csrf_failures_total",
    "Unsafe requests refused because their CSRF token was missing or wrong.",
)
AUTH_FAILURES = Counter(
    "auth_failures_total",
    "Failed sign-ins and rejected credentials, by reason.",
    ["reason"],
)
ENCRYPTED_VALUES_WITHHELD = Counter(
    "encrypted_values_withheld_total",
    "Encrypted field values served withheld because no configured key decrypts them.",
)
MEMORY_USAGE_RATIO = Gauge(
    "system_memory_usage_ratio",
    "Share of the host's memory in use (0..1).",
    multiprocess_mode="livemax",
)
APP_INFO = Gauge(
    "app_info",
    "Always 1; labels carry the running version and environment.",
    ["version", "environment"],
    multiprocess_mode="livemax",
)

AUTH_FAILURE_REASONS = ("invalid_credentials", "invalid_token", "invalid_session")
DB_OPERATIONS = ("select", "insert", "update", "delete", "other")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# Families declared above, so /metrics names every one of them even before it is touched.
DECLARED: list[tuple[str, str, str]] = [
    ("http_requests", HTTP_REQUESTS._documentation, "counter"),
    ("http_request_duration_seconds", HTTP_DURATION._documentation, "histogram"),
    ("http_requests_in_progress", HTTP_IN_PROGRESS._documentation, "gauge"),
    ("database_query_duration_seconds", DB_QUERY_DURATION._documentation, "histogram"),
    ("database_pool_size", DB_POOL_SIZE._documentation, "gauge"),
    ("database_pool_checked_out", DB_POOL_CHECKED_OUT._documentation, "gauge"),
    ("database_pool_overflow", DB_POOL_OVERFLOW._documentation, "gauge"),
    ("database_pool_available", DB_POOL_AVAILABLE._documentation, "gauge"),
    ("database_connection_errors", DB_CONNECTION_ERRORS._documentation, "counter"),
    ("rate_limit_exceeded", RATE_LIMIT_EXCEEDED._documentation, "counter"),
    ("csrf_failures", CSRF_FAILURES._documentation, "counter"),
    ("auth_failures", AUTH_FAILURES._documentation, "counter"),
    ("encrypted_values_withheld", ENCRYPTED_VALUES_WITHHELD._documentation, "counter"),
    ("system_memory_usage_ratio", MEMORY_USAGE_RATIO._documentation, "gauge"),
    ("app_info", APP_INFO._documentation, "gauge"),
]


def multiprocess_dir() -> str | None:
    """The shared sample directory when running several workers, else None."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def initialise(environment: str) -> None:
    """Create the zero-valued series dashboards expect, so they exist from the first scrape."""
    APP_INFO.labels(version=__version__, environment=environment).set(1)
    for reason in AUTH_FAILURE_REASONS:
        AUTH_FAILURES.labels(reason=reason)
    for operation in DB_OPERATIONS:
        DB_QUERY_DURATION.labels(operation=operation)
    for method in HTTP_METHODS:
        HTTP_IN_PROGRESS.labels(method=method)
    # Label-less counters exist from import; touching them writes their multiprocess file.
    DB_CONNECTION_ERRORS.inc(0)
    CSRF_FAILURES.inc(0)
    ENCRYPTED_VALUES_WITHHELD.inc(0)
    crypto.on_unreadable(encrypted_value_withheld)
    refresh_memory()


def auth_failure(reason: str) -> None:
    """Count a failed sign-in or a rejected token/session."""
    AUTH_FAILURES.labels(reason=reason).inc()


def encrypted_value_withheld() -> None:
    """Count one encrypted value served withheld (no configured key decrypts it)."""
    ENCRYPTED_VALUES_WITHHELD.inc()


def database_unreachable() -> None:
    """Count one failure to reach the database."""
    DB_CONNECTION_ERRORS.inc()


def pool_stats(engine: AsyncEngine | None) -> dict[str, int]:
    """Size, checked-out, overflow and available connections of an engine's pool."""
    pool: Any = getattr(getattr(engine, "sync_engine", None), "pool", None)
    try:
        size = int(pool.size())
        checked_out = int(pool.checkedout())
        overflow = max(0, int(pool.overflow()))
    except (AttributeError, TypeError):
        return {"pool_size": 0, "pool_checked_out": 0, "pool_overflow": 0, "pool_available": 0}
    return {
        "pool_size": size,
        "pool_checked_out": checked_out,
        "pool_overflow": overflow,
        "pool_available": max(0, size - checked_out),
    }


def refresh_pool(engine: AsyncEngine | None) -> None:
    """Set the pool gauges from the engine (at scrape time and from the background loop)."""
    stats = pool_stats(engine)
    DB_POOL_SIZE.set(stats["pool_size"])
    DB_POOL_CHECKED_OUT.set(stats["pool_checked_out"])
    DB_POOL_OVERFLOW.set(stats["pool_overflow"])
    DB_POOL_AVAILABLE.set(stats["pool_available"])


def refresh_memory() -> None:
    """Set the memory gauge from the host."""
    MEMORY_USAGE_RATIO.set(round(psutil.virtual_memory().percent / 100.0, 4))


class _WithDeclaredFamilies:
    """Multiprocess samples, plus HELP/TYPE for declared families no worker has touched."""

    def __init__(self, path: str) -> None:
        self._collector = MultiProcessCollector(None, path=path)  # type: ignore[no-untyped-call]

    def collect(self) -> Iterator[Metric]:
        seen: set[str] = set()
        for family in self._collector.collect():  # type: ignore[no-untyped-call]
            seen.add(family.name)
            yield family
        for name, documentation, kind in DECLARED:
            if name not in seen:
                yield Metric(name, documentation, kind)


def exposition() -> bytes:
    """The Prometheus text exposition for this process, or for all workers."""
    path = multiprocess_dir()
    if path is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    registry.register(_WithDeclaredFamilies(path))
    return generate_latest(registry)


router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=True, response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics (text exposition format)."""
    refresh_pool(getattr(request.app.state, "engine", None))
    refresh_memory()
    # Gauges read at scrape time from what the entry point hands over (the job queue's).
    for refresh in getattr(request.app.state, "metrics_refreshers", ()):
        await refresh()
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


# --- database statements ----------------------------------------------------------------


def _operation(statement: str) -> str:
    head = statement.lstrip()[:8].split(None, 1)
    word = head[0].lower() if head else ""
    return word if word in DB_OPERATIONS else "other"


def _before_cursor_execute(
    conn: Any, _cursor: Any, _statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    conn.info.setdefault("estatecrm_query_start", []).append(time.perf_counter())


def _after_cursor_execute(
    conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    starts = conn.info.get("estatecrm_query_start")
    if not starts:
        return
    elapsed = time.perf_counter() - starts.pop()
    DB_QUERY_DURATION.labels(operation=_operation(statement)).observe(elapsed)
    stats = request_stats.get()
    if stats is not None:
        stats.db_queries += 1
        stats.db_seconds += elapsed


def _handle_error(context: Any) -> None:
    conn = context.connection
    if conn is not None:
        starts = conn.info.get("estatecrm_query_start")
        if starts:
            starts.pop()


def instrument_engine(engine: AsyncEngine) -> None:
    """Time every statement the engine runs (idempotent)."""
    sync_engine = engine.sync_engine
    if sync_engine.__dict__.get("_estatecrm_instrumented"):
        return
    event.listen(sync_engine, "before_cursor_execute", _before_cursor_execute)
    event.listen(sync_engine, "after_cursor_execute", _after_cursor_execute)
    event.listen(sync_engine, "handle_error", _handle_error)
    sync_engine.__dict__["_estatecrm_instrumented"] = True


# --- HTTP requests ------------------------------------------------------------------------


class MetricsMiddleware:
    """Counts, times and tracks every HTTP request; feeds the SLI recorder and the tracer."""

    def __init__(self, app: ASGIApp, *, observers: Iterable[Any] = ()) -> None:
        self.app = app
        self.observers = list(observers)
        # Label children, looked up once: `.labels()` takes a lock and builds tuples.
        self._in_progress: dict[str, Any] = {}
        self._counts: dict[tuple[str, str, int], Any] = {}
        self._durations: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        in_progress = self._in_progress.get(method)
        if in_progress is None:
            in_progress = self._in_progress[method] = HTTP_IN_PROGRESS.labels(method=method)
        in_progress.inc()
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            duration = time.perf_counter() - started
            in_progress.dec()
            path = route_template(scope)
            if path == UNMATCHED:
                # Mounts (static files) set no route: label them by their template too,
                # so the SLIs can leave /static/{path} out as the app's SLI recorder does.
                path = resolve_route(scope)
            count = self._counts.get((method, path, status))
            if count is None:
                count = HTTP_REQUESTS.labels(method=method, path=path, status=str(status))
                self._counts[(method, path, status)] = count
            count.inc()
            timing = self._durations.get((method, path))
            if timing is None:
                timing = self._durations[(method, path)] = HTTP_DURATION.labels(method, path)
            timing.observe(duration)
            st = state(scope)
            st["status_code"] = status
            st["duration_seconds"] = duration
            st["route"] = path
            stats: RequestStats | None = request_stats.get()
            for observer in self.observers:
                observer.observe(scope, status, duration, stats)
