"""Time in the UK, e-mail addresses and list paging (kit/clock.py, kit/email.py,
kit/pagination.py): pure tests that `make mutation` runs against those modules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from estatecrm.kit import clock
from estatecrm.kit.email import normalise_email
from estatecrm.kit.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    PageParams,
    offset_from,
    page_params,
)

pytestmark = pytest.mark.mutation

BST = timezone(timedelta(hours=1))


class _LateEvening(datetime):
    """23:30 UTC on 1 June 2026: already 2 June in London (BST)."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        instant = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)
        return instant.astimezone(tz) if tz is not None else instant.replace(tzinfo=None)


def test_utcnow_is_aware_utc() -> None:
    """Times are stored in UTC, never naive."""
    before = datetime.now(UTC)
    now = clock.utcnow()
    assert now.tzinfo is UTC and before <= now <= datetime.now(UTC)


def test_today_is_the_london_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """Late on a summer evening in UTC it is already tomorrow in the UK."""
    monkeypatch.setattr(clock, "datetime", _LateEvening)
    assert clock.today_london() == date(2026, 6, 2)


def test_london_zone_constant() -> None:
    """Europe/London: GMT in winter, BST in summer."""
    assert str(clock.LONDON) == "Europe/London"


def test_to_london_in_winter_and_summer() -> None:
    """GMT is UTC; BST is UTC + 1."""
    winter = clock.to_london(datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    summer = clock.to_london(datetime(2026, 7, 15, 12, 0, tzinfo=UTC))
    assert (winter.hour, winter.utcoffset()) == (12, timedelta(0))
    assert (summer.hour, summer.utcoffset()) == (13, timedelta(hours=1))
    assert summer.tzinfo is clock.LONDON


@pytest.mark.parametrize(
    ("day", "at", "utc"),
    [
        (date(2026, 1, 15), time(9, 0), datetime(2026, 1, 15, 9, 0, tzinfo=UTC)),
        (date(2026, 7, 15), time(9, 0), datetime(2026, 7, 15, 8, 0, tzinfo=UTC)),
        (date(2026, 3, 29), time(0, 59), datetime(2026, 3, 29, 0, 59, tzinfo=UTC)),
        (date(2026, 3, 29), time(2, 0), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        # 01:30 happens twice on 25 October: the first time, in BST.
        (date(2026, 10, 25), time(1, 30), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ],
)
def test_london_to_utc(day: date, at: time, utc: datetime) -> None:
    """A UK wall-clock time as UTC, at and around the clock changes."""
    result = clock.london_to_utc(day, at)
    assert result == utc and result.tzinfo is UTC


@pytest.mark.parametrize("at", [time(1, 0), time(1, 30), time(1, 59)])
def test_the_skipped_spring_hour_does_not_exist(at: time) -> None:
    """On 29 March 2026 the UK clocks go from 01:00 to 02:00."""
    with pytest.raises(clock.NonexistentLocalTime) as caught:
        clock.london_to_utc(date(2026, 3, 29), at)
    assert str(caught.value) == (
        f"{at:%H:%M} does not exist on 29 Mar 2026 in the UK: the clocks go forward"
    )


@pytest.mark.parametrize(
    ("day", "utc"),
    [
        (date(2026, 1, 15), datetime(2026, 1, 15, 0, 0, tzinfo=UTC)),
        (date(2026, 6, 1), datetime(2026, 5, 31, 23, 0, tzinfo=UTC)),
        (date(2026, 3, 29), datetime(2026, 3, 29, 0, 0, tzinfo=UTC)),
        (date(2026, 10, 25), datetime(2026, 10, 24, 23, 0, tzinfo=UTC)),
    ],
)
def test_london_midnight(day: date, utc: datetime) -> None:
    """The start of a UK day in UTC (23:00 the day before in summer)."""
    result = clock.london_midnight(day)
    assert result == utc and result.tzinfo is UTC


# --- E-mail ---


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Sam.Smith@Example.COM", "sam.smith@example.com"),
        ("demo@agency.test", "demo@agency.test"),  # reserved test domains are allowed
        ("x@localhost.test", "x@localhost.test"),
    ],
)
def test_normalise_email(typed: str, stored: str) -> None:
    """A syntactically valid address, lower-cased, with no DNS look-up."""
    assert normalise_email(typed) == stored


@pytest.mark.parametrize("typed", ["", "no-at-sign", "a@b", "two@@example.com", "a b@example.com"])
def test_invalid_email_is_refused_with_the_reason(typed: str) -> None:
    """The message starts the same way for the form, then gives the validator's reason."""
    with pytest.raises(ValueError, match=r"^Enter a valid email address \(.+\)$") as caught:
        normalise_email(typed)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


# --- Paging ---


def test_paging_constants_and_defaults() -> None:
    """20 a page unless asked; never more than 100."""
    assert (DEFAULT_LIMIT, MAX_LIMIT) == (20, 100)
    assert page_params() == PageParams(limit=20, offset=0)
    assert page_params(limit=5, offset=40) == PageParams(limit=5, offset=40)
    assert PageParams() == PageParams(limit=20, offset=0)
    page = Page[int](items=[1, 2], total=7, limit=2, offset=4)
    assert page.model_dump() == {"items": [1, 2], "total": 7, "limit": 2, "offset": 4}


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 200),
        ("?limit=0", 422),
        ("?limit=1", 200),
        ("?limit=100", 200),
        ("?limit=101", 422),
        ("?offset=-1", 422),
        ("?offset=0", 200),
        ("?offset=10000000", 200),
        ("?offset=10000001", 422),
    ],
)
async def test_page_query_bounds(query: str, status: int) -> None:
    """`limit` 1 to 100, `offset` 0 to 10,000,000, as an endpoint's query parameters."""
    app = FastAPI()

    @app.get("/items")
    async def items(paging: Annotated[PageParams, Depends(page_params)]) -> PageParams:
        return paging

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(f"/items{query}")
    assert response.status_code == status
    if query == "":
        assert response.json() == {"limit": 20, "offset": 0}


def test_a_page_carries_its_items_total_and_paging() -> None:
    """`paging.page(items, total)`: the items in order, the total and the asked limit/offset."""
    paging = PageParams(limit=7, offset=14)
    page = paging.page(("c", "a", "b"), 52)
    assert page == Page[str](items=["c", "a", "b"], total=52, limit=7, offset=14)
    assert isinstance(page.items, list)
    assert PageParams().page([], 0) == Page[str](items=[], total=0, limit=DEFAULT_LIMIT, offset=0)


@pytest.mark.parametrize(
    ("params", "offset"),
    [
        ({}, 0),
        ({"offset": ""}, 0),
        ({"offset": "0"}, 0),
        ({"offset": "1"}, 1),
        ({"offset": "40"}, 40),
        ({"offset": "-1"}, 0),
        ({"offset": "-40"}, 0),
        ({"offset": "abc"}, 0),
        ({"offset": "2.5"}, 0),
        ({"page": "3"}, 0),
    ],
)
def test_a_web_pages_offset(params: dict[str, str], offset: int) -> None:
    """A list page's `offset`: the number asked for, never below 0, and 0 when not a number."""
    assert offset_from(params) == offset
