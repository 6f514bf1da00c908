"""Date and money rules of tenancies (pure functions: every date is passed in)."""

from __future__ import annotations

from datetime import date, timedelta

from estatecrm.tenancies.models import RentFrequency, RightToRentResult

# Tenant Fees Act 2019: five weeks' rent, or six when the annual rent is £50,000 or more.
DEPOSIT_WEEKS = 5
DEPOSIT_WEEKS_HIGH_RENT = 6
HIGH_RENT_ANNUAL_PENCE = 50_000_00
# Housing Act 2004 s.213(3) and (6): protect the deposit and serve the prescribed information
# "within the period of 30 days beginning with the date on which it is received" - the day of
# receipt is the first of the 30, so the last day is received + 29 days.
PROTECTION_DAYS = 30
PERIODS_PER_YEAR = {
    RentFrequency.weekly: 52,
    RentFrequency.monthly: 12,
    RentFrequency.quarterly: 4,
    RentFrequency.annually: 1,
}


def annual_rent(rent_pence: int, frequency: RentFrequency) -> int:
    """The rent over a year, in pence."""
    return rent_pence * PERIODS_PER_YEAR[frequency]


def deposit_cap(rent_pence: int, frequency: RentFrequency) -> tuple[int, int]:
    """The most a deposit may be (pence, rounded down) and how many weeks' rent that is."""
    annual = annual_rent(rent_pence, frequency)
    weeks = DEPOSIT_WEEKS_HIGH_RENT if annual >= HIGH_RENT_ANNUAL_PENCE else DEPOSIT_WEEKS
    return annual * weeks // 52, weeks


def protection_deadline(received: date | None) -> date | None:
    """The last day to protect a deposit received on `received` (the 30th day, counting it)."""
    return received + timedelta(days=PROTECTION_DAYS - 1) if received else None


def overdue_if_received_before(on_date: date) -> date:
    """A deposit received before this day and still unprotected is past its deadline on `on_date`.

    The same rule as `deposit_overdue`, as a bound a database query can use.
    """
    return on_date - timedelta(days=PROTECTION_DAYS - 1)


def deposit_overdue(received: date | None, protected: date | None, on_date: date) -> bool:
    """A deposit received, not protected, and past its deadline on `on_date`."""
    deadline = protection_deadline(received)
    return deadline is not None and protected is None and on_date > deadline


def add_years(day: date, years: int) -> date:
    """The same day `years` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def next_rent_increase(last_increase: date | None, start: date) -> date:
    """The first day a periodic tenancy's rent may rise again: a year after the last rise.

    With no rise yet, the first may take effect a year after the tenancy started.
    """
    return add_years(last_increase or start, 1)


def follow_up_date(
    result: RightToRentResult, check_date: date, expiry_date: date | None
) -> date | None:
    """When a time-limited right to rent must be checked again.

    Home Office guidance: the later of the permission's expiry and 12 months after the check.
    """
    if result != RightToRentResult.time_limited or expiry_date is None:
        return None
    return max(expiry_date, add_years(check_date, 1))


def check_valid_on(result: RightToRentResult, expiry_date: date | None, on_date: date) -> bool:
    """Whether a check shows the right to rent on `on_date`."""
    if result == RightToRentResult.passed:
        return True
    if result == RightToRentResult.time_limited:
        return expiry_date is not None and expiry_date >= on_date
    return False
