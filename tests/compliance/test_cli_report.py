"""`estatecrm compliance report` against real committed databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from estatecrm.cli.app import app
from estatecrm.config import Settings, get_settings
from estatecrm.db.session import create_engine, create_sessionmaker
from tests.builders import make_agency, make_property, make_user
from tests.compliance.builders import make_certificate
from tests.services import (
    migrate_to_head,
    postgres_url,
    prepare_postgres_database,
    require_or_skip,
    run_coroutine,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def report_db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A scratch database with two agencies' data committed, as cron would find it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'report.db'}"
    else:
        url = postgres_url(f"cli_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
        problem = run_coroutine(prepare_postgres_database(url))
        if problem:
            require_or_skip("PostgreSQL", problem)
    migrate_to_head(url)
    run_coroutine(_seed(url))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ENVIRONMENT", "development")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


async def _seed(url: str) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            overdue = await make_agency(session, "Cron Lettings")
            admin = await make_user(session, overdue, role="admin", email="cron@cron.test")
            prop = await make_property(
                session, admin, address_line1="1 Lapsed Lane", postcode="SO15 2AA"
            )
            await make_certificate(session, admin, prop, issued_date=date(2025, 5, 1))
            clean = await make_agency(session, "Clean Lets")
            boss = await make_user(session, clean, role="admin", email="boss@clean.test")
            tidy = await make_property(
                session, boss, address_line1="2 Tidy Terrace", postcode="SO15 2AB", has_gas=False
            )
            await make_certificate(session, boss, tidy, type="epc", issued_date=date(2024, 1, 1))
            await make_certificate(
                session, boss, tidy, type="smoke_co_alarm", issued_date=date(2026, 1, 1)
            )
            # Expiring soon is a warning, not overdue.
            await make_certificate(
                session,
                boss,
                tidy,
                type="eicr",
                issued_date=date(2021, 6, 20),
                expiry_date=date(2026, 6, 20),
            )
    finally:
        await engine.dispose()


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, ["compliance", "report", *args])


def test_exit_code_1_when_something_is_overdue(report_db: str) -> None:
    r = _run("--agency", "Cron Lettings", "--date", "2026-06-01")
    assert r.exit_code == 1, r.output
    assert "OVERDUE" in r.output and "1 Lapsed Lane" in r.output
    assert "Expired (1)" in r.output and "Missing" in r.output


def test_exit_code_0_when_only_expiring(report_db: str) -> None:
    r = _run("--agency", "Clean Lets", "--date", "2026-06-01")
    assert r.exit_code == 0, r.output
    assert "nothing overdue" in r.output and "2 Tidy Terrace" in r.output
    # A month on, the EICR has lapsed.
    assert _run("--agency", "Clean Lets", "--date", "2026-06-21").exit_code == 1


def test_json_for_every_agency(report_db: str) -> None:
    r = _run("--date", "2026-06-01", "--json")
    assert r.exit_code == 1
    body = json.loads(r.output)
    assert body["date"] == "2026-06-01" and body["overdue"] is True
    by_name = {a["agency"]: a for a in body["agencies"]}
    assert set(by_name) == {"Cron Lettings", "Clean Lets"}
    cron = by_name["Cron Lettings"]
    assert cron["overdue"] is True
    [expired] = cron["items"]["expired"]
    assert expired["type"] == "gas_safety" and expired["expiry_date"] == "2026-05-01"
    assert {i["type"] for i in cron["items"]["missing"]} == {"eicr", "epc", "smoke_co_alarm"}
    clean = by_name["Clean Lets"]
    assert clean["overdue"] is False
    assert [i["type"] for i in clean["items"]["due_30"]] == ["eicr"]
    assert clean["summary"]["by_status"]["valid"] == 2


def test_bad_arguments_exit_2(report_db: str) -> None:
    unknown = _run("--agency", "Nobody Lets")
    assert unknown.exit_code == 2 and "No agency named" in unknown.output
    assert _run("--date", "01/06/2026").exit_code == 2
