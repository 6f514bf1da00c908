"""Wires the operations surface into the app: routes, middleware (in order) and lifespan."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from estatecrm.config import Settings, split_list
from estatecrm.ops import csrf, health, metrics, slo, tracing
from estatecrm.ops.context import parse_networks
from estatecrm.ops.csrf import CSRFMiddleware, CSRFTokens
from estatecrm.ops.errors import UnexpectedErrorMiddleware
from estatecrm.ops.headers import SecurityHeadersMiddleware
from estatecrm.ops.logging import (
    AccessLogMiddleware,
    RequestIdMiddleware,
    configure_logging,
    flush_logs,
)
from estatecrm.ops.metrics import MetricsMiddleware
from estatecrm.ops.ratelimit import RateLimiter, RateLimitMiddleware
from estatecrm.ops.slo import Flusher, SLIRecorder
from estatecrm.ops.tracing import TraceBuffer

log = logging.getLogger("estatecrm.ops")

CORS_HEADERS = ["Authorization", "Content-Type", "X-CSRF-Token", "X-Request-ID", "HX-Request"]
CORS_EXPOSE = ["X-Request-ID", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"]
CORS_EXPOSE += ["X-RateLimit-Reset"]


def install(app: FastAPI, settings: Settings) -> None:
    """Add the ops routes and, unless OPS_MIDDLEWARE_ENABLED=false, the middleware stack.

    Request flow, outermost first: request id → access log → metrics/SLI → security headers
    → (CORS) → CSRF → rate limit → unexpected-error catcher → FastAPI's handlers → routes.
    """
    configure_logging(settings.log_level)
    metrics.initialise(settings.environment)
    state = app.state
    state.started_monotonic = time.monotonic()
    state.csrf_tokens = CSRFTokens(
        settings.secret_key, settings.secret_key_previous, secure=not settings.is_development
    )
    state.rate_limiter = RateLimiter(settings)
    state.sli_recorder = SLIRecorder(settings.slo_latency_p95_ms)
    state.trace_buffer = TraceBuffer() if settings.request_tracing else None
    state.health_redis = health.redis_client(settings)
    state.sli_flusher = None

    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(slo.router)
    app.include_router(csrf.router)
    if settings.request_tracing:
        app.include_router(tracing.router)

    if not settings.ops_middleware_enabled:
        return
    observers: list[Any] = [state.sli_recorder]
    if state.trace_buffer is not None:
        observers.append(state.trace_buffer)
    # add_middleware puts each new one outside the previous: add from the inside out.
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(RateLimitMiddleware, limiter=state.rate_limiter)
    app.add_middleware(CSRFMiddleware, tokens=state.csrf_tokens)
    origins = settings.cors_origin_list
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=CORS_HEADERS,
            expose_headers=CORS_EXPOSE,
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(MetricsMiddleware, observers=observers)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(
        RequestIdMiddleware, trusted_proxies=parse_networks(split_list(settings.trusted_proxies))
    )


async def startup(app: FastAPI) -> None:
    """Start the SLI flusher (it also refreshes the pool and memory gauges)."""
    settings: Settings = app.state.settings
    if not settings.ops_middleware_enabled:
        return
    flusher = Flusher(
        app.state.sli_recorder,
        app.state.sessionmaker,
        settings,
        app.state.engine,
    )
    flusher.start()
    app.state.sli_flusher = flusher


async def shutdown(app: FastAPI) -> None:
    """Write the last SLI counts, close clients, drain the log queue."""
    flusher: Flusher | None = getattr(app.state, "sli_flusher", None)
    if flusher is not None:
        await flusher.stop()
        app.state.sli_flusher = None
    client = getattr(app.state, "health_redis", None)
    if client is not None:
        try:
            await client.aclose()
        except Exception as exc:  # closing a dead connection must not fail shutdown
            log.debug("closing redis client failed", extra={"error": repr(exc)})
    flush_logs(final=True)
