"""The statutory limits of tenancies, each tested on the day or amount before, of and after it.

Pure tests of `estatecrm.tenancies.rules` (marked `mutation`: `make mutation` mutates the rules
against exactly these tests). Module-level constants are pinned twice: their value, and the
behaviour on each side of them, so a changed constant fails here even though mutmut does not
mutate module-level code.
"""

from __future__ import annotations

from datetime import date

import pytest

from estatecrm.tenancies import rules
from estatecrm.tenancies.models import RentFrequency, RightToRentResult

pytestmark = pytest.mark.mutation

WEEKLY, MONTHLY = RentFrequency.weekly, RentFrequency.monthly
QUARTERLY, ANNUALLY = RentFrequency.quarterly, RentFrequency.annually
PASSED, FAILED = RightToRentResult.passed, RightToRentResult.failed
TIME_LIMITED = RightToRentResult.time_limited


# --- Rent over a year: the basis of the deposit cap (Tenant Fees Act 2019, Sch. 1 para 2) ---


def test_periods_per_year_constant() -> None:
    """A year is 52 weeks, 12 months, 4 quarters or 1 year of rent."""
    assert rules.PERIODS_PER_YEAR == {WEEKLY: 52, MONTHLY: 12, QUARTERLY: 4, ANNUALLY: 1}


@pytest.mark.parametrize(
    ("rent", "frequency", "annual"),
    [
        (100_00, WEEKLY, 5_200_00),
        (1_000_00, MONTHLY, 12_000_00),
        (3_000_00, QUARTERLY, 12_000_00),
        (12_000_00, ANNUALLY, 12_000_00),
        (1, WEEKLY, 52),
        (1, QUARTERLY, 4),
        (1, ANNUALLY, 1),
    ],
)
def test_annual_rent_of_each_frequency(rent: int, frequency: RentFrequency, annual: int) -> None:
    """Weekly rent x 52, monthly x 12, quarterly x 4, yearly x 1 (Tenant Fees Act 2019 guidance)."""
    assert rules.annual_rent(rent, frequency) == annual


@pytest.mark.parametrize(
    ("rent", "frequency", "cap"),
    [
        (100_00, WEEKLY, 500_00),  # five weeks of £100 a week
        (1_200_00, MONTHLY, 1_384_61),  # £14,400 a year: £276.92.3 a week, five weeks, pence down
        (3_000_00, QUARTERLY, 1_153_84),  # £12,000 a year
        (12_000_00, ANNUALLY, 1_153_84),
    ],
)
def test_deposit_cap_of_each_rent_frequency(rent: int, frequency: RentFrequency, cap: int) -> None:
    """The cap is annual rent / 52 x 5 weeks, rounded down to the penny, whatever the frequency."""
    assert rules.deposit_cap(rent, frequency) == (cap, 5)


# --- Deposit cap: five weeks, six from £50,000 a year (Tenant Fees Act 2019, Sch. 1 para 2) ---


def test_deposit_cap_constants() -> None:
    """Tenant Fees Act 2019 Sch. 1 para 2: 5 weeks' rent, 6 weeks' from £50,000 a year."""
    assert rules.DEPOSIT_WEEKS == 5
    assert rules.DEPOSIT_WEEKS_HIGH_RENT == 6
    assert rules.HIGH_RENT_ANNUAL_PENCE == 50_000_00


@pytest.mark.parametrize(
    ("annual", "weeks"),
    [(49_999_99, 5), (50_000_00, 6), (50_000_01, 6)],
    ids=["a-penny-under-50000-five-weeks", "exactly-50000-six-weeks", "a-penny-over-six-weeks"],
)
def test_deposit_cap_weeks_at_the_50000_threshold(annual: int, weeks: int) -> None:
    """Tenant Fees Act 2019 Sch. 1 para 2(1): "less than £50,000" is five weeks; £50,000 is six."""
    cap, cap_weeks = rules.deposit_cap(annual, ANNUALLY)
    assert cap_weeks == weeks
    assert cap == annual * weeks // 52


