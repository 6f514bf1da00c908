"""What every CLI command shares: settings that fail clearly, and a database session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.config import Settings, get_settings
from estatecrm.db import relations, scoping
from estatecrm.db.session import create_engine, create_sessionmaker
from estatecrm.features import build_jobs, build_relations
from estatecrm.jobs import runtime as jobs_runtime

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")


def load_settings() -> Settings:
    """The settings, or a clear message and exit code 2 when they are invalid."""
    from estatecrm.kit.vault import VaultError

    try:
        return get_settings()
    except VaultError as exc:
        err_console.print(f"[red]Configuration error[/red] (Vault): {exc}")
        raise typer.Exit(code=2) from None
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ())) or "settings"
            err_console.print(f"[red]Configuration error[/red] ({where}): {err['msg']}")
        raise typer.Exit(code=2) from None


@asynccontextmanager
async def session_scope(settings: Settings, *, cross_agency: str) -> AsyncIterator[AsyncSession]:
    """One session and transaction for a CLI command, with the features' relations wired;
    committed when the block succeeds.

    A command acts for the whole installation, so its session is cross-agency and says why;
    work done for one agency binds it for that block (`scoping.as_agency`).
    """
    engine = create_engine(settings)
    factory = create_sessionmaker(engine)
    wired = build_relations()
    try:
        async with factory() as session, session.begin():
            scoping.cross_agency_session(session, cross_agency)
            jobs_runtime.attach(session, build_jobs(settings).bind(factory, wired))
            yield relations.attach(session, wired)
    finally:
        await engine.dispose()


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run an async command body."""
    return asyncio.run(coro_fn())  # type: ignore[arg-type]
