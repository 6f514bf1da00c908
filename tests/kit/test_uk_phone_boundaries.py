"""UK phone numbers: normalised to E.164, shown as people read them, searchable (kit/uk_phone.py).

Ofcom reserves 07700 900000-900999 and 020 7946 0000-0999 for drama; the mobiles used here are
valid in format only.
"""

from __future__ import annotations

import pytest

from estatecrm.kit import uk_phone
from estatecrm.kit.uk_phone import InvalidPhone, format_phone, normalise_phone, search_forms

pytestmark = pytest.mark.mutation


def test_phone_constants() -> None:
    """Numbers without a country code are British; input longer than 40 characters is refused."""
    assert uk_phone.DEFAULT_REGION == "GB"
    assert uk_phone.MAX_INPUT_LENGTH == 40


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("07911 123456", "+447911123456"),
        ("020 7946 0123", "+442079460123"),
        ("+44 (0)20 7946 0123", "+442079460123"),
        ("0044 7911 123456", "+447911123456"),
        ("  07911-123-456  ", "+447911123456"),
        ("+33 1 23 45 67 89", "+33123456789"),
    ],
)
def test_normalise_phone(typed: str, e164: str) -> None:
    """UK numbers as written, and foreign ones with their country code, become E.164."""
    assert normalise_phone(typed) == e164


@pytest.mark.parametrize(
    ("length", "accepted"), [(39, True), (40, True), (41, False)], ids=["39", "40", "41"]
)
def test_input_length_limit_is_40_characters(length: int, accepted: bool) -> None:
    """Up to 40 characters of input (after trimming) are parsed; 41 are refused unparsed."""
    typed = "07911" + " " * (length - 11) + "123456"
    assert len(typed) == length
    padded = f"   {typed}   "  # surrounding blanks do not count
    if accepted:
        assert normalise_phone(typed) == normalise_phone(padded) == "+447911123456"
    else:
        for text in (typed, padded):
            with pytest.raises(InvalidPhone, match=r"^phone number is too long$"):
                normalise_phone(text)


@pytest.mark.parametrize("typed", ["", "   ", "\t\n"])
def test_empty_phone_is_refused(typed: str) -> None:
    """No number is not a number."""
    with pytest.raises(InvalidPhone, match=r"^empty phone number$"):
        normalise_phone(typed)


def test_none_is_an_empty_phone() -> None:
    """A missing value reads as empty, not as a crash."""
    with pytest.raises(InvalidPhone, match=r"^empty phone number$"):
        normalise_phone(None)  # type: ignore[arg-type]


def test_unparseable_and_invalid_numbers_are_refused_by_name() -> None:
    """Text that is no number, and a number no network uses, are refused quoting the input."""
    with pytest.raises(InvalidPhone) as caught:
        normalise_phone("hello")
    assert str(caught.value) == "'hello' is not a phone number"
    with pytest.raises(InvalidPhone) as caught:
        normalise_phone("0123")
    assert str(caught.value) == "'0123' is not a valid phone number"
    assert caught.value.__cause__ is None


def test_extensions_are_refused_not_dropped() -> None:
    """E.164 has no extensions: storing the number without it would be a wrong number."""
    with pytest.raises(InvalidPhone, match=r"^extensions cannot be stored; put them in the notes$"):
        normalise_phone("07911 123456 ext. 123")


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        ("+447911123456", "07911 123456"),
        ("+442079460123", "020 7946 0123"),
        ("07911123456", "07911 123456"),  # no country code: British
        ("+33123456789", "+33 1 23 45 67 89"),
        ("+12025550143", "+1 202-555-0143"),
    ],
)
def test_format_phone_national_for_uk_international_abroad(e164: str, shown: str) -> None:
    """UK numbers in the national form people dial; others with their country code."""
    assert format_phone(e164) == shown


def test_format_phone_empty_and_unparseable() -> None:
    """No number shows nothing; a stored value that does not parse is shown as stored."""
    assert format_phone("") == ""
    assert format_phone(None) == ""
    assert format_phone("garbage") == "garbage"


def test_search_forms_of_a_uk_number() -> None:
    """A UK number is found by its E.164, its digits with the country code, and its 0 form."""
    assert search_forms("+447911123456") == ["+447911123456", "447911123456", "07911123456"]


def test_search_forms_of_a_foreign_number_and_none() -> None:
    """A foreign number has no 0 form; no number has no forms."""
    assert search_forms("+33123456789") == ["+33123456789", "33123456789"]
    assert search_forms("+4411") == ["+4411", "4411", "011"]
    assert search_forms("+4") == ["+4", "4"]
    assert search_forms("") == []
    assert search_forms(None) == []
