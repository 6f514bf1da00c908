"""Money is integer pence: parsing what people type and formatting it back (kit/money.py)."""

from __future__ import annotations

import pytest

from estatecrm.kit.money import format_pence, pounds_to_pence

pytestmark = pytest.mark.mutation


@pytest.mark.parametrize(
    ("pence", "text"),
    [
        (0, "£0"),
        (1, "£0.01"),
        (5, "£0.05"),
        (10, "£0.10"),
        (99, "£0.99"),
        (100, "£1"),
        (101, "£1.01"),
        (150, "£1.50"),
        (99_999, "£999.99"),
        (100_000, "£1,000"),
        (123_456_789, "£1,234,567.89"),
        (-1, "-£0.01"),
        (-150, "-£1.50"),
        (-100_000, "-£1,000"),
    ],
)
def test_format_pence(pence: int, text: str) -> None:
    """Pounds with thousands separators; pence only when there are any, always two digits; a
    minus sign before the pound sign, and never on zero."""
    assert format_pence(pence) == text


def test_format_pence_per_month_and_none() -> None:
    """Rents read `pcm`; no amount is an empty string."""
    assert format_pence(120_000, per_month=True) == "£1,200 pcm"
    assert format_pence(120_050, per_month=True) == "£1,200.50 pcm"
    assert format_pence(120_000, per_month=False) == "£1,200"
    assert format_pence(None) == ""
    assert format_pence(None, per_month=True) == ""


@pytest.mark.parametrize(
    ("typed", "pence"),
    [
        ("0", 0),
        ("1", 100),
        ("1250", 125_000),
        ("£1,250", 125_000),
        ("  £1,250  ", 125_000),
        ("1 250", 125_000),
        ("£ 1 250.50", 125_050),
        ("1250.50", 125_050),
        ("1250.5", 125_050),
        ("1250.05", 125_005),
        ("1250.", 125_000),
        ("0.01", 1),
        ("0.1", 10),
        ("0.99", 99),
        ("1,000,000.01", 100_000_001),
    ],
)
def test_pounds_to_pence(typed: str, pence: int) -> None:
    """Pounds and pence as people type them: `£`, commas and spaces ignored; one decimal place
    is tens of pence (`.5` is 50p, not 5p); pence are added to the pounds."""
    assert pounds_to_pence(typed) == pence


@pytest.mark.parametrize("typed", ["", "   ", "£", ",", "£ , "])
def test_pounds_to_pence_refuses_nothing(typed: str) -> None:
    """An empty amount is not zero."""
    with pytest.raises(ValueError, match=r"^empty amount$"):
        pounds_to_pence(typed)


@pytest.mark.parametrize(
    "typed",
    [
        "-5",  # a negative amount is not money typed into a price
        "+5",
        "1.2.3",
        "1..2",
        "1.234",  # a third decimal place would be lost
        "1.2a",
        "1.-2",
        ".50",  # no pounds
        "abc",
        "5p",
        "1e3",
        "£-1",
    ],
)
def test_pounds_to_pence_refuses_what_is_not_money(typed: str) -> None:
    """Only digits, at most one decimal point and two decimal places."""
    with pytest.raises(ValueError, match=r"^not an amount$"):
        pounds_to_pence(typed)
