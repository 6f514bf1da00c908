"""Innermost middleware: an unexpected exception becomes an ordinary 500 (or 503) response.

FastAPI's `Exception` handler runs in Starlette's ServerErrorMiddleware, outside every user
middleware, so a crash would skip request ids, security headers and metrics. Catching here,
inside them, lets the outer middleware see and decorate a normal response.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("estatecrm.errors")

ExceptionResponder = Callable[[Request, Exception], Awaitable[Response]]


class UnexpectedErrorMiddleware:
    """Turns exceptions that no handler took into the service's own error response."""

    def __init__(self, app: ASGIApp, *, responder: ExceptionResponder) -> None:
        self.app = app
        self.responder = responder

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
            response = await self.responder(Request(scope, receive), exc)
            await response(scope, receive, send)
