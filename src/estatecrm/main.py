"""create_app(): lifespan, middleware, routers, error handlers and static files."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from estatecrm import __version__
from estatecrm.applicants import api as applicants_api
from estatecrm.applicants import pages as applicants_pages
from estatecrm.auth import api as auth_api
from estatecrm.auth import pages as auth_pages
from estatecrm.compliance import api as compliance_api
from estatecrm.compliance import pages as compliance_pages
from estatecrm.config import Settings, get_settings
from estatecrm.contacts import api as contacts_api
from estatecrm.contacts import pages as contacts_pages
from estatecrm.db.session import create_engine, create_sessionmaker
from estatecrm.errors import CRMError
from estatecrm.features import build_relations
from estatecrm.maintenance import api as maintenance_api
from estatecrm.maintenance import pages as maintenance_pages
from estatecrm.offers import api as offers_api
from estatecrm.offers import pages as offers_pages
from estatecrm.ops import metrics as ops_metrics
from estatecrm.ops import stack as ops_stack
from estatecrm.properties import api as properties_api
from estatecrm.properties import pages as properties_pages
from estatecrm.sales import api as sales_api
from estatecrm.sales import pages as sales_pages
from estatecrm.tasks import api as tasks_api
from estatecrm.tasks import pages as tasks_pages
from estatecrm.tenancies import api as tenancies_api
from estatecrm.tenancies import pages as tenancies_pages
from estatecrm.viewings import api as viewings_api
from estatecrm.viewings import pages as viewings_pages
from estatecrm.web.templating import STATIC_DIR, is_htmx, render

log = logging.getLogger("estatecrm")

ROUTERS = [
    auth_api.router,
    auth_pages.router,
    properties_api.router,
    properties_pages.router,
    compliance_api.router,
    compliance_pages.router,
    tasks_api.router,
    tasks_pages.router,
    contacts_api.router,
    contacts_pages.router,
    applicants_api.router,
    applicants_pages.router,
    viewings_api.router,
    viewings_api.feed_router,
    viewings_pages.router,
    offers_api.router,
    offers_pages.router,
    tenancies_api.router,
    tenancies_pages.router,
    sales_api.router,
    sales_pages.router,
    maintenance_api.router,
    maintenance_pages.router,
]


def wants_json(request: Request) -> bool:
    """API paths and clients that ask for JSON get JSON errors; people get pages."""
    path = request.url.path
    if path.startswith("/api/") or path in (
        "/health",
        "/metrics",
        "/error-budget",
        "/csrf-token",
        "/trace",
    ):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    cleaned = []
    for err in errors:
        loc = list(err.get("loc", ()))
        names = [p for p in loc[1:] if isinstance(p, str)] if len(loc) > 1 else []
        field = (
            names[0]
            if names
            else (str(loc[0]) if loc and err.get("type") != "json_invalid" else "body")
        )
        cleaned.append(
            {
                "loc": [str(p) for p in loc],
                "field": field,
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return cleaned


def error_response(
    request: Request, status: int, message: str, detail: Any = None, field: str | None = None
) -> Response:
    """One error, as JSON for the API or as a page / HTMX toast for people."""
    if wants_json(request):
        body: dict[str, Any] = {"error": message}
        if detail is not None:
            body["detail"] = detail
        if field is not None:
            body["field"] = field
        request_id = getattr(request.state, "request_id", None)
        if status >= 500 and request_id:
            body["request_id"] = request_id
        return JSONResponse(body, status_code=status)
    if status == 401:
        target = "/login?next=" + quote(request.url.path)
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    context = {"status": status, "message": message}
    if is_htmx(request):
        response = render(request, "error.html", context, block="toast", status_code=status)
        response.headers["HX-Retarget"] = "#toasts"
        response.headers["HX-Reswap"] = "beforeend"
        return response
    return render(request, "error.html", context, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    """One handler per kind of failure; no stack trace ever reaches a client."""

    @app.exception_handler(CRMError)
    async def _crm_error(request: Request, exc: CRMError) -> Response:
        return error_response(request, exc.status_code, exc.message, exc.detail, exc.field)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = _clean_errors(exc.errors())
        fields = [e["field"] for e in errors if e["field"]]
        message = "Validation failed" + (f": {', '.join(dict.fromkeys(fields))}" if fields else "")
        return error_response(request, 422, message, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: "Not found", 405: "Method not allowed"}
        message = (
            exc.detail if isinstance(exc.detail, str) else messages.get(exc.status_code, "Error")
        )
        response = error_response(request, exc.status_code, message)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    app.add_exception_handler(Exception, unexpected_error)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """An exception no handler took: 503 if the database is unreachable, else a logged 500."""
    if is_database_down(exc):
        ops_metrics.database_unreachable()
        log.error("database unavailable: %s", exc.__class__.__name__)
        return error_response(request, 503, "Database unavailable, try again shortly")
    log.error("unhandled error", exc_info=exc)
    return error_response(request, 500, "Internal server error")


def is_database_down(exc: BaseException) -> bool:
    """Whether an exception means the database cannot be reached (503, not 500)."""
    if isinstance(exc, OperationalError | SATimeoutError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OSError) and exc.errno is not None


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI application."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "engine", None) is None:
            app.state.engine = create_engine(settings)
            app.state.owns_engine = True
            app.state.sessionmaker = create_sessionmaker(app.state.engine)
        await ops_stack.startup(app, is_database_down)
        try:
            yield
        finally:
            await ops_stack.shutdown(app)
            if getattr(app.state, "owns_engine", False):
                await app.state.engine.dispose()

    app = FastAPI(
        title="Estate Agent CRM",
        version=__version__,
        description="CRM for UK estate and letting agencies. JSON API under /api/v1.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = None
    # What features hold that refers to each other's records; every request's session has it.
    app.state.relations = build_relations()
    install_error_handlers(app)
    ops_stack.install(app, settings, error_response=error_response, unexpected=unexpected_error)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/properties", status_code=303)

    return app


def use_engine(app: FastAPI, engine: Any) -> None:
    """Point the app at an existing engine (tests and the CLI share one)."""
    app.state.engine = engine
    app.state.owns_engine = False
    app.state.sessionmaker = create_sessionmaker(engine)


app = create_app()
