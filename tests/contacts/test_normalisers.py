"""Property-based tests of the UK phone and postcode normalisers (hypothesis)."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from estatecrm.applicants.schemas import normalise_area
from estatecrm.kit.uk_phone import InvalidPhone, format_phone, normalise_phone, search_forms
from estatecrm.kit.uk_postcode import (
    InvalidPostcode,
    is_district,
    normalise_postcode,
    outward_code,
)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
POSTCODE = re.compile(r"^[A-Z0-9]{2,4} [0-9][A-Z]{2}$|^GIR 0AA$")

# Valid UK numbers: Ofcom's drama landline ranges and real-format mobiles, built from digits.
LANDLINE_PREFIXES = [
    "113496",
    "114496",
    "116496",
    "117496",
    "118496",
    "121496",
    "131496",
    "141496",
    "151496",
    "161496",
    "191498",
    "207946",
]


@st.composite
def uk_numbers(draw: st.DrawFn) -> str:
    """A valid UK number as national significant digits (no leading 0)."""
    if draw(st.booleans()):
        return draw(st.sampled_from(LANDLINE_PREFIXES)) + draw(st.from_regex(r"\A0[0-9]{3}\Z"))
    number = (
        "7"
        + draw(st.sampled_from(["4", "5", "7", "8", "9"]))
        + draw(st.from_regex(r"\A[0-9]{8}\Z"))
    )
    assume(phonenumbers.is_valid_number(phonenumbers.parse("0" + number, "GB")))
    return number


@st.composite
def written(draw: st.DrawFn, digits: str) -> str:
    """The same number as people write it: 0..., +44 ..., 0044, (0), spaces, dashes, dots."""
    style = draw(st.sampled_from(["national", "plus", "double_zero", "plus_zero"]))
    prefix = {"national": "0", "plus": "+44", "double_zero": "0044", "plus_zero": "+44 (0)"}[style]
    separator = draw(st.sampled_from(["", " ", "-", ".", "  "]))
    cut = draw(st.integers(1, len(digits) - 1))
    body = digits[:cut] + separator + digits[cut:]
    padding = draw(st.sampled_from(["", " ", "\t"]))
    return f"{padding}{prefix}{separator if style != 'plus_zero' else ' '}{body}{padding}"


@given(data=st.data())
def test_every_way_of_writing_a_uk_number_gives_the_same_e164(data: st.DataObject) -> None:
    digits = data.draw(uk_numbers())
    text = data.draw(written(digits))
    e164 = normalise_phone(text)
    assert e164 == "+44" + digits
    assert E164.match(e164)
    # Idempotent, readable, and searchable by the national form.
    assert normalise_phone(e164) == e164
    assert normalise_phone(format_phone(e164)) == e164
    assert "0" + digits in search_forms(e164)


@given(st.text(max_size=40))
def test_any_text_is_either_rejected_or_a_valid_e164(text: str) -> None:
    try:
        e164 = normalise_phone(text)
    except InvalidPhone:
        return
    assert E164.match(e164)
    assert phonenumbers.is_valid_number(phonenumbers.parse(e164))


@given(st.from_regex(r"\A[0-9]{1,6}\Z"))
def test_short_digit_strings_are_not_phone_numbers(digits: str) -> None:
    with pytest.raises(InvalidPhone):
        normalise_phone(digits)


# Outward codes: the area letters, a district digit (and maybe a second character); inward
# codes: a sector digit and two unit letters (never C, I, K, M, O, V).
OUTWARD = (
    r"(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?"
    r"|[A-PR-UWYZ][0-9][A-HJKMNPR-Y]|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRV-Y])"
)
INWARD = r"[0-9][ABD-HJLNP-UW-Z]{2}"


@given(
    outward=st.from_regex(rf"\A{OUTWARD}\Z"),
    inward=st.from_regex(rf"\A{INWARD}\Z"),
    spaces=st.sampled_from(["", " ", "  ", "\t"]),
    lower=st.booleans(),
)
def test_postcodes_normalise_whatever_the_spacing_and_case(
    outward: str, inward: str, spaces: str, lower: bool
) -> None:
    typed = f" {outward}{spaces}{inward} "
    if lower:
        typed = typed.lower()
    postcode = normalise_postcode(typed)
    assert postcode == f"{outward} {inward}"
    assert POSTCODE.match(postcode)
    assert normalise_postcode(postcode) == postcode
    assert outward_code(postcode) == outward and is_district(outward)
    # An applicant's area given as a full postcode or a district is the district.
    assert normalise_area(typed) == outward
    assert normalise_area(outward.lower()) == outward


@given(st.text(max_size=12))
def test_any_text_is_either_rejected_or_a_well_formed_postcode(text: str) -> None:
    try:
        postcode = normalise_postcode(text)
    except InvalidPostcode:
        return
    assert POSTCODE.match(postcode)
    assert normalise_postcode(postcode) == postcode


@given(st.from_regex(rf"\A{OUTWARD}[CIKMOV]{{2}}\Z"))
def test_inward_codes_never_use_the_forbidden_letters(text: str) -> None:
    with pytest.raises(InvalidPostcode):
        normalise_postcode(text[:-2] + "0" + text[-2:])


def test_digits_from_other_scripts_are_stored_as_ascii() -> None:
    # Found by hypothesis: "\d" digits such as Arabic-Indic ones are read as their values.
    assert normalise_phone("\u0660\u0661\u0661\u0667 496 0123") == "+441174960123"