@pytest.mark.parametrize(
    ("weekly", "weeks"),
    [(961_53, 5), (961_54, 6)],  # 52 x £961.53 = £49,999.56; 52 x £961.54 = £50,000.08
)
def test_weekly_rent_reaches_the_threshold_through_52_weeks(weekly: int, weeks: int) -> None:
    """A weekly rent's annual figure is 52 weeks (not 53, not 365/7) when judging £50,000."""
    assert rules.deposit_cap(weekly, WEEKLY) == (weekly * weeks, weeks)


@pytest.mark.parametrize(("monthly", "weeks"), [(4_166_66, 5), (4_166_67, 6)])
def test_monthly_rent_reaches_the_threshold_through_12_months(monthly: int, weeks: int) -> None:
    """£4,166.66 pcm is £49,999.92 a year (five weeks); £4,166.67 pcm is £50,000.04 (six)."""
    assert rules.deposit_cap(monthly, MONTHLY)[1] == weeks


@pytest.mark.parametrize(("quarterly", "weeks"), [(12_499_99, 5), (12_500_00, 6)])
def test_quarterly_rent_reaches_the_threshold_through_4_quarters(
    quarterly: int, weeks: int
) -> None:
    """£12,500 a quarter is exactly £50,000 a year: six weeks."""
    assert rules.deposit_cap(quarterly, QUARTERLY)[1] == weeks


def test_deposit_cap_rounds_down_to_the_penny() -> None:
    """A cap is never rounded up: 5 x £1,000 x 12 / 52 = £1,153.846 is £1,153.84."""
    assert rules.deposit_cap(1_000_00, MONTHLY) == (1_153_84, 5)
    assert rules.deposit_cap(1_000_00, MONTHLY) != (1_153_85, 5)


# --- Deposit protection: 30 days beginning with the day of receipt (Housing Act 2004 s.213) ---


def test_protection_days_constant() -> None:
    """Housing Act 2004 s.213(3): 30 days."""
    assert rules.PROTECTION_DAYS == 30


def test_protection_deadline_is_the_30th_day_counting_the_day_of_receipt() -> None:
    """Housing Act 2004 s.213(3): "within the period of 30 days beginning with the date on which it
    is received" - received 1 March, the 30th day is 30 March."""
    assert rules.protection_deadline(date(2026, 3, 1)) == date(2026, 3, 30)
    assert rules.protection_deadline(date(2026, 2, 15)) == date(2026, 3, 16)
    assert rules.protection_deadline(date(2024, 2, 15)) == date(2024, 3, 15)  # leap year
    assert rules.protection_deadline(None) is None


@pytest.mark.parametrize(
    ("on_date", "overdue"),
    [(date(2026, 3, 29), False), (date(2026, 3, 30), False), (date(2026, 3, 31), True)],
    ids=["day-before-deadline", "deadline-day", "day-after-deadline"],
)
def test_deposit_overdue_only_after_the_deadline_day(on_date: date, overdue: bool) -> None:
    """Housing Act 2004 s.213(3): protection on the 30th day is in time; the 31st is late."""
    received = date(2026, 3, 1)
    assert rules.deposit_overdue(received, None, on_date) is overdue
    # The bound the database query uses gives the same answer for the same deposit.
    assert (received < rules.overdue_if_received_before(on_date)) is overdue


def test_overdue_bound_is_29_days_back() -> None:
    """A deposit received 29 days before `on_date` is on its last day; 30 days before is late."""
    assert rules.overdue_if_received_before(date(2026, 3, 31)) == date(2026, 3, 2)


def test_a_protected_or_absent_deposit_is_never_overdue() -> None:
    """Housing Act 2004 s.213: the duty is met once the deposit is protected, whenever that was."""
    late = date(2026, 12, 31)
    assert rules.deposit_overdue(date(2026, 3, 1), date(2026, 4, 20), late) is False
    assert rules.deposit_overdue(None, None, late) is False
    assert rules.deposit_overdue(date(2026, 3, 1), None, late) is True


# --- A year later, and 29 February ---


def test_add_years_keeps_the_day() -> None:
    """The same calendar day a year later; a leap day becomes 28 February."""
    assert rules.add_years(date(2025, 3, 14), 1) == date(2026, 3, 14)
    assert rules.add_years(date(2025, 3, 14), 2) == date(2027, 3, 14)
    assert rules.add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert rules.add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
    assert rules.add_years(date(2024, 2, 28), 1) == date(2025, 2, 28)
    assert rules.add_years(date(2024, 3, 1), 1) == date(2025, 3, 1)


