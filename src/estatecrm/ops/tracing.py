"""`GET /trace`: the last few hundred requests this worker served, with their database work.

Only with ENABLE_REQUEST_TRACING=true and never in production (the route does not exist
there). Each worker keeps its own ring buffer in memory.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.types import Scope

from estatecrm.kit.clock import utcnow
from estatecrm.ops.context import RequestStats, route_template, state
from estatecrm.ops.logging import pid

CAPACITY = 500


class TraceBuffer:
    """A ring buffer of finished requests (newest last)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=capacity)

    def observe(
        self, scope: Scope, status: int, duration: float, stats: RequestStats | None
    ) -> None:
        """Record one finished request (called by the metrics middleware)."""
        path: str = scope.get("path", "")
        if path == "/trace" or path.startswith("/static/"):
            return
        st = state(scope)
        self.entries.append(
            {
                "timestamp": utcnow().isoformat(timespec="milliseconds"),
                "request_id": st.get("request_id"),
                "method": scope.get("method"),
                "path": path,
                "route": route_template(scope),
                "status": status,
                "duration_ms": round(duration * 1000.0, 2),
                "db_queries": stats.db_queries if stats else 0,
                "db_ms": round(stats.db_seconds * 1000.0, 2) if stats else 0.0,
                "user_id": st.get("user_id"),
            }
        )


router = APIRouter(tags=["operations"])


@router.get("/trace")
async def trace(
    request: Request,
    limit: int = Query(100, ge=1, le=CAPACITY, description="How many requests, newest first"),
    min_duration_ms: float = Query(0, ge=0, description="Only requests at least this slow"),
    route: str | None = Query(None, description="Only this route template"),
) -> dict[str, Any]:
    """Recent requests with their duration and database query count and time."""
    buffer: TraceBuffer = request.app.state.trace_buffer
    picked: list[dict[str, Any]] = []
    for entry in reversed(buffer.entries):
        if entry["duration_ms"] < min_duration_ms or (route and entry["route"] != route):
            continue
        picked.append(entry)
        if len(picked) >= limit:
            break
    return {
        "worker_pid": pid(),
        "capacity": buffer.entries.maxlen,
        "recorded": len(buffer.entries),
        "requests": picked,
    }
