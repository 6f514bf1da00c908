"""create_app(): lifespan, middleware, routers, error handlers and static files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from estatecrm import __version__
from estatecrm.applicants import api as applicants_api
from estatecrm.applicants import pages as applicants_pages
from estatecrm.auth import api as auth_api
from estatecrm.auth import pages as auth_pages
from estatecrm.auth import service as auth_service
from estatecrm.compliance import api as compliance_api
from estatecrm.compliance import pages as compliance_pages
from estatecrm.config import Settings, get_settings
from estatecrm.contacts import api as contacts_api
from estatecrm.contacts import pages as contacts_pages
from estatecrm.db.session import create_engine, create_sessionmaker
from estatecrm.features import build_jobs, build_relations
from estatecrm.jobs import metrics as jobs_metrics
from estatecrm.maintenance import api as maintenance_api
from estatecrm.maintenance import pages as maintenance_pages
from estatecrm.offers import api as offers_api
from estatecrm.offers import pages as offers_pages
from estatecrm.ops import errors as ops_errors
from estatecrm.ops import metrics as ops_metrics
from estatecrm.ops import stack as ops_stack
from estatecrm.properties import api as properties_api
from estatecrm.properties import pages as properties_pages
from estatecrm.sales import api as sales_api
from estatecrm.sales import pages as sales_pages
from estatecrm.storage import storage_from_settings
from estatecrm.tasks import alerts as tasks_alerts
from estatecrm.tasks import api as tasks_api
from estatecrm.tasks import pages as tasks_pages
from estatecrm.tenancies import api as tenancies_api
from estatecrm.tenancies import pages as tenancies_pages
from estatecrm.viewings import api as viewings_api
from estatecrm.viewings import pages as viewings_pages
from estatecrm.web.errors import install_error_handlers
from estatecrm.web.templating import STATIC_DIR

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
    tasks_alerts.router,
]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI application."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "engine", None) is None:
            app.state.engine = create_engine(settings)
            app.state.owns_engine = True
            app.state.sessionmaker = create_sessionmaker(app.state.engine)
        ops_metrics.instrument_engine(app.state.engine)
        await ops_stack.startup(app)
        await app.state.jobs.start_in_process()
        try:
            yield
        finally:
            await app.state.jobs.stop()
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
    # Where files live (a local directory or an S3 bucket): routes take it as StorageDep.
    app.state.storage = storage_from_settings(settings)
    app.state.demo_accounts_probe = auth_service.count_demo_accounts
    # What features hold that refers to each other's records; every request's session has it.
    app.state.relations = build_relations()
    # The job runtime (jobs.defer, jobs.emit): every request's session carries it; its jobs
    # open sessions from the app's factory (the lifespan's, or the one a test puts there).
    app.state.jobs = build_jobs(settings).bind(
        lambda: getattr(app.state, "sessionmaker", None), app.state.relations
    )
    app.state.session_info = app.state.jobs.session_info()
    app.state.metrics_refreshers = [jobs_metrics.refresher(app.state.jobs)]
    install_error_handlers(app)
    app.add_exception_handler(Exception, ops_errors.unexpected_error)
    ops_stack.install(app, settings)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/properties", status_code=303)

    return app


app = create_app()
