"""Time helpers: UTC in the database, Europe/London on screen."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
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


class NonexistentLocalTime(ValueError):
    """A wall-clock time the UK skips when the clocks go forward."""


def london_to_utc(day: date, at: time) -> datetime:
    """A UK wall-clock time as UTC; an ambiguous autumn time means its first (BST) occurrence."""
    local = datetime.combine(day, at, tzinfo=LONDON)
    utc = local.astimezone(UTC)
    if utc.astimezone(LONDON).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise NonexistentLocalTime(
            f"{at:%H:%M} does not exist on {day:%d %b %Y} in the UK: the clocks go forward"
        )
    return utc


def london_midnight(day: date) -> datetime:
    """The start of a UK calendar day, in UTC (days are 23 or 25 hours at the clock changes)."""
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)
