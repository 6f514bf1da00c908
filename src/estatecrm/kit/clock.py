"""Time helpers: UTC in the database, Europe/London on screen."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def today_london() -> date:
    """Today's date as an agent in the UK sees it."""
    return datetime.now(LONDON).date()


def to_london(value: datetime) -> datetime:
    """A UTC datetime shown in UK local time (BST or GMT)."""
    return value.astimezone(LONDON)
