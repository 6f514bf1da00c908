"""Innermost middleware: an unexpected exception becomes an ordinary 500 (or 503) response.

FastAPI's `Exception` handler runs in Starlette's ServerErrorMiddleware, outside every user
middleware, so a crash would skip request ids, security headers and metrics. Catching here,
inside them, lets the outer middleware see and decorate a normal response.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from estatecrm.db.errors import is_database_down
from estatecrm.ops import metrics
from estatecrm.web.errors import error_response

log = logging.getLogger("estatecrm.errors")
app_log = logging.getLogger("estatecrm")


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """An exception no handler took: 503 if the database is unreachable, else a logged 500."""
    if is_database_down(exc):
        metrics.database_unreachable()
        app_log.error("database unavailable: %s", exc.__class__.__name__)
        return error_response(request, 503, "Database unavailable, try again shortly")
    app_log.error("unhandled error", exc_info=exc)
    return error_response(request, 500, "Internal server error")


class UnexpectedErrorMiddleware:
    """Turns exceptions that no handler took into the service's own error response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            if started:
                # Headers are gone already; all we can do is record it and drop the stream.
                log.error("error after the response started", exc_info=exc)
                raise
            response = await unexpected_error(Request(scope, receive), exc)
            await response(scope, receive, send)