@pytest.mark.parametrize(
    ("last_rise", "allowed"),
    [
        (date(2024, 2, 28), date(2025, 2, 28)),
        (date(2024, 2, 29), date(2025, 2, 28)),
        (date(2024, 3, 1), date(2025, 3, 1)),
        (date(2023, 2, 28), date(2024, 2, 28)),  # into a leap year: not the 29th
        (date(2023, 3, 1), date(2024, 3, 1)),
    ],
)
def test_rent_rise_a_year_after_the_last_around_29_february(last_rise: date, allowed: date) -> None:
    """Housing Act 1988 s.13(2): a periodic tenancy's rent may rise once a year; a rise on
    29 February allows the next from 28 February of a common year."""
    start = date(2020, 6, 1)
    assert rules.next_rent_increase(last_rise, start) == allowed


def test_first_rent_rise_a_year_after_the_start() -> None:
    """Housing Act 1988 s.13(2)(b): with no rise yet, the first takes effect from the first
    anniversary of the tenancy (a 29 February start gives 28 February)."""
    assert rules.next_rent_increase(None, date(2026, 6, 1)) == date(2027, 6, 1)
    assert rules.next_rent_increase(None, date(2024, 2, 29)) == date(2025, 2, 28)
    assert rules.next_rent_increase(date(2026, 9, 1), date(2024, 2, 29)) == date(2027, 9, 1)


# --- Right to rent (Immigration Act 2014 s.22; Home Office code of practice) ---


@pytest.mark.parametrize(
    ("on_date", "valid"),
    [(date(2026, 8, 30), True), (date(2026, 8, 31), True), (date(2026, 9, 1), False)],
    ids=["day-before-expiry", "expiry-day", "day-after-expiry"],
)
def test_time_limited_right_to_rent_valid_through_its_expiry_day(
    on_date: date, valid: bool
) -> None:
    """Immigration Act 2014 s.22: a time-limited permission counts up to and including the day
    it expires."""
    assert rules.check_valid_on(TIME_LIMITED, date(2026, 8, 31), on_date) is valid


def test_right_to_rent_passed_failed_and_unknown_expiry() -> None:
    """An unlimited right never lapses; a failed check never shows one; a time-limited check
    without an expiry date shows nothing."""
    day = date(2026, 8, 31)
    assert rules.check_valid_on(PASSED, None, day) is True
    assert rules.check_valid_on(PASSED, date(2020, 1, 1), day) is True
    assert rules.check_valid_on(FAILED, None, day) is False
    assert rules.check_valid_on(FAILED, date(2030, 1, 1), day) is False
    assert rules.check_valid_on(TIME_LIMITED, None, day) is False


@pytest.mark.parametrize(
    ("check", "expiry", "follow_up"),
    [
        (date(2026, 5, 25), date(2027, 8, 31), date(2027, 8, 31)),  # expiry later than a year
        (date(2026, 5, 25), date(2026, 7, 1), date(2027, 5, 25)),  # 12 months later
        (date(2026, 5, 25), date(2027, 5, 24), date(2027, 5, 25)),  # a day before the year
        (date(2026, 5, 25), date(2027, 5, 25), date(2027, 5, 25)),  # the same day
        (date(2026, 5, 25), date(2027, 5, 26), date(2027, 5, 26)),  # a day after
        (date(2024, 2, 29), date(2024, 6, 1), date(2025, 2, 28)),  # leap-day check
    ],
)
def test_follow_up_check_is_the_later_of_expiry_and_twelve_months(
    check: date, expiry: date, follow_up: date
) -> None:
    """Home Office right to rent code of practice: a follow-up check by the later of the
    permission's expiry and 12 months after the initial check."""
    assert rules.follow_up_date(TIME_LIMITED, check, expiry) == follow_up


def test_no_follow_up_unless_time_limited_with_an_expiry() -> None:
    """Only a time-limited right with a known expiry needs a follow-up check."""
    check, expiry = date(2026, 5, 25), date(2027, 8, 31)
    assert rules.follow_up_date(PASSED, check, expiry) is None
    assert rules.follow_up_date(FAILED, check, expiry) is None
    assert rules.follow_up_date(TIME_LIMITED, check, None) is None
