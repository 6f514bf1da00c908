"""SLI counting, the per-minute table, and `/error-budget` with its burn rates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.config import Settings
from estatecrm.db.session import create_engine, create_sessionmaker
from estatecrm.kit.clock import utcnow
from estatecrm.ops import repository
from estatecrm.ops.models import SLIMinute
from estatecrm.ops.slo import (
    WINDOWS,
    SLIRecorder,
    classify,
    hours_to_exhaustion,
    prune_old,
)
from tests.ops.conftest import free_port

QUIET = dict.fromkeys(WINDOWS, 0.0)


def burn(**rates: float) -> dict[str, float]:
    return {**QUIET, **{k.removeprefix("w"): v for k, v in rates.items()}}


@pytest.mark.parametrize(
    ("rates", "remaining", "expected"),
    [
        ({}, 1.0, "healthy"),
        ({"w1h": 15, "w5m": 15}, 0.9, "critical"),
        ({"w6h": 6.5, "w30m": 6.5}, 0.9, "critical"),
        ({"w1h": 15}, 0.9, "healthy"),  # a spike that is already over: not paged
        ({"w5m": 100}, 0.9, "healthy"),  # a short blip: not paged
        ({"w1d": 3.5, "w2h": 3.5}, 0.9, "warning"),
        ({"w3d": 1.5, "w6h": 1.5}, 0.9, "warning"),
        ({"w3d": 1.5}, 0.9, "healthy"),
        ({}, 0.0, "exhausted"),
        ({}, -0.4, "exhausted"),
        ({"w1h": 20, "w5m": 20}, -1.0, "critical"),
    ],
)
def test_multiwindow_classification(
    rates: dict[str, float], remaining: float, expected: str
) -> None:
    assert classify(burn(**rates), remaining) == expected


def test_time_to_exhaustion() -> None:
    # Half the 30-day budget left, burning at 2x: 0.5 * 720 h / 2 = 180 h.
    assert hours_to_exhaustion(0.5, 2.0, 30) == 180.0
    assert hours_to_exhaustion(0.5, 0.0, 30) is None
    assert hours_to_exhaustion(-0.1, 5.0, 30) == 0.0


def _scope(path: str) -> dict[str, Any]:
    return {"type": "http", "path": path, "method": "GET"}


async def test_recorder_counts_and_flush_upserts(
    session: AsyncSession, session_factory: Any
) -> None:
    recorder = SLIRecorder(latency_threshold_ms=500)
    for status, duration in [(200, 0.01), (500, 0.02), (200, 0.9), (503, 1.2)]:
        recorder.observe(_scope("/api/v1/properties"), status, duration, None)
    for path in ("/health", "/metrics", "/static/app.css"):
        recorder.observe(_scope(path), 500, 5.0, None)  # probes and assets are not SLI events
    assert await recorder.flush(session_factory) >= 1
    assert recorder.pending == {}
    # A second flush of the same minute adds to the row instead of replacing it.
    recorder.observe(_scope("/properties"), 200, 0.01, None)
    await recorder.flush(session_factory)
    totals = (
        await session.execute(
            select(func.sum(SLIMinute.total), func.sum(SLIMinute.errors), func.sum(SLIMinute.slow))
        )
    ).one()
    assert tuple(totals) == (5, 2, 2)


async def test_failed_flush_keeps_counts(session_factory: Any) -> None:
    recorder = SLIRecorder(latency_threshold_ms=500)
    recorder.observe(_scope("/api/v1/me"), 200, 0.01, None)
    broken = create_engine(
        Settings(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/gone")
    )
    try:
        with pytest.raises(OSError):
            await recorder.flush(create_sessionmaker(broken))
    finally:
        await broken.dispose()
    assert sum(c[0] for c in recorder.pending.values()) == 1
    assert await recorder.flush(session_factory) == 1


async def _seed(session: AsyncSession, rows: list[tuple[timedelta, int, int, int]]) -> None:
    now = utcnow().replace(second=0, microsecond=0)
    await repository.add_counts(
        session,
        [
            {"bucket_at": now - ago, "total": total, "errors": errors, "slow": slow}
            for ago, total, errors, slow in rows
        ],
    )
    await session.flush()


async def test_error_budget_document_shape(raw_client: Any) -> None:
    r = await raw_client.get("/error-budget")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "healthy"
    assert body["period_days"] == 30
    assert body["time_to_exhaustion_hours"] is None
    assert set(body["slos"]) == {"availability", "latency", "error_rate"}
    for slo in body["slos"].values():
        assert {
            "objective",
            "period_days",
            "events",
            "bad_events",
            "error_budget_remaining",
            "burn_rates",
            "status",
            "time_to_exhaustion_hours",
        } <= set(slo)
        assert list(slo["burn_rates"]) == ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
        assert slo["error_budget_remaining"] == 1.0
    assert body["slos"]["availability"]["objective"] == 0.999
    assert body["slos"]["latency"]["objective"] == 0.95
    assert body["slos"]["latency"]["threshold_ms"] == 500
    assert body["slos"]["error_rate"]["objective"] == 0.999


async def test_a_fast_burn_is_critical(raw_client: Any, session: AsyncSession) -> None:
    # 2% of requests failing for the last hour: 20x the 0.1% the error-rate SLO allows.
    await _seed(session, [(timedelta(minutes=m), 1000, 20, 0) for m in range(60)])
    body = (await raw_client.get("/error-budget")).json()
    error_rate = body["slos"]["error_rate"]
    assert error_rate["events"] == 60_000 and error_rate["bad_events"] == 1200
    assert error_rate["burn_rates"]["5m"] == pytest.approx(20.0)
    assert error_rate["burn_rates"]["1h"] == pytest.approx(20.0)
    assert error_rate["status"] == "critical"
    # 2% errors in a minute is not an outage minute (the threshold is 5%).
    assert body["slos"]["availability"]["bad_events"] == 0
    assert body["status"] == "critical"
    # 1 - 0.02/0.001 = -19: far past the budget, and the 1h burn says it is gone now.
    assert error_rate["error_budget_remaining"] == pytest.approx(-19.0)
    assert body["time_to_exhaustion_hours"] == 0.0


async def test_a_slow_steady_burn_is_a_warning(raw_client: Any, session: AsyncSession) -> None:
    # A day of 0.4% errors (4x burn) over a month of clean traffic: warning, not a page.
    rows = [(timedelta(minutes=m), 1000, 4, 0) for m in range(0, 24 * 60, 10)]
    rows += [(timedelta(days=d, minutes=7), 500_000, 0, 0) for d in range(2, 29)]
    await _seed(session, rows)
    body = (await raw_client.get("/error-budget")).json()
    error_rate = body["slos"]["error_rate"]
    assert error_rate["burn_rates"]["1h"] == pytest.approx(4.0)
    assert error_rate["burn_rates"]["1d"] == pytest.approx(4.0)
    assert error_rate["status"] == "warning"
    assert 0 < error_rate["error_budget_remaining"] < 1
    assert error_rate["time_to_exhaustion_hours"] > 0
    assert body["status"] == "warning"


async def test_old_damage_leaves_the_budget_exhausted(
    raw_client: Any, session: AsyncSession
) -> None:
    # A ten-day-old incident spent the month's budget; the last three days are clean.
    await _seed(
        session,
        [(timedelta(days=10, minutes=m), 1000, 500, 0) for m in range(50)]
        + [(timedelta(minutes=m), 1000, 0, 0) for m in range(30)],
    )
    body = (await raw_client.get("/error-budget")).json()
    availability = body["slos"]["availability"]
    assert availability["events"] == 80 and availability["bad_events"] == 50
    assert availability["status"] == "exhausted"
    assert availability["burn_rates"]["3d"] == 0.0
    assert body["slos"]["error_rate"]["status"] == "exhausted"
    assert body["status"] == "exhausted"


async def test_latency_slo_counts_slow_requests(raw_client: Any, session: AsyncSession) -> None:
    # 10% of requests slower than 500 ms: twice the 5% that P95 allows.
    await _seed(session, [(timedelta(minutes=m), 100, 0, 10) for m in range(10)])
    latency = (await raw_client.get("/error-budget")).json()["slos"]["latency"]
    assert latency["events"] == 1000 and latency["bad_events"] == 100
    assert latency["burn_rates"]["5m"] == pytest.approx(2.0)
    assert latency["error_budget_remaining"] == pytest.approx(-1.0)


async def test_buckets_outside_the_period_do_not_count(
    raw_client: Any, session: AsyncSession
) -> None:
    await _seed(session, [(timedelta(days=31), 1000, 1000, 1000), (timedelta(minutes=1), 10, 0, 0)])
    body = (await raw_client.get("/error-budget")).json()
    assert body["slos"]["error_rate"]["events"] == 10
    assert body["status"] == "healthy"


async def test_counts_not_yet_flushed_are_included(
    raw_client: Any, app: Any, session: AsyncSession, session_factory: Any
) -> None:
    for _ in range(4):
        assert (await raw_client.get("/api/v1/me")).status_code == 401
    body = (await raw_client.get("/error-budget")).json()
    assert body["slos"]["error_rate"]["events"] == 4
    # Flushing moves them to the table; the total does not change (plus /error-budget itself).
    await app.state.sli_recorder.flush(session_factory)
    assert app.state.sli_recorder.pending == {}
    stored = await session.scalar(select(func.sum(SLIMinute.total)))
    assert stored == 5
    body = (await raw_client.get("/error-budget")).json()
    assert body["slos"]["error_rate"]["events"] == 5
    assert body["slos"]["availability"]["events"] == 1


async def test_server_errors_are_bad_events(app: Any, raw_client: Any) -> None:
    async def boom() -> None:
        raise RuntimeError("broken")

    app.add_api_route("/boom", boom)
    for _ in range(3):
        assert (await raw_client.get("/boom")).status_code == 500
    assert (await raw_client.get("/api/v1/me")).status_code == 401
    body = (await raw_client.get("/error-budget")).json()
    assert body["slos"]["error_rate"]["events"] == 4
    assert body["slos"]["error_rate"]["bad_events"] == 3
    assert body["slos"]["availability"]["bad_events"] == 1


async def test_prune_removes_buckets_past_the_period(
    session: AsyncSession, session_factory: Any
) -> None:
    await _seed(session, [(timedelta(days=45), 1, 0, 0), (timedelta(days=1), 1, 0, 0)])
    assert await prune_old(session_factory, 30) == 1
    assert await session.scalar(select(func.count()).select_from(SLIMinute)) == 1
